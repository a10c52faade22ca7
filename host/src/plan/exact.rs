//! JSON read without losing a number: `1e400` and integers beyond 64 bits are valid JSON, and a
//! strict judge must compare them exactly rather than call the body "not JSON" or round them to
//! the nearest float (where 18446744073709551617 would equal 18446744073709551616).
//!
//! serde_json's parser does the reading (each value is first taken as raw text); numbers keep
//! their text and compare by exact decimal value.

use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// A JSON value whose numbers are their exact text.
#[derive(Debug, Clone, PartialEq)]
pub enum Exact {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Exact>),
    Object(BTreeMap<String, Exact>),
}

/// JSON text that cannot be read exactly.
#[derive(Debug, thiserror::Error)]
pub enum ExactError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// The deepest nesting read, as serde_json's own limit: a body of 100,000 `[` must not take the
/// stack with it.
pub const MAX_DEPTH: usize = 128;

/// The deepest nesting of arrays and objects in JSON text (strings skipped), found without
/// recursion.
pub(crate) fn depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

impl Exact {
    /// Parse JSON text; every number is kept as written.
    pub fn parse(text: &str) -> Result<Exact, ExactError> {
        if depth(text) > MAX_DEPTH {
            return Err(ExactError::TooDeep);
        }
        let raw: &RawValue = serde_json::from_str(text)?;
        Ok(Exact::from_raw(raw)?)
    }

    fn from_raw(raw: &RawValue) -> Result<Exact, serde_json::Error> {
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'{') => {
                let map: BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
                Exact::Object(
                    map.into_iter().map(|(k, v)| Ok((k, Exact::from_raw(v)?))).collect::<Result<_, _>>()?,
                )
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text)?;
                Exact::Array(items.into_iter().map(Exact::from_raw).collect::<Result<_, _>>()?)
            }
            Some(b'"') => Exact::String(serde_json::from_str(text)?),
            Some(b't') => Exact::Bool(true),
            Some(b'f') => Exact::Bool(false),
            Some(b'n') => Exact::Null,
            _ => Exact::Number(text.to_string()),
        })
    }

    /// The value at a JSON pointer (RFC 6901), if there is one.
    pub fn pointer(&self, pointer: &str) -> Option<&Exact> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut at = self;
        for token in pointer.strip_prefix('/')?.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            at = match at {
                Exact::Object(map) => map.get(&token)?,
                Exact::Array(items) => {
                    // As RFC 6901 and serde_json: no sign, no leading zero.
                    if token.starts_with('+') || (token.len() > 1 && token.starts_with('0')) {
                        return None;
                    }
                    items.get(token.parse::<usize>().ok()?)?
                }
                _ => return None,
            };
        }
        Some(at)
    }

    /// Whether this equals `expected`: numbers by exact decimal value (`1.0` equals `1` and
    /// `10e-1`), objects whatever their key order.
    pub fn equals(&self, expected: &Value) -> bool {
        match (self, expected) {
            (Exact::Null, Value::Null) => true,
            (Exact::Bool(a), Value::Bool(b)) => a == b,
            (Exact::String(a), Value::String(b)) => a == b,
            (Exact::Number(a), Value::Number(b)) => same_number(a, &b.to_string()),
            (Exact::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y))
            }
            (Exact::Object(a), Value::Object(b)) => {
                a.len() == b.len() && b.iter().all(|(k, v)| a.get(k).is_some_and(|x| x.equals(v)))
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Exact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exact::Null => f.write_str("null"),
            Exact::Bool(b) => write!(f, "{b}"),
            Exact::Number(n) => f.write_str(n),
            Exact::String(s) => write!(f, "{}", Value::String(s.clone())),
            Exact::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Exact::Object(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{v}", Value::String(k.clone()))?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A JSON number's exact value: its sign, its significant digits (no leading or trailing
/// zeros) and the power of ten of the last of them. Zero is `(false, "", 0)`.
fn canonical(text: &str) -> Option<(bool, String, i128)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i128>().ok()?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = format!("{whole}{fraction}");
    let mut power = exponent.checked_sub(fraction.len() as i128)?;
    let trimmed = digits.trim_start_matches('0').to_string();
    digits = trimmed;
    while digits.ends_with('0') {
        digits.pop();
        power = power.checked_add(1)?;
    }
    if digits.is_empty() {
        return Some((false, String::new(), 0));
    }
    Some((negative, digits, power))
}

/// Whether two JSON number texts are the same number.
fn same_number(a: &str, b: &str) -> bool {
    match (canonical(a), canonical(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Whether every number in a JSON text survives being read into a `serde_json::Value`: a plan
/// whose expected value does not survive could never be compared exactly, so it is refused.
pub fn first_inexact_number(text: &str) -> Option<String> {
    fn walk(exact: &Exact, value: &Value) -> Option<String> {
        match (exact, value) {
            (Exact::Number(n), Value::Number(v)) => (!same_number(n, &v.to_string())).then(|| n.clone()),
            (Exact::Array(a), Value::Array(b)) => a.iter().zip(b).find_map(|(x, y)| walk(x, y)),
            (Exact::Object(a), Value::Object(b)) => a.iter().find_map(|(k, x)| walk(x, b.get(k)?)),
            _ => None,
        }
    }
    let exact = Exact::parse(text).ok()?;
    match serde_json::from_str::<Value>(text) {
        Ok(value) => walk(&exact, &value),
        // Not readable at all as a Value: some number is out of range.
        Err(_) => first_number_out_of_range(&exact),
    }
}

fn first_number_out_of_range(exact: &Exact) -> Option<String> {
    match exact {
        Exact::Number(n) => serde_json::from_str::<Value>(n).is_err().then(|| n.clone()),
        Exact::Array(items) => items.iter().find_map(first_number_out_of_range),
        Exact::Object(map) => map.values().find_map(first_number_out_of_range),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_beyond_f64_and_u64_are_json_and_compare_exactly() {
        let body =
            Exact::parse(r#"{"huge": 1e400, "big": 18446744073709551617, "n": 1.50, "list": [0, -0.0]}"#)
                .expect("valid JSON");
        assert_eq!(body.pointer("/huge"), Some(&Exact::Number("1e400".into())));
        let big = body.pointer("/big").unwrap();
        assert!(!big.equals(&json!(18446744073709551615u64)));
        let as_float: Value = serde_json::from_str("18446744073709551616").unwrap();
        assert!(!big.equals(&as_float), "no rounding to the nearest float");
        assert!(body.pointer("/n").unwrap().equals(&json!(1.5)));
        assert!(body.pointer("/list/1").unwrap().equals(&json!(0)));
        assert!(
            same_number("1e400", "10E399") && same_number("0.001", "1e-3") && !same_number("1e400", "1e401")
        );
        assert_eq!(body.pointer("/list/2"), None);
        assert_eq!(body.pointer("/list/01"), None);
        assert_eq!(body.pointer("/list/+1"), None);
        assert!(!same_number("10e170141183460469231731687303715884105727", "1"));
    }

    #[test]
    fn objects_compare_whatever_their_order_and_pointers_unescape() {
        let body = Exact::parse(r#"{"a/b": {"x": 1, "y": [true, null, "s"]}, "m~n": 2}"#).unwrap();
        assert!(body.pointer("/a~1b").unwrap().equals(&json!({"y": [true, null, "s"], "x": 1})));
        assert!(body.pointer("/m~0n").unwrap().equals(&json!(2)));
        assert!(!body.pointer("/a~1b").unwrap().equals(&json!({"x": 1})));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(Exact::parse(&deep), Err(ExactError::TooDeep)));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Exact::parse(&ok).is_ok());
        assert!(Exact::parse(r#"["[[[[", "\"[["]"#).is_ok(), "brackets in strings do not count");
        assert_eq!(first_inexact_number(&deep), None);
    }

    #[test]
    fn expected_values_that_a_value_cannot_hold_are_found() {
        assert_eq!(
            first_inexact_number(r#"{"a": 18446744073709551617}"#).as_deref(),
            Some("18446744073709551617")
        );
        assert_eq!(first_inexact_number("[1, 1e400]").as_deref(), Some("1e400"));
        assert_eq!(first_inexact_number(r#"{"a": 1.5, "b": [18446744073709551615]}"#), None);
    }
}
