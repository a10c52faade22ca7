//! Text from a service, a plan or a plugin, made safe to show: every module that prints a string
//! it did not write passes it through here first. It depends on nothing else in smoke, so plans,
//! the exchange and the reports can all use it.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Text from a service, a plan or a plugin made safe for a terminal: every control character
/// (ESC, OSC, carriage return, backspace...) is shown escaped (`\x1b`), so nothing it holds can
/// move the cursor, rewrite a line, set the window title or hide what came before; so are the
/// characters some readers take for a line's end (U+0085, U+2028, U+2029) and those that reorder
/// text (bidirectional overrides). Newlines and tabs are kept.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, |c| c == '\n' || c == '\t')
}

/// [`escape`] for text that must stay on one line: newlines are escaped too.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    escape_with(text, |c| c == '\t')
}

fn escape_with(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !keep(c))
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let code = u32::from(c);
            if code < 0x80 {
                let _ = write!(out, "\\x{code:02x}");
            } else {
                let _ = write!(out, "\\u{{{code:x}}}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}
