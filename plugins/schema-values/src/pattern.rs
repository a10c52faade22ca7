//! Strings a `pattern` matches, made from the parsed regular expression and checked by the engine
//! that reads it: the `regex` crate, else `fancy-regex` for look-around and back-references.

use crate::Why;
use fancy_regex::{Expr, LookAround};
use regex_syntax::hir::{Class, Hir, HirKind};
use std::cell::RefCell;
use std::collections::HashMap;

/// The longest string made to satisfy `minLength`, and the longest `maxLength` a too-long value
/// is made for: a document declaring 100 MB strings gets no such value.
pub const MAX_MADE_LENGTH: usize = 65_536;

/// How many strings are tried against a pattern with look-around before giving up: each is one
/// match of a short string, so the bound keeps a hostile pattern to milliseconds.
const CANDIDATES: usize = 2_000;

/// A pattern compiled by the engine that reads it.
#[derive(Clone)]
enum Matcher {
    /// The `regex` crate: linear time, and what most patterns need.
    Plain(regex::Regex),
    /// `fancy-regex`: look-around and back-references, by backtracking (bounded by its limit).
    Fancy(Box<fancy_regex::Regex>),
}

impl Matcher {
    /// Whether `text` matches; a match that exceeds the backtracking limit is no match.
    fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::Plain(r) => r.is_match(text),
            Matcher::Fancy(r) => r.is_match(text).unwrap_or(false),
        }
    }
}

/// The compiled pattern, once per pattern; `None` when neither engine reads it.
fn matcher(pattern: &str) -> Option<Matcher> {
    thread_local! {
        static COMPILED: RefCell<HashMap<String, Option<Matcher>>> = Default::default();
    }
    COMPILED.with(|c| {
        c.borrow_mut()
            .entry(pattern.to_string())
            .or_insert_with(|| compile(pattern).or_else(|| compile(&ecma_class_dashes(pattern)?)))
            .clone()
    })
}

fn compile(pattern: &str) -> Option<Matcher> {
    match regex::Regex::new(pattern) {
        Ok(r) => Some(Matcher::Plain(r)),
        Err(_) => fancy_regex::Regex::new(pattern).ok().map(|r| Matcher::Fancy(Box::new(r))),
    }
}

/// `pattern` with each `-` beside a class escape inside brackets escaped (`[\w-.]` as
/// `[\w\-.]`): ECMA-262 reads that `-` as itself, the Rust engines as a range they refuse.
/// `None` when there is no such `-`.
fn ecma_class_dashes(pattern: &str) -> Option<String> {
    let shorthand = |c: Option<&char>| c.is_some_and(|c| "wdsWDS".contains(*c));
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 4);
    let (mut in_class, mut after_shorthand, mut changed) = (false, false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(&next) = chars.get(i + 1) {
                    out.push(next);
                    after_shorthand = in_class && shorthand(Some(&next));
                    i += 1;
                }
                i += 1;
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '-' if in_class
                && (after_shorthand || (chars.get(i + 1) == Some(&'\\') && shorthand(chars.get(i + 2)))) =>
            {
                out.push_str("\\-");
                changed = true;
                after_shorthand = false;
                i += 1;
                continue;
            }
            _ => {}
        }
        after_shorthand = false;
        out.push(c);
        i += 1;
    }
    changed.then_some(out)
}

/// Whether `pattern` matches `value`; `None` when no engine here reads the pattern.
pub fn pattern_matches(pattern: &str, value: &str) -> Option<bool> {
    matcher(pattern).map(|m| m.is_match(value))
}

/// Whether the `regex` crate reads `pattern` within a size a validator compiles: JSON Schema
/// patterns are ECMA-262, and some (`[\w- ]`, `\p{all}`, `\S{1,8192}`) are not read. Look-around
/// is read only by `fancy-regex`, so it is not "readable" here.
pub fn pattern_is_readable(pattern: &str) -> bool {
    /// Whether a repetition asks for more than a validator compiles (`\S{1,8192}`).
    fn huge(hir: &Hir) -> bool {
        match hir.kind() {
            HirKind::Repetition(r) => r.min > 1000 || r.max.is_some_and(|m| m > 1000) || huge(&r.sub),
            HirKind::Capture(c) => huge(&c.sub),
            HirKind::Concat(parts) | HirKind::Alternation(parts) => parts.iter().any(huge),
            _ => false,
        }
    }
    matches!(matcher(pattern), Some(Matcher::Plain(_)))
        && regex_syntax::ParserBuilder::new().build().parse(pattern).is_ok_and(|hir| !huge(&hir))
}

/// A string that `pattern` matches, checked by the engine that reads it. `None` when no engine
/// reads the pattern or no value was found.
pub fn pattern_example(pattern: &str) -> Option<String> {
    matching(pattern, 0, None).ok()
}

/// `pattern_example` with a length within `min..=max` characters; `None` when none was found.
pub fn pattern_example_sized(pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
    matching(pattern, min, max).ok()
}

/// A string `pattern` matches, `min..=max` characters long, or why there is none: the pattern is
/// not read, nothing made matched it, or nothing that matched had such a length.
pub(crate) fn matching(pattern: &str, min: usize, max: Option<usize>) -> Result<String, Why> {
    // A big document repeats its patterns: each is worked out once.
    type Made = HashMap<(String, usize, Option<usize>), Result<String, Why>>;
    thread_local! {
        static MADE: RefCell<Made> = Default::default();
    }
    let key = (pattern.to_string(), min, max);
    if let Some(made) = MADE.with(|m| m.borrow().get(&key).cloned()) {
        return made;
    }
    let made = make(pattern, min, max);
    MADE.with(|m| m.borrow_mut().insert(key, made.clone()));
    made
}

/// `base` (a value `pattern` matches) made distinct by `key` (a string unique to one scenario and
/// place): a number drawn from the key written over the value's end, after it or before it, in
/// digits, letters or hex, as long as the pattern and the lengths allow (the longest first, so
/// values collide least). `None` when the pattern allows no such change: `base` is then all
/// there is.
pub(crate) fn distinct(
    pattern: &str,
    base: &str,
    key: &str,
    min: usize,
    max: Option<usize>,
) -> Option<String> {
    let matcher = matcher(pattern)?;
    // FNV-1a: the same key gives the same value on every run and machine.
    let number =
        key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let chars: Vec<char> = base.chars().collect();
    let fits = |text: &str| {
        let len = text.chars().count();
        len >= min && max.is_none_or(|m| len <= m) && matcher.is_match(text)
    };
    const ALPHABETS: [&str; 4] =
        ["0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789abcdef"];
    for width in (1..=8).rev() {
        for alphabet in ALPHABETS {
            let digits: Vec<char> = alphabet.chars().collect();
            let mut n = number;
            let mut code: Vec<char> = (0..width)
                .map(|_| {
                    let d = digits[(n % digits.len() as u64) as usize];
                    n /= digits.len() as u64;
                    d
                })
                .collect();
            code.reverse();
            let code: String = code.into_iter().collect();
            let mut tries = Vec::with_capacity(3);
            if width <= chars.len() {
                tries.push(chars[..chars.len() - width].iter().collect::<String>() + &code);
            }
            tries.push(format!("{base}{code}"));
            tries.push(format!("{code}{base}"));
            if let Some(found) = tries.into_iter().find(|t| t != base && fits(t)) {
                return Some(found);
            }
        }
    }
    None
}

fn make(pattern: &str, min: usize, max: Option<usize>) -> Result<String, Why> {
    let unread = || Why::PatternUnread { pattern: pattern.to_string() };
    let matcher = matcher(pattern).ok_or_else(unread)?;
    // As compiled: an ECMA-only class is read with its `-` escaped.
    let candidates = match &matcher {
        Matcher::Plain(r) => {
            let hir = regex_syntax::ParserBuilder::new().build().parse(r.as_str()).map_err(|_| unread())?;
            plain_candidates(&hir, min)
        }
        Matcher::Fancy(r) => {
            let tree = Expr::parse_tree(r.as_str()).map_err(|_| unread())?;
            fancy_candidates(&tree.expr, min)
        }
    };
    let mut matched = false;
    for candidate in candidates {
        if !matcher.is_match(&candidate) {
            continue;
        }
        matched = true;
        let len = candidate.chars().count();
        if len >= min && max.is_none_or(|m| len <= m) {
            return Ok(candidate);
        }
    }
    Err(if matched {
        Why::PatternLength { pattern: pattern.to_string(), min, max }
    } else {
        Why::PatternUnmatched { pattern: pattern.to_string() }
    })
}

/// How far repetitions grow beyond their least count, in the order tried: the shortest value
/// first, then longer ones until a `minLength` is met.
fn growths(min: usize) -> Vec<usize> {
    let mut tries = vec![0, 1, 2, 4, 8, 16, 32, 64, 128, min];
    tries.sort_unstable();
    tries.dedup();
    tries
}

/// Values from the parsed expression: the plainest characters first, then others (a class's
/// second plain character), each grown as `growths` says.
fn plain_candidates(hir: &Hir, min: usize) -> Vec<String> {
    let mut out = Vec::new();
    for variant in 0..3 {
        for extra in growths(min) {
            let mut text = String::new();
            if emit(hir, extra, variant, &mut text).is_some() && !out.contains(&text) {
                out.push(text);
            }
        }
    }
    out
}

/// Candidates for a pattern with look-around or back-references: the value of the pattern
/// without its look-arounds (back-references repeating what their group took), then that value
/// with what each positive look-ahead asks for (`(?=.*[A-Z])`: a capital) written over it or put
/// into it at each place in turn. At most `CANDIDATES`; each is checked by the caller.
fn fancy_candidates(expr: &Expr, min: usize) -> Vec<String> {
    let mut groups = Vec::new();
    number_groups(expr, &mut groups);
    let mut looks = Vec::new();
    look_aheads(expr, &mut looks);
    let mut witness = String::new();
    for look in looks {
        let mut emitter = Emitter { groups: &groups, captures: HashMap::new(), extra: 0, variant: 0 };
        let mut text = String::new();
        if emitter.emit(look, &mut text).is_some() {
            witness.push_str(&text);
        }
    }
    let needed: Vec<char> = witness.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |text: String, out: &mut Vec<String>| {
        if out.len() < CANDIDATES && seen.insert(text.clone()) {
            out.push(text);
        }
    };
    for variant in 0..3 {
        for extra in growths(min) {
            let mut emitter = Emitter { groups: &groups, captures: HashMap::new(), extra, variant };
            let mut main = String::new();
            if emitter.emit(expr, &mut main).is_none() {
                continue;
            }
            let chars: Vec<char> = main.chars().collect();
            push(main, &mut out);
            if needed.is_empty() {
                continue;
            }
            // Written over the value (its length kept), at each place from the start.
            for at in (0..=chars.len().saturating_sub(needed.len())).take(64) {
                let mut over = chars.clone();
                over.splice(at..(at + needed.len()).min(chars.len()), needed.iter().copied());
                push(over.into_iter().collect(), &mut out);
            }
            // Put into it (one character longer each), at each place.
            for at in (0..=chars.len()).take(64) {
                let mut into = chars.clone();
                into.splice(at..at, needed.iter().copied());
                push(into.into_iter().collect(), &mut out);
            }
        }
    }
    out
}

/// The capture groups in the order their parentheses open, as back-references number them.
fn number_groups<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    if let Expr::Group(_) = expr {
        out.push(expr);
    }
    for child in children(expr) {
        number_groups(child, out);
    }
}

/// The expressions directly inside `expr` (those this module writes or looks into).
fn children(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Concat(parts) | Expr::Alt(parts) => parts.iter().collect(),
        Expr::Group(child) => vec![child.as_ref()],
        Expr::LookAround(child, _) | Expr::AtomicGroup(child) | Expr::Repeat { child, .. } => {
            vec![child.as_ref()]
        }
        Expr::Conditional { condition, true_branch, false_branch } => {
            vec![condition.as_ref(), true_branch.as_ref(), false_branch.as_ref()]
        }
        _ => Vec::new(),
    }
}

/// The bodies of the positive look-aheads, in order (`.*[A-Z]` of `(?=.*[A-Z])`).
fn look_aheads<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    match expr {
        Expr::LookAround(body, LookAround::LookAhead) => out.push(body),
        Expr::LookAround(..) => {}
        other => children(other).into_iter().for_each(|child| look_aheads(child, out)),
    }
}

/// Writes what a `fancy-regex` expression matches, with look-arounds left to the check.
struct Emitter<'e> {
    groups: &'e [&'e Expr],
    /// Group number (from 1) to the text it took.
    captures: HashMap<usize, String>,
    extra: usize,
    variant: usize,
}

impl Emitter<'_> {
    fn emit(&mut self, expr: &Expr, out: &mut String) -> Option<()> {
        match expr {
            Expr::Empty | Expr::Assertion(_) | Expr::LookAround(..) | Expr::KeepOut => {}
            Expr::Any { .. } => out.push(pick(&[('\u{0}', char::MAX)], self.variant)?),
            Expr::Literal { val, .. } => out.push_str(val),
            Expr::Delegate { inner, casei } => {
                let hir =
                    regex_syntax::ParserBuilder::new().case_insensitive(*casei).build().parse(inner).ok()?;
                emit(&hir, 0, self.variant, out)?;
            }
            Expr::Concat(parts) => {
                for part in parts {
                    self.emit(part, out)?;
                }
            }
            Expr::Alt(branches) => {
                let start = out.len();
                if !branches.iter().any(|b| {
                    out.truncate(start);
                    self.emit(b, out).is_some()
                }) {
                    return None;
                }
            }
            Expr::Group(child) => {
                let number = self.groups.iter().position(|g| std::ptr::eq(*g, expr))? + 1;
                let start = out.len();
                self.emit(child, out)?;
                self.captures.insert(number, out[start..].to_string());
            }
            Expr::AtomicGroup(child) => self.emit(child, out)?,
            Expr::Repeat { child, lo, hi, .. } => {
                let count = (*lo).max(self.extra.min(*hi));
                // A pattern asking for thousands of repetitions is not worth a value.
                if count > 4096 {
                    return None;
                }
                for _ in 0..count {
                    self.emit(child, out)?;
                }
            }
            Expr::Backref { group, .. } => out.push_str(self.captures.get(group)?),
            _ => return None,
        }
        Some(())
    }
}

/// Append what `hir` matches: the first branch of an alternation that can be written, each
/// repetition its least count (raised towards `extra` where the repetition allows it), for each
/// class a plain character it holds (`variant` picks another).
fn emit(hir: &Hir, extra: usize, variant: usize, out: &mut String) -> Option<()> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.push_str(std::str::from_utf8(&literal.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(char, char)> = class.ranges().iter().map(|r| (r.start(), r.end())).collect();
            out.push(pick(&ranges, variant)?);
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges: Vec<(char, char)> = class
                .ranges()
                .iter()
                .filter(|r| r.start() < 0x80)
                .map(|r| (char::from(r.start()), char::from(r.end().min(0x7f))))
                .collect();
            out.push(pick(&ranges, variant)?);
        }
        HirKind::Repetition(rep) => {
            let extra = u32::try_from(extra).unwrap_or(u32::MAX);
            let count = rep.min.max(extra.min(rep.max.unwrap_or(u32::MAX)));
            // A pattern asking for thousands of repetitions is not worth a value.
            if count > 4096 {
                return None;
            }
            for _ in 0..count {
                emit(&rep.sub, extra as usize, variant, out)?;
            }
        }
        HirKind::Capture(capture) => emit(&capture.sub, extra, variant, out)?,
        HirKind::Concat(parts) => {
            for part in parts {
                emit(part, extra, variant, out)?;
            }
        }
        HirKind::Alternation(branches) => {
            let start = out.len();
            if !branches.iter().any(|b| {
                out.truncate(start);
                emit(b, extra, variant, out).is_some()
            }) {
                return None;
            }
        }
    }
    Some(())
}

/// A plain character from a class: a letter or digit people would type (the `variant`-th of
/// those it holds, round), else the first printable one it holds.
fn pick(ranges: &[(char, char)], variant: usize) -> Option<char> {
    let holds = |c: char| ranges.iter().any(|&(a, b)| a <= c && c <= b);
    let plain: Vec<char> =
        ['a', 'A', '0', 'x', 'Z', '9', '_', '-', '.', ' '].into_iter().filter(|&c| holds(c)).collect();
    if !plain.is_empty() {
        return Some(plain[variant % plain.len()]);
    }
    ranges.iter().find_map(|&(a, b)| {
        let from = a.max(' ');
        (from <= b).then(|| (from..=b).find(|c| !c.is_control())).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::{matching, pattern_example, pattern_example_sized, pattern_matches};
    use crate::Why;

    #[test]
    fn patterns_give_matching_examples() {
        assert_eq!(pattern_example("^[0-9]{3}-[0-9]{2}-[0-9]{4}$").as_deref(), Some("000-00-0000"));
        assert_eq!(pattern_example("^[A-Z]{3}$").as_deref(), Some("AAA"));
        assert_eq!(pattern_example(r"^\d+$").as_deref(), Some("0"));
        assert_eq!(pattern_example("^(ab|cd)x?$").as_deref(), Some("ab"));
        assert_eq!(pattern_example(r"^\*\*\*-\*\*-[0-9]{4}$").as_deref(), Some("***-**-0000"));
    }

    /// What the hand-written walker gave up on, or got wrong: each value is checked here again
    /// with the regex crate, independently of the generator's own check.
    #[test]
    fn unicode_classes_case_insensitive_groups_and_anchors_give_matching_values() {
        for pattern in [
            r"^\p{L}+$",
            r"^\p{Lu}\p{Ll}{2,}$",
            r"(?i)^[a-f]{4}-(?:abc|xyz)$",
            r"(?i)^ORDER-\d{6}$",
            r"^[^\s@]+@[^\s@]+\.[^\s@]+$",
            r"^\+?[1-9]\d{1,14}$",
            r"^[\p{L}\p{M}' -]{2,50}$",
            r"\bword\b",
            r"^(?:[01]\d|2[0-3]):[0-5]\d$",
            r"^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$",
        ] {
            let value = pattern_example(pattern).unwrap_or_else(|| panic!("a value for {pattern}"));
            let re = regex::Regex::new(pattern).unwrap();
            assert!(re.is_match(&value), "{pattern} matches {value:?}");
        }
    }

    #[test]
    fn lengths_are_met_by_growing_repetitions() {
        let value = pattern_example_sized(r"^[a-z]+$", 8, Some(20)).unwrap();
        assert!((8..=20).contains(&value.len()) && value.chars().all(|c| c.is_ascii_lowercase()), "{value}");
        let value = pattern_example_sized(r"^\p{L}*$", 3, Some(3)).unwrap();
        assert_eq!(value.chars().count(), 3, "{value}");
    }

    /// Each value is checked against the rule as a person reads it, not only by the engine that
    /// made it.
    #[test]
    fn look_ahead_rules_get_a_value_that_meets_every_one_of_them() {
        let has = |v: &str, f: fn(char) -> bool| v.chars().any(f);
        let value = pattern_example(r"^(?=.*[A-Z])(?=.*\d).{8,}$").unwrap();
        assert!(value.chars().count() >= 8 && has(&value, |c| c.is_ascii_uppercase()), "{value}");
        assert!(has(&value, |c| c.is_ascii_digit()), "{value}");
        let value =
            pattern_example(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[@$!%*?&])[A-Za-z\d@$!%*?&]{8,}$").unwrap();
        assert!(value.len() >= 8 && has(&value, |c| "@$!%*?&".contains(c)), "{value}");
        assert!(
            has(&value, |c| c.is_ascii_lowercase()) && has(&value, |c| c.is_ascii_uppercase()),
            "{value}"
        );
        // After a prefix, and with a negative look-ahead to respect.
        let value = pattern_example(r"^ID-(?=.*\d)(?!.*\s)[A-Z0-9]{6}$").unwrap();
        assert!(
            value.starts_with("ID-") && value.len() == 9 && has(&value, |c| c.is_ascii_digit()),
            "{value}"
        );
        // Not all zeros: the plainest digit is not the only one tried.
        let value = pattern_example(r"^(?!0+$)\d{4}$").unwrap();
        assert!(value.len() == 4 && value != "0000", "{value}");
        // Within lengths.
        let value = pattern_example_sized(r"^(?=.*\d)[a-z\d]+$", 12, Some(12)).unwrap();
        assert!(value.len() == 12 && has(&value, |c| c.is_ascii_digit()), "{value}");
    }

    #[test]
    fn back_references_repeat_what_their_group_took() {
        assert_eq!(pattern_example(r"^(\w)-\1$").as_deref(), Some("a-a"));
        assert_eq!(pattern_example(r"^(?<q>['x])\w+\k<q>$").as_deref(), Some("xax"));
    }

    #[test]
    fn a_pattern_with_no_value_found_says_why() {
        let contradiction = r"^(?=.*[A-Z])(?!.*[A-Z]).+$";
        assert_eq!(
            matching(contradiction, 0, None),
            Err(Why::PatternUnmatched { pattern: contradiction.into() })
        );
        assert_eq!(matching("^(ab$", 0, None), Err(Why::PatternUnread { pattern: "^(ab$".into() }));
        assert_eq!(
            matching("^[a-z]{2}$", 3, None),
            Err(Why::PatternLength { pattern: "^[a-z]{2}$".into(), min: 3, max: None })
        );
        // ECMA-262 reads a `-` beside a class escape as itself; so does this.
        assert_eq!(pattern_example(r"^[\w-.]+@[\w-]+\.[a-z]{2,}$").as_deref(), Some("a@a.aa"));
        assert_eq!(pattern_matches(r"^[\w-.]+$", "a-b.c"), Some(true));
        assert!(!super::pattern_is_readable(r"^[\w-.]+$"), "as written, a validator cannot read it");
        // A value that does not match is refused by the same engines.
        assert_eq!(pattern_matches(r"^(?=.*\d).+$", "abc"), Some(false));
        assert_eq!(pattern_matches("^(ab$", "ab"), None);
    }
}
