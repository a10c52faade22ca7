//! The console: one line per scenario as it finishes, then each failure in detail, then the
//! summary line `N passed, N failed, N skipped`.

use crate::run::results::{Outcome, RunReport, ScenarioResult};
use crate::run::spool::Spool;
use std::fmt::Write;

pub use crate::http::{escape, escape_line};

/// Print a line to stdout through [`emit`]: a closed pipe (`smoke run | head -1`) is ignored;
/// the run goes on, writes its reports and exits by its verdicts.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::report::console::emit($crate::report::console::To::Out, &format!("{}\n", format_args!($($arg)*)))
    };
}

/// [`say!`] without the newline.
#[macro_export]
macro_rules! say_raw {
    ($($arg:tt)*) => {
        $crate::report::console::emit($crate::report::console::To::Out, &format!($($arg)*))
    };
}

/// Print to stderr without a newline, through [`emit`].
#[macro_export]
macro_rules! warn_raw {
    ($($arg:tt)*) => {
        $crate::report::console::emit($crate::report::console::To::Err, &format!($($arg)*))
    };
}

/// Print a line to stderr, through [`emit`].
#[macro_export]
macro_rules! warn_user {
    ($($arg:tt)*) => {
        $crate::report::console::emit($crate::report::console::To::Err, &format!("{}\n", format_args!($($arg)*)))
    };
}

/// Where a line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    Out,
    Err,
}

/// The run's redactor, once it knows the run's secrets: every byte printed passes through it.
static REDACTOR: std::sync::RwLock<Option<crate::http::Redactor>> = std::sync::RwLock::new(None);

/// Redact everything printed from now on with `redactor` (a clone shares what it learns later).
pub fn redact_output(redactor: &crate::http::Redactor) {
    *REDACTOR.write().unwrap_or_else(|e| e.into_inner()) = Some(redactor.clone());
}

/// Every byte smoke prints goes out here: redacted with what the run knows, with no line a CI
/// system reads as a command (see [`no_commands`]), and a closed or broken stream ignored (the
/// run goes on and writes its reports).
pub fn emit(to: To, text: &str) {
    use std::io::Write as _;
    let redacted = match REDACTOR.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(r) => std::borrow::Cow::Owned(r.text(text)),
        None => std::borrow::Cow::Borrowed(text),
    };
    let text = no_commands(&redacted);
    let _ = match to {
        To::Out => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
        To::Err => std::io::stderr().lock().write_all(text.as_bytes()),
    };
}

/// Text in which no line begins (leading blanks aside) with what CI systems execute from a log:
/// GitHub Actions' workflow commands (`::error ...`, `::add-mask::`), Azure Pipelines' logging
/// commands (`##vso[`) and the older `##[` form. The first character of such a line is written
/// as an escape (`\x3a:error`), so the line is shown, never obeyed.
pub fn no_commands(text: &str) -> std::borrow::Cow<'_, str> {
    let command = |line: &str| {
        let t = line.trim_start();
        t.starts_with("::") || t.starts_with("##[")
    };
    // Azure Pipelines obeys `##vso[` anywhere in a line.
    if !text.split('\n').any(command) && !text.contains("##vso[") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.replace("##vso[", "\\x23#vso[");
        if command(&line) {
            let blanks = line.len() - line.trim_start().len();
            let first = line[blanks..].chars().next().unwrap_or(':');
            out.push_str(&line[..blanks]);
            out.push_str(&format!("\\x{:02x}", u32::from(first)));
            out.push_str(&line[blanks + first.len_utf8()..]);
        } else {
            out.push_str(&line);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A log event whose lines after the first are indented: a field holding a line break (text from
/// a service, a plugin or a server) continues the event, and never poses as a line of its own.
pub fn indented(event: &str) -> std::borrow::Cow<'_, str> {
    let body = event.strip_suffix('\n').unwrap_or(event);
    if !body.contains('\n') || body.split('\n').skip(1).all(|l| l.starts_with([' ', '\t'])) {
        return std::borrow::Cow::Borrowed(event);
    }
    let mut out = String::with_capacity(event.len() + 16);
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.starts_with([' ', '\t']) {
                out.push_str("  ");
            }
        }
        out.push_str(line);
    }
    if body.len() < event.len() {
        out.push('\n');
    }
    std::borrow::Cow::Owned(out)
}

/// The log's writer for tracing: each event, as formatted, goes out through [`emit`].
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        // Control characters a field holds (a CR would end the line for a terminal or a CI log) are
        // escapes; a line break continues the event, indented.
        emit(To::Err, &indented(&escape(&text)));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
                let _ =
                    writeln!(out, "\n  {}: its result cannot be read back: {e}", escape_line(spool.id(i)));
                continue;
            }
        };
        let s = &s;
        let _ =
            writeln!(out, "\n  {} ({}, {})", escape_line(&s.id), s.kind.as_str(), escape_line(&s.endpoint));
        if !s.description.is_empty() {
            let _ = writeln!(out, "    what:     {}", escape_line(&s.description));
        }
        let Some(step) = s.failed_step.and_then(|i| s.steps.get(i)) else {
            // A failure outside any step (a post-run check, an interrupted run).
            let _ = writeln!(out, "    reason:   {}", escape_line(s.reason.as_deref().unwrap_or("failed")));
            continue;
        };
        let _ = writeln!(
            out,
            "    step:     {} of {}: {}",
            step.index + 1,
            s.steps.len(),
            escape_line(&step.name)
        );
        if let Some(req) = &step.request {
            let _ = writeln!(out, "    request:  {} {}", escape_line(&req.method), escape_line(&req.url));
            if let Some(body) = &req.body {
                let _ = writeln!(out, "              {}", clip(body, 300));
            }
        }
        if let Some(call) = &step.tool_call {
            // The step line names the tool, method or check; this is what was sent.
            let _ = writeln!(out, "    call:     {}", clip(&call.request, 300));
        }
        let _ = writeln!(out, "    expected: {}", escape_line(&step.expected));
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
            let _ = writeln!(out, "    reason:   {}", escape_line(&f.message));
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
        let _ = writeln!(out, "  - {}", escape_line(&f.summary));
        let shown: Vec<std::borrow::Cow<'_, str>> =
            f.scenarios.iter().take(8).map(|id| escape_line(id)).collect();
        let more = f.scenarios.len().saturating_sub(shown.len());
        let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
        let _ = writeln!(out, "    scenarios: {}{tail}", shown.join(", "));
        let _ = writeln!(out, "    next:      {}", escape_line(&f.next_step));
    }
    out
}

/// At most `max` characters of `text`, on one line and escaped, saying how long it was.
fn clip(text: &str, max: usize) -> String {
    let cut: String = text.chars().take(max + 1).collect();
    let one_line = escape_line(&cut.replace('\n', " ")).into_owned();
    if cut.chars().count() > max {
        format!("{}… ({} bytes)", one_line.chars().take(max).collect::<String>(), text.len())
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_printed_line_is_a_ci_command_and_no_log_field_starts_a_line_of_its_own() {
        assert_eq!(
            no_commands("ok\n  ::error ::x\n##vso[task]\n::add-mask::y"),
            "ok\n  \\x3a:error ::x\n\\x23#vso[task]\n\\x3a:add-mask::y"
        );
        assert!(matches!(no_commands("a :: b\n"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(indented(" WARN x: a\nPASS  forged\n"), " WARN x: a\n  PASS  forged\n");
        assert_eq!(indented(" INFO lines:\n  | kept\n"), " INFO lines:\n  | kept\n");
    }

    #[test]
    fn control_characters_never_reach_the_terminal_raw() {
        let hostile = "ok\x1b]0;pwned\x07\r\x1b[2KPASS\u{9b}31m\u{202e}x\u{2028}::error::y";
        let shown = escape(hostile);
        assert!(!shown.chars().any(|c| c.is_control() || c == '\u{202e}' || c == '\u{2028}'), "{shown:?}");
        assert_eq!(escape_line("a\nb"), "a\\x0ab");
        assert_eq!(escape("a\nb\tc"), "a\nb\tc");
        assert!(matches!(escape("plain text"), std::borrow::Cow::Borrowed(_)));
    }
}
