//! JUnit XML: one testsuite per plugin, one testcase per scenario (plan order), failures with
//! the reason as message and the step's details as text; skipped scenarios marked skipped.

use crate::run::results::{Outcome, RunReport, ScenarioResult};
use crate::run::spool::Spool;
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

/// A string from a plan, a plugin or a service as one line of XML-safe text: its line breaks
/// escaped, so it can never pose as another line of a report.
fn line(text: &str) -> String {
    xml_safe(&crate::http::escape_line(text)).into_owned()
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Tests, failures, skipped and total ms of the scenarios `members` picks.
fn counts(spool: &Spool, members: impl Iterator<Item = usize>) -> (usize, usize, usize, u64) {
    members.fold((0, 0, 0, 0), |(t, f, s, ms), i| {
        let b = spool.brief(i);
        (
            t + 1,
            f + usize::from(b.outcome == Outcome::Failed),
            s + usize::from(b.outcome == Outcome::Skipped),
            ms + u64::from(b.duration_ms),
        )
    })
}

/// The failed step's details, a line each; every string from elsewhere on one line.
fn details(r: &ScenarioResult) -> String {
    let mut out = String::new();
    if let Some(step) = r.failed_step.and_then(|i| r.steps.get(i)) {
        out.push_str(&format!("step {} of {}: {}\n", step.index + 1, r.steps.len(), line(&step.name)));
        if let Some(req) = &step.request {
            out.push_str(&format!("request: {} {}\n", line(&req.method), line(&req.url)));
        }
        if let Some(call) = &step.tool_call {
            out.push_str(&format!("tool call: {}\n", line(&call.request)));
        }
        out.push_str(&format!("expected: {}\n", line(&step.expected)));
        if let Some(call) = &step.tool_call {
            if let Some(result) = &call.result {
                out.push_str(&format!("actual: result {}\n", line(result)));
            }
            if let Some(error) = &call.error {
                out.push_str(&format!("actual: error {}\n", line(error)));
            }
        }
        if let Some(resp) = &step.response {
            out.push_str(&format!("actual: status {}\n", resp.status));
            if let Some(body) = &resp.body {
                out.push_str(&format!("body: {}\n", line(body)));
            }
        }
        for f in &step.failures {
            out.push_str(&format!("reason ({}): {}\n", f.kind.name(), line(&f.message)));
        }
    }
    out
}

/// The JUnit XML of a report, as one string.
pub fn junit(report: &RunReport<Spool>) -> String {
    let mut bytes = Vec::new();
    write_junit(report, &mut bytes).expect("writing XML to memory cannot fail");
    String::from_utf8(bytes).expect("quick-xml writes UTF-8")
}

/// The JUnit XML of a report, streamed into `out` (a run of any size is never one string).
pub fn write_junit(report: &RunReport<Spool>, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let spool = &report.scenarios;
    let mut w = Writer::new_with_indent(std::io::BufWriter::with_capacity(1 << 16, out), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    // The root carries no `skipped` attribute: the JUnit XSD allows it on `testsuite` only.
    let (tests, failures, _, _) = counts(spool, 0..spool.len());
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "smoke"));
    root.push_attribute(("tests", tests.to_string().as_str()));
    root.push_attribute(("failures", failures.to_string().as_str()));
    root.push_attribute(("errors", "0"));
    root.push_attribute(("time", seconds(report.duration_ms).as_str()));
    w.write_event(Event::Start(root))?;

    // Suites in the order plugins appear in the plan.
    let mut plugins: Vec<u32> = Vec::new();
    for b in spool.briefs() {
        if !plugins.contains(&b.plugin) {
            plugins.push(b.plugin);
        }
    }
    for plugin in plugins {
        let members = || (0..spool.len()).filter(move |&i| spool.brief(i).plugin == plugin);
        let (tests, failures, skipped, ms) = counts(spool, members());
        let name = spool.name(plugin);
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", line(name).as_str()));
        suite.push_attribute(("tests", tests.to_string().as_str()));
        suite.push_attribute(("failures", failures.to_string().as_str()));
        suite.push_attribute(("errors", "0"));
        suite.push_attribute(("skipped", skipped.to_string().as_str()));
        suite.push_attribute(("time", seconds(ms).as_str()));
        w.write_event(Event::Start(suite))?;
        // The "not tested" ledger of this plugin's endpoints, as properties (first, as the
        // schema orders a suite's children).
        // Then the MCP server's protocol revision and how the session began.
        let ledger: Vec<&crate::run::results::NotTested> =
            report.not_tested.iter().filter(|e| e.plugin == name).collect();
        let mut properties: Vec<(&str, String)> = Vec::new();
        for e in ledger {
            properties.push(("not-tested", format!("{} {}: {}", e.endpoint, e.kind, e.reason)));
        }
        if let Some(m) = &report.mcp {
            properties.push(("mcp-protocol", m.protocol_version.clone()));
            properties.push(("mcp-handshake", m.handshake.clone()));
            if let Some(why) = &m.fallback {
                properties.push(("mcp-fallback", why.clone()));
            }
        }
        if !properties.is_empty() {
            w.write_event(Event::Start(BytesStart::new("properties")))?;
            for (key, value) in properties {
                let mut property = BytesStart::new("property");
                property.push_attribute(("name", key));
                property.push_attribute(("value", line(&value).as_str()));
                w.write_event(Event::Empty(property))?;
            }
            w.write_event(Event::End(BytesEnd::new("properties")))?;
        }
        for i in members() {
            let b = spool.brief(i);
            let kind = b.kind.map_or("", |k| k.as_str());
            let mut case = BytesStart::new("testcase");
            case.push_attribute(("name", line(spool.id(i)).as_str()));
            case.push_attribute(("classname", line(&format!("{name}.{kind}")).as_str()));
            case.push_attribute(("time", seconds(u64::from(b.duration_ms)).as_str()));
            if b.outcome == Outcome::Passed {
                w.write_event(Event::Empty(case))?;
                continue;
            }
            // Only what did not pass is read back whole: its reason and details.
            let s = match spool.result(i) {
                Ok(s) => s,
                Err(e) => {
                    let kind = b.kind.unwrap_or(crate::plan::model::ScenarioKind::HappyPath);
                    let bare = crate::plan::model::Scenario::bare(spool.id(i), name, spool.endpoint(i), kind);
                    let mut s = ScenarioResult::new(&bare);
                    s.outcome = b.outcome;
                    s.reason = Some(format!("its result cannot be read back: {e}"));
                    s
                }
            };
            match s.outcome {
                Outcome::Passed => {
                    w.write_event(Event::Empty(case))?;
                }
                Outcome::Failed => {
                    w.write_event(Event::Start(case))?;
                    let mut failure = BytesStart::new("failure");
                    failure
                        .push_attribute(("message", line(s.reason.as_deref().unwrap_or("failed")).as_str()));
                    let kind =
                        s.failure.as_ref().map_or_else(|| s.kind.as_str().to_string(), |f| f.kind.name());
                    failure.push_attribute(("type", kind.as_str()));
                    w.write_event(Event::Start(failure))?;
                    w.write_event(Event::Text(BytesText::new(&xml_safe(&details(&s)))))?;
                    w.write_event(Event::End(BytesEnd::new("failure")))?;
                    w.write_event(Event::End(BytesEnd::new("testcase")))?;
                }
                Outcome::Skipped => {
                    w.write_event(Event::Start(case))?;
                    let mut skip = BytesStart::new("skipped");
                    skip.push_attribute(("message", line(s.reason.as_deref().unwrap_or("skipped")).as_str()));
                    w.write_event(Event::Empty(skip))?;
                    w.write_event(Event::End(BytesEnd::new("testcase")))?;
                }
            }
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut out = w.into_inner();
    std::io::Write::write_all(&mut out, b"\n")?;
    std::io::Write::flush(&mut out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn characters_xml_forbids_are_escaped_and_the_rest_kept() {
        assert_eq!(super::xml_safe("a\x1bb\u{fffe}c\td"), "a\\u{1b}b\\u{fffe}c\td");
        assert_eq!(super::xml_safe("caf\u{e9} <ok>"), "caf\u{e9} <ok>");
    }
}
