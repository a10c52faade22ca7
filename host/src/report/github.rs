//! GitHub Actions' view of a run (`smoke report github`): a Markdown job summary (verdict,
//! failures, what was not tested) for `$GITHUB_STEP_SUMMARY`, and an `::error` workflow command
//! per failed scenario, so the failure shows on the run's page and the pull request.
//!
//! Everything in them that a service, plan or plugin said is escaped: in the summary it is shown
//! in code spans, where Markdown, HTML and autolinks have no effect (no link, image or table break
//! a service could inject); in an annotation, nothing ends the command early or starts another.

use crate::run::results::{Outcome, RunReport};
use crate::run::spool::Spool;
use std::fmt::Write as _;

/// The failed scenarios a summary lists, and annotates: GitHub shows 10 error annotations per
/// step and 50 per job, and caps a summary at 1 MiB.
pub const SHOWN: usize = 50;

/// Whether the run this report is of passed: what smoke's exit code said.
pub fn passed(report: &RunReport<Spool>) -> bool {
    report.summary.all_passed() && report.stage_failure.is_none() && report.interrupted.is_none()
}

/// The job summary, in GitHub-flavoured Markdown.
pub fn summary(report: &RunReport<Spool>) -> String {
    let mut out = String::new();
    let verdict = if passed(report) { "PASS" } else { "FAIL" };
    let _ = writeln!(out, "## smoke: {verdict}\n");
    let _ = writeln!(out, "{}\n", markdown(&report.summary.line()));
    let _ = writeln!(
        out,
        "Target `{}`, smoke {}, {} ms.\n",
        code(&report.base_url),
        code(&report.smoke_version),
        report.duration_ms
    );
    if let Some(stage) = &report.stage_failure {
        let _ =
            writeln!(out, "**The run stopped at `{}`:** `{}`\n", code(&stage.stage), code(&stage.message));
    }
    if let Some(why) = &report.interrupted {
        let _ = writeln!(out, "**Interrupted:** `{}`\n", code(why));
    }
    failures_table(report, &mut out);
    not_tested_table(report, &mut out);
    out
}

fn failures_table(report: &RunReport<Spool>, out: &mut String) {
    let spool = &report.scenarios;
    let failed: Vec<usize> =
        (0..spool.len()).filter(|&i| spool.brief(i).outcome == Outcome::Failed).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Failed ({})\n", failed.len());
    let _ = writeln!(out, "| scenario | kind | endpoint | why |\n|---|---|---|---|");
    for &i in failed.iter().take(SHOWN) {
        match spool.result(i) {
            Ok(s) => {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | `{}` | `{}` |",
                    code(&s.id),
                    s.kind.as_str(),
                    code(&s.endpoint),
                    code(&reason(&s))
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "| `{}` | | | cannot be read back: `{}` |",
                    code(spool.id(i)),
                    code(&e.to_string())
                );
            }
        }
    }
    if failed.len() > SHOWN {
        let _ = writeln!(out, "\n… and {} more: every one is in the JSON report.", failed.len() - SHOWN);
    }
    out.push('\n');
}

fn not_tested_table(report: &RunReport<Spool>, out: &mut String) {
    if report.not_tested.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Not tested ({})\n", report.not_tested.len());
    let _ = writeln!(out, "| endpoint | check | why |\n|---|---|---|");
    for e in report.not_tested.iter().take(SHOWN) {
        let _ = writeln!(out, "| `{}` | `{}` | `{}` |", code(&e.endpoint), code(&e.kind), code(&e.reason));
    }
    if report.not_tested.len() > SHOWN {
        let _ = writeln!(
            out,
            "\n… and {} more: every one is in the JSON report.",
            report.not_tested.len() - SHOWN
        );
    }
    out.push('\n');
}

/// Why a scenario failed, in one line: its first failure's message, else its reason.
fn reason(s: &crate::run::results::ScenarioResult) -> String {
    let step = s.failed_step.and_then(|i| s.steps.get(i));
    let first = step.and_then(|step| step.failures.first()).map(|f| f.message.as_str());
    let why = first.or(s.reason.as_deref()).unwrap_or("failed");
    match step {
        Some(step) => format!("step {} ({}): {why}", step.index + 1, step.name),
        None => why.to_string(),
    }
}

/// One `::error` workflow command per failed scenario (the first [`SHOWN`]).
pub fn annotations(report: &RunReport<Spool>) -> String {
    let spool = &report.scenarios;
    let mut out = String::new();
    let failed = (0..spool.len()).filter(|&i| spool.brief(i).outcome == Outcome::Failed);
    for i in failed.take(SHOWN) {
        let (title, message) = match spool.result(i) {
            Ok(s) => (
                format!("smoke: {} failed", s.id),
                format!("{} ({}): {}", s.endpoint, s.kind.as_str(), reason(&s)),
            ),
            Err(e) => {
                (format!("smoke: {} failed", spool.id(i)), format!("its result cannot be read back: {e}"))
            }
        };
        let _ = writeln!(out, "::error title={}::{}", property(&title), data(&message));
    }
    if let Some(stage) = &report.stage_failure {
        let title = format!("smoke: the run stopped at {}", stage.stage);
        let _ = writeln!(out, "::error title={}::{}", property(&title), data(&stage.message));
    }
    out
}

/// Text clipped to a line a reader takes in, with control and invisible characters made visible.
fn line(text: &str) -> String {
    let clipped: String = text.chars().take(300).collect();
    let more = if clipped.len() < text.len() { "…" } else { "" };
    format!("{}{more}", crate::text::escape_line(&clipped))
}

/// A workflow command's message: `%`, CR and LF are what end it, so they are escaped (GitHub
/// unescapes them for display).
fn data(text: &str) -> String {
    line(text).replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: as a message, and `:` and `,` too.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Text for a Markdown code span, in a table or not: no backtick ends the span, no `|` the cell.
/// Inside a span nothing is a link, an image, HTML or emphasis, autolinks included.
fn code(text: &str) -> String {
    line(text).replace('`', "'").replace('|', "¦")
}

/// smoke's own words as Markdown that renders as itself: punctuation Markdown reads is
/// backslash-escaped, and HTML's `<`, `>` and `&` are entities. (What others said goes in code
/// spans: a URL or an e-mail address here would still be autolinked.)
fn markdown(text: &str) -> String {
    let mut out = String::new();
    for c in line(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '#' | '+' | '-' | '!' | '|' | '~' | '.' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_a_service_says_ends_an_annotation_or_starts_a_command() {
        let hostile = "x\n::error::forged%0A\r::add-mask::y";
        let message = data(hostile);
        assert!(!message.contains('\n') && !message.contains('\r'), "{message}");
        assert!(message.contains("%250A"), "a % is escaped, so %0A stays literal: {message}");
        let title = property("a:b,c");
        assert_eq!(title, "a%3Ab%2Cc");
    }

    #[test]
    fn what_a_service_says_goes_in_code_spans_that_nothing_ends() {
        let mut report = RunReport::of_scenarios(Spool::default());
        let hostile = "see https://1558991410/pixel or a@b.com ![x](y) <img src=x> ` | x\n# h";
        report.not_tested.push(crate::run::results::NotTested {
            plugin: "p".into(),
            endpoint: hostile.into(),
            kind: hostile.into(),
            reason: hostile.into(),
        });
        report.stage_failure =
            Some(crate::run::results::StageFailure { stage: "seed".into(), message: hostile.into() });
        let summary = summary(&report);
        let said = code(hostile);
        assert!(!said.contains('`') && !said.contains('|') && !said.contains('\n'), "{said}");
        let row = summary.lines().find(|l| l.starts_with("| `see")).expect("the not-tested row");
        assert_eq!(row, format!("| `{said}` | `{said}` | `{said}` |"));
        assert!(summary.contains(&format!(":** `{said}`")), "{summary}");
        // smoke's own words, outside code spans, render as themselves.
        let own = markdown("![x](https://evil/pixel.png) <img src=x> | a");
        assert!(!own.contains("![") && !own.contains("<img") && own.contains("\\|"), "{own}");
    }
}
