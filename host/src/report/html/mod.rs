//! The HTML report: one self-contained page (inline CSS, no fetches, works offline). A summary
//! header, the triage, pictures of the run (timeline, latency per endpoint, coverage), then
//! scenarios with failures first, grouped by endpoint, each expandable to its steps. Every string
//! from a response or a plugin is escaped, and a Content Security Policy lets only this page's own
//! script run, so a response body can never execute.
//!
//! At scale the page stays quick to open: at most [`RENDERED`] scenarios of each outcome are
//! rendered with their steps; the rest (a big run's passing scenarios) travel as compact data,
//! one short row each, that the page's script lists on demand and the filter searches.

mod pictures;

use crate::run::results::{Outcome, RunReport, ScenarioResult, StepResult};
use crate::run::spool::Spool;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// Bodies longer than this are cut in the page (the transcript has them whole).
const BODY_LIMIT: usize = 16 * 1024;

/// Scenarios of one outcome rendered in full, steps and exchanges included; past this, they are
/// listed on demand from compact rows.
pub const RENDERED: usize = 1_000;

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2125;background:#f6f7f9}
header{background:#1d2125;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:20px}
.counts span{margin-right:14px}.pass{color:#1a7f37}.fail{color:#cf222e}.skip{color:#9a6700}
header .pass{color:#6ee7a0}header .fail{color:#ff9aa2}header .skip{color:#f5d06f}header .zero{color:#c9d1d9}
.verdict{font-size:18px;font-weight:700;padding:12px 24px;color:#fff}.verdict.passed{background:#1a7f37}.verdict.failed{background:#cf222e}.verdict.nothing{background:#9a6700}
.verdict span{font-weight:400;font-size:14px;margin-left:10px}table.untested td{border-bottom:1px solid #eaeef2}
main{padding:16px 24px}h2{font-size:15px;margin:22px 0 6px;color:#57606a}
table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
details.scenario{background:#fff;border:1px solid #d0d7de;border-left:4px solid #d0d7de;border-radius:4px;margin:6px 0;padding:6px 10px}
details.failed{border-left-color:#cf222e}details.passed{border-left-color:#1a7f37}details.skipped{border-left-color:#bf8700}
summary{cursor:pointer}.badge{font-weight:600;margin-right:8px}.muted{color:#57606a}
.step{border-top:1px solid #eaeef2;margin-top:8px;padding-top:6px}
pre{background:#f6f8fa;border:1px solid #eaeef2;padding:6px;overflow:auto;max-height:360px;white-space:pre-wrap;word-break:break-all}
.reason{color:#cf222e}#filter{width:360px;padding:6px;margin:12px 0;font:inherit}
.finding{background:#fff8c5;border:1px solid #d4a72c;border-radius:4px;padding:6px 10px;margin:6px 0}
svg.chart{width:100%;max-width:800px;height:auto;background:#fff;border:1px solid #d0d7de}
.area{fill:#8ec5ff;stroke:#0969da;stroke-width:1}.queued{fill:#d0d7de}.blocked{fill:#f5d06f}.dep{color:#9a6700}.queue{color:#57606a}.ticks line{stroke:#cf222e;stroke-width:1}
svg.bars rect{fill:#0969da}table.latency td,table.coverage td{border-bottom:1px solid #eaeef2}
table.coverage td.pass{color:#1a7f37}table.coverage td.fail{color:#cf222e;font-weight:600}table.coverage td.gap{background:#fafbfc}
.row{font:13px/1.6 ui-monospace,monospace;background:#fff;border-left:4px solid #1a7f37;margin:2px 0;padding:1px 8px}
.row.failed{border-left-color:#cf222e}.row.skipped{border-left-color:#bf8700}button{font:inherit;margin:6px 0}
";

/// The one script on the page, allowed by its hash (nothing else is): filter scenarios by text,
/// and list the scenarios sent as rows (`[id, endpoint, kind, outcome, ms, status]`, endpoint,
/// kind and outcome as indexes into the row data's tables) on demand, 500 at a time, as text.
/// It notes when it is done (`data-ready`, ms since the page began to load).
const SCRIPT: &str = "(function(){\
var f=document.getElementById('filter'),data=document.getElementById('rows'),list=document.getElementById('row-list'),more=document.getElementById('row-more');\
var d=data?JSON.parse(data.textContent):{rows:[],endpoints:[],kinds:[],outcomes:[]},rows=d.rows,matches=rows,shown=0;\
function text(r){return d.outcomes[r[3]].toUpperCase()+'  '+r[0]+' · '+d.endpoints[r[1]]+' · '+d.kinds[r[2]]+' · '+r[4]+' ms'+(r[5]?' · '+r[5]:'');}\
function render(n){var frag=document.createDocumentFragment(),end=Math.min(matches.length,shown+n);for(var i=shown;i<end;i++){var e=document.createElement('div');e.className='row '+d.outcomes[matches[i][3]];e.textContent=text(matches[i]);frag.appendChild(e);}list.appendChild(frag);shown=end;more.hidden=shown>=matches.length;more.textContent='show '+Math.min(500,matches.length-shown)+' more of '+(matches.length-shown);}\
if(more){more.addEventListener('click',function(){render(500);});}\
f.addEventListener('input',function(e){var q=e.target.value.toLowerCase();document.querySelectorAll('details.scenario').forEach(function(s){s.hidden=q!==''&&s.getAttribute('data-search').indexOf(q)<0;});\
if(list){list.textContent='';shown=0;matches=q===''?rows:rows.filter(function(r){return text(r).toLowerCase().indexOf(q)>=0;});if(q!==''){render(500);}else{more.hidden=false;more.textContent='show '+Math.min(500,rows.length)+' of '+rows.length;}}});\
document.body.setAttribute('data-ready',String(Math.round(performance.now())));})();";

/// Escape text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    // Control characters (a newline and a tab aside) and bidirectional overrides as escapes, as
    // on the console: a page shows them, never acts on them or reorders text by them.
    let text = crate::http::escape(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// [`esc`] for text that stays on one line (an id, a name, a description): its line breaks are
/// escapes, so nothing of it lands at the start of a line of the page.
pub fn esc_line(text: &str) -> String {
    esc(&crate::http::escape_line(text))
}

/// A body for display: pretty-printed when JSON, cut past the limit, escaped.
fn body(text: &str) -> String {
    let pretty = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string());
    if pretty.len() > BODY_LIMIT {
        let mut cut = BODY_LIMIT;
        while !pretty.is_char_boundary(cut) {
            cut -= 1;
        }
        format!(
            "{}\n… ({} bytes in all; the transcript has the whole body)",
            esc(&pretty[..cut]),
            pretty.len()
        )
    } else {
        esc(&pretty)
    }
}

fn headers(list: &[crate::plan::model::Pair]) -> String {
    list.iter().map(|h| format!("{}: {}\n", esc_line(&h.name), esc_line(&h.value))).collect()
}

fn step_html(out: &mut String, step: &StepResult, total: usize) {
    let _ = write!(
        out,
        "<div class=step><b>step {} of {total}: {}</b> <span class={}>{}</span> <span class=muted>{} ms",
        step.index + 1,
        esc_line(&step.name),
        class(step.outcome),
        step.outcome.label(),
        step.duration_ms
    );
    if step.attempts > 1 && step.burst.is_none() {
        let _ = write!(out, ", {} attempts", step.attempts);
    }
    let _ = write!(out, "</span><div>expected: {}</div>", esc_line(&step.expected));
    for f in &step.failures {
        let _ = write!(
            out,
            "<div class=reason>{} <small>({})</small></div>",
            esc_line(&f.message),
            f.kind.name()
        );
    }
    if let Some(v) = &step.verdict {
        let _ = write!(
            out,
            "<div>plugin verdict: {} ({})</div>",
            if v.pass { "pass" } else { "fail" },
            esc_line(&v.reason)
        );
    }
    if let Some(b) = &step.burst {
        let _ = write!(
            out,
            "<div>burst of {} with {} in flight; p50 {} ms, p95 {} ms, p99 {} ms</div><table><tr><th>status</th><th>count</th></tr>",
            b.count, b.concurrency, b.p50_ms, b.p95_ms, b.p99_ms
        );
        for (status, n) in &b.histogram {
            let _ = write!(out, "<tr><td>{}</td><td>{n}</td></tr>", esc(status));
        }
        out.push_str("</table>");
    }
    if let Some(r) = &step.request {
        let _ = write!(
            out,
            "<div>request:</div><pre>{} {}\n{}",
            esc_line(&r.method),
            esc_line(&r.url),
            headers(&r.headers)
        );
        if let Some(b) = &r.body {
            let _ = write!(out, "\n{}", body(b));
        }
        out.push_str("</pre>");
    }
    if let Some(call) = &step.tool_call {
        let _ =
            write!(out, "<div>tool call: {}</div><pre>{}</pre>", esc_line(&call.tool), body(&call.request));
        if let Some(result) = &call.result {
            let _ = write!(out, "<div>result in {} ms:</div><pre>{}</pre>", call.latency_ms, body(result));
        }
        if let Some(error) = &call.error {
            let _ = write!(out, "<div>error after {} ms:</div><pre>{}</pre>", call.latency_ms, body(error));
        }
    }
    if let Some(r) = &step.response {
        let _ = write!(
            out,
            "<div>response: status {} in {} ms</div><pre>{}",
            r.status,
            r.latency_ms,
            headers(&r.headers)
        );
        if let Some(b) = &r.body {
            let _ = write!(out, "\n{}", body(b));
        }
        out.push_str("</pre>");
    }
    if step.trimmed {
        out.push_str(
            "<div class=muted>headers and bodies not kept for this passing step (--exchanges all keeps them)</div>",
        );
    }
    if !step.captured.is_empty() {
        out.push_str("<div>captured: ");
        for (k, v) in &step.captured {
            let _ = write!(out, "<code>{}</code> = <code>{}</code> ", esc(k), esc(v));
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
}

fn class(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "pass",
        Outcome::Failed => "fail",
        Outcome::Skipped => "skip",
    }
}

fn scenario_html(out: &mut String, s: &ScenarioResult) {
    let search =
        format!("{} {} {} {} {}", s.id, s.endpoint, s.kind.as_str(), s.tags.join(" "), s.description)
            .to_lowercase();
    let outcome = match s.outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
    };
    let _ = write!(
        out,
        "<details class=\"scenario {outcome}\" data-search=\"{}\"{}><summary><span class=\"badge {}\">{}</span>{} <span class=muted>{} · {} · {} ms</span></summary>",
        esc_line(&search),
        if s.outcome == Outcome::Failed { " open" } else { "" },
        class(s.outcome),
        s.outcome.label(),
        esc_line(&s.id),
        esc(s.kind.as_str()),
        esc_line(&s.description),
        s.duration_ms
    );
    if let Some(reason) = &s.reason {
        let _ = write!(out, "<div class=reason>{}</div>", esc_line(reason));
    }
    if !s.tags.is_empty() {
        let _ = write!(out, "<div class=muted>tags: {}</div>", esc_line(&s.tags.join(", ")));
    }
    for step in &s.steps {
        step_html(out, step, s.steps.len());
    }
    out.push_str("</details>");
}

/// The page, as one string.
pub fn html(report: &RunReport<Spool>) -> String {
    let mut bytes = Vec::new();
    write_html(report, &mut bytes).expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the page is UTF-8")
}

/// What is written of the page so far is handed on past this size.
const CHUNK: usize = 1 << 20;

/// Hand what `out` holds to `w` once it is big, so the page is never whole in memory.
fn drain(out: &mut String, w: &mut impl std::io::Write, at_least: usize) -> std::io::Result<()> {
    if out.len() >= at_least {
        w.write_all(out.as_bytes())?;
        out.clear();
    }
    Ok(())
}

/// The page's head and header: the counts, the plugins, the MCP server.
fn head(report: &RunReport<Spool>, out: &mut String) {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let s = &report.summary;
    let _ = write!(
        *out,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'\">\
         <meta name=viewport content=\"width=device-width, initial-scale=1\"><title>smoke: {}</title><style>{STYLE}</style></head><body>\
         <header><h1>smoke report</h1><div class=counts><span class={}>{} passed</span><span class={}>{} failed</span>\
         <span class={}>{} skipped</span><span>{:.2} s</span><span>{}</span>{}</div>",
        esc(&s.line()),
        colour(s.passed, "pass"),
        s.passed,
        colour(s.failed, "fail"),
        s.failed,
        colour(s.skipped, "skip"),
        s.skipped,
        report.duration_ms as f64 / 1000.0,
        esc_line(&report.base_url),
        report
            .interrupted
            .as_ref()
            .map(|i| format!("<span class=fail>interrupted ({})</span>", esc(i)))
            .unwrap_or_default()
    );
    out.push_str("<table>");
    for p in &report.plugins {
        let _ = write!(
            out,
            "<tr><td>plugin {}</td><td>{}</td><td>{}</td><td>smoke:plugin@{}</td><td title=\"{}\">sha256 {}…</td></tr>",
            esc_line(&p.name),
            esc_line(&p.version),
            esc_line(&p.domain),
            esc_line(&p.wit),
            esc_line(&p.sha256),
            esc(p.sha256.get(..12).unwrap_or(&p.sha256))
        );
    }
    out.push_str("</table>");
    out.push_str(&mcp_server(report));
    out.push_str("</header>");
}

/// The page, streamed into `w`.
pub fn write_html(report: &RunReport<Spool>, w: &mut impl std::io::Write) -> std::io::Result<()> {
    let spool = &report.scenarios;
    let mut out = String::with_capacity(CHUNK + 64 * 1024);
    head(report, &mut out);
    out.push_str(&verdict(report));
    out.push_str("<main>");
    if !report.triage.is_empty() {
        out.push_str("<h2>Triage</h2>");
        for f in &report.triage {
            let _ = write!(
                out,
                "<div class=finding><b>{}</b><div class=muted>scenarios: {}</div><div>next: {}</div></div>",
                esc_line(&f.summary),
                esc_line(&f.scenarios.join(", ")),
                esc_line(&f.next_step)
            );
        }
    }
    out.push_str(
        "<h2>Scenarios</h2><input id=filter type=search placeholder=\"filter by id, endpoint, kind, tag\" aria-label=filter>",
    );
    // Failures first, then skipped, then passed; within each, grouped by endpoint in plan order.
    // Past RENDERED of an outcome, the rest are rows, listed on demand.
    let mut rows: Vec<usize> = Vec::new();
    for (outcome, title) in
        [(Outcome::Failed, "Failed"), (Outcome::Skipped, "Skipped"), (Outcome::Passed, "Passed")]
    {
        let members: Vec<usize> = (0..spool.len()).filter(|&i| spool.brief(i).outcome == outcome).collect();
        if outcome == Outcome::Skipped {
            // After the failures: what was not tested, then the pictures of the run.
            out.push_str(&not_tested(report));
            out.push_str(&pictures::coverage(report));
            out.push_str(&pictures::timeline(report));
            out.push_str(&pictures::latency(report));
        }
        let (full, rest) = members.split_at(members.len().min(RENDERED));
        rows.extend(rest);
        let mut by_endpoint: Vec<(&str, Vec<usize>)> = Vec::new();
        let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for &i in full {
            let endpoint = spool.endpoint(i);
            let k = *at.entry(endpoint).or_insert_with(|| {
                by_endpoint.push((endpoint, Vec::new()));
                by_endpoint.len() - 1
            });
            by_endpoint[k].1.push(i);
        }
        for (endpoint, members) in by_endpoint {
            let _ = write!(out, "<h2>{title}: {}</h2>", esc_line(endpoint));
            for i in members {
                match spool.result(i) {
                    Ok(s) => scenario_html(&mut out, &s),
                    Err(e) => {
                        let _ = write!(
                            out,
                            "<div class=reason>{}: cannot read its result back: {}</div>",
                            esc(spool.id(i)),
                            esc(&e.to_string())
                        );
                    }
                }
                drain(&mut out, w, CHUNK)?;
            }
        }
    }
    if !rows.is_empty() {
        let _ = write!(
            out,
            "<h2>{} more scenarios, listed on demand</h2><div class=muted>the first {RENDERED} of each outcome \
             are shown above with their steps; these are the rest, one line each (report.json has them \
             whole)</div><button id=row-more type=button>show {} of {}</button><div id=row-list></div>\
             <script id=rows type=\"application/json\">",
            rows.len(),
            rows.len().min(500),
            rows.len(),
        );
        row_data(spool, &rows, &mut out, w)?;
        out.push_str("</script>");
    }
    let _ = writeln!(out, "</main><script>{SCRIPT}</script></body></html>");
    drain(&mut out, w, 0)?;
    w.flush()
}

/// A count's class: its colour when there are some, neutral when there are none.
fn colour(count: usize, class: &'static str) -> &'static str {
    if count == 0 { "zero" } else { class }
}

/// The banner the page opens on: passed, failed, or nothing tested, and why in a few words.
fn verdict(report: &RunReport<Spool>) -> String {
    let s = &report.summary;
    let (class, word, why) = if report.stage_failure.is_some() || report.interrupted.is_some() {
        ("failed", "FAILED", "the run did not finish: see why below".to_string())
    } else if s.failed > 0 {
        ("failed", "FAILED", format!("{} scenario(s) failed", s.failed))
    } else if s.passed == 0 || (s.not_tested > 0 && s.happy_passed == 0) {
        ("nothing", "NOTHING TESTED", "no scenario passed: see what was skipped and not tested".to_string())
    } else if !s.all_passed() {
        let blocked = s.skipped.saturating_sub(s.planned + s.not_tested);
        ("failed", "FAILED", format!("{blocked} scenario(s) skipped because something before them failed"))
    } else {
        ("passed", "PASSED", format!("{} scenario(s) passed", s.passed))
    };
    let untested = match report.not_tested.len() {
        0 => String::new(),
        n => format!("; {n} check(s) not tested (below)"),
    };
    let stage = report
        .stage_failure
        .as_ref()
        .map(|f| format!("<div class=reason>{}: {}</div>", esc_line(&f.stage), esc_line(&f.message)))
        .unwrap_or_default();
    format!(
        "<div id=verdict class=\"verdict {class}\">{word}<span>{}{untested}</span></div>{stage}",
        esc(&why)
    )
}

/// The MCP server the run was against: its name, version, protocol revision and transport, and
/// the tools it lists that no scenario called.
fn mcp_server(report: &RunReport<Spool>) -> String {
    let Some(m) = &report.mcp else { return String::new() };
    let spool = &report.scenarios;
    let called: std::collections::HashSet<&str> =
        (0..spool.len()).filter_map(|i| spool.endpoint(i).strip_prefix("tool ")).collect();
    let left: Vec<&str> = m.tools.iter().map(String::as_str).filter(|t| !called.contains(t)).collect();
    let left = match left.is_empty() {
        true => String::new(),
        false => {
            format!("<div id=tools-left-out>tools no scenario called: {}</div>", esc_line(&left.join(", ")))
        }
    };
    let began = match (m.handshake.is_empty(), &m.fallback) {
        (true, _) => String::new(),
        (false, None) => format!(" (by {})", esc_line(&m.handshake)),
        (false, Some(why)) => format!(" (by {}: {})", esc_line(&m.handshake), esc_line(why)),
    };
    format!(
        "<div id=mcp-server>MCP server {} {}, protocol {}{began}, over {} at {}; {} tool(s) listed</div>{left}",
        esc_line(m.name.as_deref().unwrap_or("(no name)")),
        esc_line(m.version.as_deref().unwrap_or("")),
        esc_line(&m.protocol_version),
        esc_line(&m.transport),
        esc_line(&m.endpoint),
        m.tools.len()
    )
}

/// The "not tested" ledger: per endpoint, each kind of check it did not get, and why.
fn not_tested(report: &RunReport<Spool>) -> String {
    if report.not_tested.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<section id=not-tested><h2>Not tested: {} check(s)</h2><table class=untested><tr><th>endpoint</th><th>kind</th><th>why</th></tr>",
        report.not_tested.len()
    );
    for e in &report.not_tested {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc_line(&e.endpoint),
            esc_line(&e.kind),
            esc_line(&e.reason)
        );
    }
    out.push_str("</table></section>");
    out
}

/// The rows as JSON for the page's script, with endpoints, kinds and outcomes as indexes into
/// tables (a row is some 40 bytes), and `<` escaped so no text can end the script element.
fn row_data(
    spool: &Spool,
    rows: &[usize],
    out: &mut String,
    w: &mut impl std::io::Write,
) -> std::io::Result<()> {
    use crate::plan::model::ScenarioKind;
    let all = [
        ScenarioKind::HappyPath,
        ScenarioKind::NotFound,
        ScenarioKind::ValidationError,
        ScenarioKind::BusinessRule,
        ScenarioKind::Auth,
        ScenarioKind::Workflow,
        ScenarioKind::Load,
        ScenarioKind::Protocol,
    ];
    let kinds: Vec<&str> = all.map(ScenarioKind::as_str).to_vec();
    let outcomes = ["passed", "failed", "skipped"];
    // The endpoints' table first (it comes before the rows), in the order rows name them.
    let mut endpoints: Vec<&str> = Vec::new();
    let mut index: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for &i in rows {
        index.entry(spool.brief(i).endpoint).or_insert_with(|| {
            endpoints.push(spool.endpoint(i));
            endpoints.len() - 1
        });
    }
    let safe = |json: String| json.replace('<', "\\u003c");
    let tables = |v: &[&str]| safe(serde_json::to_string(v).unwrap_or_else(|_| "[]".into()));
    let _ = write!(
        out,
        "{{\"endpoints\":{},\"kinds\":{},\"outcomes\":{},\"rows\":[",
        tables(&endpoints),
        tables(&kinds),
        tables(&outcomes)
    );
    for (n, &i) in rows.iter().enumerate() {
        let b = spool.brief(i);
        let e = index.get(&b.endpoint).copied().unwrap_or(0);
        let k = b.kind.and_then(|k| all.iter().position(|a| *a == k)).unwrap_or(0);
        let o = match b.outcome {
            Outcome::Passed => 0,
            Outcome::Failed => 1,
            Outcome::Skipped => 2,
        };
        if n > 0 {
            out.push(',');
        }
        let id = safe(serde_json::to_string(spool.id(i)).unwrap_or_else(|_| "\"\"".into()));
        let _ = write!(out, "[{id},{e},{k},{o},{},{}]", b.duration_ms, b.status);
        drain(out, w, CHUNK)?;
    }
    out.push_str("]}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attribute_quotes() {
        assert_eq!(
            esc(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn bodies_are_pretty_printed_escaped_and_cut() {
        assert_eq!(body(r#"{"a":"<b>"}"#), "{\n  &quot;a&quot;: &quot;&lt;b&gt;&quot;\n}");
        let long = "x".repeat(BODY_LIMIT + 10);
        assert!(body(&long).contains("bytes in all"));
    }
}
