//! The console: one line per scenario as it finishes, then each failure in detail, then the
//! summary line `N passed, N failed, N skipped`.

use crate::run::results::{Outcome, RunReport, ScenarioResult};
use crate::run::spool::Spool;
use std::fmt::Write;

pub use crate::http::{escape, escape_line};

/// Print to stdout, ignoring a closed pipe (`smoke run | head -1`): the run goes on, writes its
/// reports and exits by its verdicts.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// [`say!`] without the newline.
#[macro_export]
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = write!(out, $($arg)*);
        let _ = out.flush();
    }};
}

/// Print to stderr without a newline, ignoring a closed pipe.
#[macro_export]
macro_rules! warn_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// Print to stderr, ignoring a closed pipe.
#[macro_export]
macro_rules! warn_user {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// `PASS  ledger.accounts.list  (3 ms)` or `SKIP  id  (reason)`; the label coloured if asked.
pub fn scenario_line(r: &ScenarioResult, colour: bool) -> String {
    let label = r.outcome.label();
    let label = match (colour, r.outcome) {
        (false, _) => label.to_string(),
        (true, Outcome::Passed) => format!("\x1b[32m{label}\x1b[0m"),
        (true, Outcome::Failed) => format!("\x1b[1;31m{label}\x1b[0m"),
        (true, Outcome::Skipped) => format!("\x1b[33m{label}\x1b[0m"),
    };
    let id = escape_line(&r.id);
    match r.outcome {
        Outcome::Skipped => {
            format!("{label}  {id}  ({})", escape_line(r.reason.as_deref().unwrap_or("skipped")))
        }
        _ => format!("{label}  {id}  ({} ms)", r.duration_ms),
    }
}

/// Live output while scenarios run: on a terminal a progress bar with each result printed above
/// it; otherwise (or with `--no-progress`) plain lines. Colour only on a terminal, never with
/// `NO_COLOR`.
pub struct Live {
    bar: Option<indicatif::ProgressBar>,
    colour: bool,
    quiet: bool,
}

impl Live {
    pub fn new(total: usize, quiet: bool, no_progress: bool) -> Live {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
        let colour = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let bar = (terminal && !quiet && !no_progress).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total as u64),
                indicatif::ProgressDrawTarget::stdout(),
            );
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} scenarios  {elapsed}")
            {
                bar.set_style(style);
            }
            bar
        });
        Live { bar, colour, quiet }
    }

    pub fn scenario(&self, r: &ScenarioResult) {
        if self.quiet {
            return;
        }
        let line = scenario_line(r, self.colour);
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
            }
            None => crate::say!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Failures shown in detail on the console; the rest are counted (the reports have them all).
pub const SHOWN_FAILURES: usize = 100;

/// The failed scenarios in plan order (the first [`SHOWN_FAILURES`]): id, step, request, expected
/// versus actual, reason; everything a service, plan or plugin said is escaped for the terminal.
pub fn failures(report: &RunReport<Spool>) -> String {
    escape(&failures_text(report)).into_owned()
}

fn failures_text(report: &RunReport<Spool>) -> String {
    let mut out = String::new();
    let spool = &report.scenarios;
    let failed: Vec<usize> =
        (0..spool.len()).filter(|&i| spool.brief(i).outcome == Outcome::Failed).collect();
    if failed.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nFailures:");
    for &i in failed.iter().take(SHOWN_FAILURES) {
        let s = match spool.result(i) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(out, "\n  {}: its result cannot be read back: {e}", spool.id(i));
                continue;
            }
        };
        let s = &s;
        let _ = writeln!(out, "\n  {} ({}, {})", s.id, s.kind.as_str(), s.endpoint);
        if !s.description.is_empty() {
            let _ = writeln!(out, "    what:     {}", s.description);
        }
        let Some(step) = s.failed_step.and_then(|i| s.steps.get(i)) else {
            // A failure outside any step (a post-run check, an interrupted run).
            let _ = writeln!(out, "    reason:   {}", s.reason.as_deref().unwrap_or("failed"));
            continue;
        };
        let _ = writeln!(out, "    step:     {} of {}: {}", step.index + 1, s.steps.len(), step.name);
        if let Some(req) = &step.request {
            let _ = writeln!(out, "    request:  {} {}", req.method, req.url);
            if let Some(body) = &req.body {
                let _ = writeln!(out, "              {}", clip(body, 300));
            }
        }
        if let Some(call) = &step.tool_call {
            let _ = writeln!(out, "    call:     tools/call {}", call.tool);
            let _ = writeln!(out, "              {}", clip(&call.request, 300));
        }
        let _ = writeln!(out, "    expected: {}", step.expected);
        match (&step.response, &step.tool_call) {
            (None, Some(call)) => match (&call.result, &call.error) {
                (Some(result), _) => {
                    let _ = writeln!(out, "    actual:   result in {} ms", call.latency_ms);
                    let _ = writeln!(out, "              {}", clip(result, 300));
                }
                (None, Some(error)) => {
                    let _ = writeln!(
                        out,
                        "    actual:   error after {} ms: {}",
                        call.latency_ms,
                        clip(error, 300)
                    );
                }
                (None, None) => {
                    let _ = writeln!(out, "    actual:   nothing sent");
                }
            },
            (Some(resp), _) => {
                let _ = writeln!(out, "    actual:   status {} in {} ms", resp.status, resp.latency_ms);
                if let Some(body) = &resp.body {
                    let _ = writeln!(out, "              {}", clip(body, 300));
                }
            }
            (None, None) => {
                let _ = writeln!(out, "    actual:   no response");
            }
        }
        for f in &step.failures {
            let _ = writeln!(out, "    reason:   {}", f.message.replace('\n', " "));
        }
    }
    if failed.len() > SHOWN_FAILURES {
        let _ = writeln!(
            out,
            "\n  ... and {} more failed scenarios: every one is in report.json (and --report-html, --report-junit)",
            failed.len() - SHOWN_FAILURES
        );
    }
    out
}

/// What the failures have in common, after the failures themselves.
pub fn triage(findings: &[crate::report::triage::Finding]) -> String {
    escape(&triage_text(findings)).into_owned()
}

fn triage_text(findings: &[crate::report::triage::Finding]) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nTriage:");
    for f in findings {
        let _ = writeln!(out, "  - {}", f.summary);
        let shown: Vec<&str> = f.scenarios.iter().take(8).map(String::as_str).collect();
        let more = f.scenarios.len().saturating_sub(shown.len());
        let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
        let _ = writeln!(out, "    scenarios: {}{tail}", shown.join(", "));
        let _ = writeln!(out, "    next:      {}", f.next_step);
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() > max {
        format!("{}… ({} bytes)", one_line.chars().take(max).collect::<String>(), text.len())
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal_raw() {
        let hostile = "ok\x1b]0;pwned\x07\r\x1b[2KPASS\u{9b}31m\u{202e}x";
        let shown = escape(hostile);
        assert!(!shown.chars().any(|c| c.is_control() || c == '\u{202e}'), "{shown:?}");
        assert_eq!(escape_line("a\nb"), "a\\x0ab");
        assert_eq!(escape("a\nb\tc"), "a\nb\tc");
        assert!(matches!(escape("plain text"), std::borrow::Cow::Borrowed(_)));
    }
}
