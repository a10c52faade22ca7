//! JUnit XML: one testsuite per plugin, one testcase per scenario (plan order), failures with
//! the reason as message and the step's details as text; skipped scenarios marked skipped.

use crate::run::results::{Outcome, RunReport, ScenarioResult};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// Text as XML 1.0 allows it: characters the standard forbids (most control characters, the
/// non-characters U+FFFE and U+FFFF) are written as `\x1b`-style escapes, so the file stays
/// well-formed whatever bytes a response held.
fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if text.chars().all(allowed) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if allowed(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    std::borrow::Cow::Owned(out)
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

fn counts<'a>(scenarios: impl Iterator<Item = &'a ScenarioResult>) -> (usize, usize, usize, u64) {
    scenarios.fold((0, 0, 0, 0), |(t, f, s, ms), r| {
        (
            t + 1,
            f + usize::from(r.outcome == Outcome::Failed),
            s + usize::from(r.outcome == Outcome::Skipped),
            ms + r.duration_ms,
        )
    })
}

fn details(r: &ScenarioResult) -> String {
    let mut out = String::new();
    if let Some(step) = r.failed_step.and_then(|i| r.steps.get(i)) {
        out.push_str(&format!("step {} of {}: {}\n", step.index + 1, r.steps.len(), step.name));
        if let Some(req) = &step.request {
            out.push_str(&format!("request: {} {}\n", req.method, req.url));
        }
        if let Some(call) = &step.tool_call {
            out.push_str(&format!("tool call: {}\n", call.request));
        }
        out.push_str(&format!("expected: {}\n", step.expected));
        if let Some(call) = &step.tool_call {
            if let Some(result) = &call.result {
                out.push_str(&format!("actual: result {result}\n"));
            }
            if let Some(error) = &call.error {
                out.push_str(&format!("actual: error {error}\n"));
            }
        }
        if let Some(resp) = &step.response {
            out.push_str(&format!("actual: status {}\n", resp.status));
            if let Some(body) = &resp.body {
                out.push_str(&format!("body: {body}\n"));
            }
        }
        for f in &step.failures {
            out.push_str(&format!("reason ({}): {}\n", f.kind.name(), f.message));
        }
    }
    out
}

pub fn junit(report: &RunReport) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let io = "writing XML to memory cannot fail";
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).expect(io);
    // The root carries no `skipped` attribute: the JUnit XSD allows it on `testsuite` only.
    let (tests, failures, _, _) = counts(report.scenarios.iter());
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "smoke"));
    root.push_attribute(("tests", tests.to_string().as_str()));
    root.push_attribute(("failures", failures.to_string().as_str()));
    root.push_attribute(("errors", "0"));
    root.push_attribute(("time", seconds(report.duration_ms).as_str()));
    w.write_event(Event::Start(root)).expect(io);

    // Suites in the order plugins appear in the plan.
    let mut plugins: Vec<&str> = Vec::new();
    for s in &report.scenarios {
        if !plugins.contains(&s.plugin.as_str()) {
            plugins.push(&s.plugin);
        }
    }
    for plugin in plugins {
        let members = || report.scenarios.iter().filter(move |s| s.plugin == plugin);
        let (tests, failures, skipped, ms) = counts(members());
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", xml_safe(plugin).as_ref()));
        suite.push_attribute(("tests", tests.to_string().as_str()));
        suite.push_attribute(("failures", failures.to_string().as_str()));
        suite.push_attribute(("errors", "0"));
        suite.push_attribute(("skipped", skipped.to_string().as_str()));
        suite.push_attribute(("time", seconds(ms).as_str()));
        w.write_event(Event::Start(suite)).expect(io);
        for s in members() {
            let mut case = BytesStart::new("testcase");
            case.push_attribute(("name", xml_safe(&s.id).as_ref()));
            case.push_attribute((
                "classname",
                xml_safe(&format!("{}.{}", s.plugin, s.kind.as_str())).as_ref(),
            ));
            case.push_attribute(("time", seconds(s.duration_ms).as_str()));
            match s.outcome {
                Outcome::Passed => {
                    w.write_event(Event::Empty(case)).expect(io);
                }
                Outcome::Failed => {
                    w.write_event(Event::Start(case)).expect(io);
                    let mut failure = BytesStart::new("failure");
                    failure.push_attribute((
                        "message",
                        xml_safe(s.reason.as_deref().unwrap_or("failed")).as_ref(),
                    ));
                    let kind =
                        s.failure.as_ref().map_or_else(|| s.kind.as_str().to_string(), |f| f.kind.name());
                    failure.push_attribute(("type", kind.as_str()));
                    w.write_event(Event::Start(failure)).expect(io);
                    w.write_event(Event::Text(BytesText::new(&xml_safe(&details(s))))).expect(io);
                    w.write_event(Event::End(BytesEnd::new("failure"))).expect(io);
                    w.write_event(Event::End(BytesEnd::new("testcase"))).expect(io);
                }
                Outcome::Skipped => {
                    w.write_event(Event::Start(case)).expect(io);
                    let mut skip = BytesStart::new("skipped");
                    skip.push_attribute((
                        "message",
                        xml_safe(s.reason.as_deref().unwrap_or("skipped")).as_ref(),
                    ));
                    w.write_event(Event::Empty(skip)).expect(io);
                    w.write_event(Event::End(BytesEnd::new("testcase"))).expect(io);
                }
            }
        }
        w.write_event(Event::End(BytesEnd::new("testsuite"))).expect(io);
    }
    w.write_event(Event::End(BytesEnd::new("testsuites"))).expect(io);
    let mut text = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn characters_xml_forbids_are_escaped_and_the_rest_kept() {
        assert_eq!(super::xml_safe("a\x1bb\u{fffe}c\td"), "a\\u{1b}b\\u{fffe}c\td");
        assert_eq!(super::xml_safe("caf\u{e9} <ok>"), "caf\u{e9} <ok>");
    }
}
