//! A JSON body read for its assertions and captures: a pointer is found by walking the text, what
//! it passes skipped and never built, so a 16 MiB body judged by one assertion costs about the
//! memory of the value asserted, not a tree tens of times the body. The whole tree is built only
//! when a schema needs it. Numbers compare exactly: 1e400 and integers beyond 64 bits are JSON.

use crate::plan::exact::Exact;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// Why a body is not JSON.
#[derive(Debug, thiserror::Error)]
pub(super) enum NotJson {
    #[error("{0}")]
    Utf8(std::str::Utf8Error),
    #[error("{0}")]
    Json(crate::plan::exact::ExactError),
}

/// A JSON body, checked to be JSON, its values found where asked.
pub(super) struct Body<'a> {
    text: &'a str,
    /// The whole tree, when asked for (a schema needs it) and a `Value` holds its numbers.
    whole: Option<Value>,
    /// Read exactly, when a number is beyond what a `Value` holds.
    exact: std::cell::OnceCell<Option<Exact>>,
}

impl<'a> Body<'a> {
    /// `bytes` as JSON: checked in one pass; built whole only when `whole`.
    pub(super) fn read(bytes: &'a [u8], whole: bool) -> Result<Body<'a>, NotJson> {
        let text = std::str::from_utf8(bytes).map_err(NotJson::Utf8)?;
        // As deep as serde_json reads, and no deeper: a body of 100,000 `[` is not JSON here.
        if crate::plan::exact::depth(text) > crate::plan::exact::MAX_DEPTH {
            return Err(NotJson::Json(crate::plan::exact::ExactError::TooDeep));
        }
        let body = Body { text, whole: None, exact: Default::default() };
        if whole && let Ok(value) = serde_json::from_str::<Value>(text) {
            return Ok(Body { whole: Some(value), ..body });
        }
        if serde_json::from_str::<IgnoredAny>(text).is_err() || whole {
            // Not JSON, or JSON with numbers beyond a `Value`: read exactly, or say why not.
            let exact = Exact::parse(text).map_err(NotJson::Json)?;
            let _ = body.exact.set(Some(exact));
        }
        Ok(body)
    }

    /// The whole tree, when it was built.
    pub(super) fn value(&self) -> Option<&Value> {
        self.whole.as_ref()
    }

    fn exact(&self) -> Option<&Exact> {
        self.exact.get_or_init(|| Exact::parse(self.text).ok()).as_ref()
    }

    /// What is at `pointer` (RFC 6901): from a `Value` when it holds no float (a float may be a
    /// rounded big integer), else exactly.
    pub(super) fn at(&self, pointer: &str) -> Option<Found<'_>> {
        if let Some(whole) = &self.whole {
            return match whole.pointer(pointer) {
                Some(v) if !has_float(v) => Some(Found::Value(v)),
                Some(_) => self.exact()?.pointer(pointer).map(Found::Exact),
                None => None,
            };
        }
        if let Some(Some(exact)) = self.exact.get() {
            return exact.pointer(pointer).map(Found::Exact);
        }
        match locate(self.text, pointer) {
            Ok(Some(raw)) => match serde_json::from_str::<Value>(raw.get()) {
                Ok(v) if !has_float(&v) => Some(Found::Owned(v)),
                _ => Exact::parse(raw.get()).ok().map(Found::OwnedExact),
            },
            Ok(None) => None,
            Err(_) => self.exact()?.pointer(pointer).map(Found::Exact),
        }
    }

    /// The value at `pointer` as a `Value`, for a capture.
    pub(super) fn capture(&self, pointer: &str) -> Option<Value> {
        match self.at(pointer)? {
            Found::Value(v) => Some(v.clone()),
            Found::Owned(v) => Some(v),
            Found::Exact(e) => serde_json::from_str(&e.to_string()).ok(),
            Found::OwnedExact(e) => serde_json::from_str(&e.to_string()).ok(),
        }
    }
}

/// A value found in a body, read either way.
pub(super) enum Found<'a> {
    Value(&'a Value),
    Exact(&'a Exact),
    Owned(Value),
    OwnedExact(Exact),
}

impl Found<'_> {
    pub(super) fn equals(&self, expected: &Value) -> bool {
        let value = |v: &Value| match has_float(expected) {
            false => v == expected,
            true => Exact::parse(&v.to_string()).is_ok_and(|e| e.equals(expected)),
        };
        match self {
            Found::Value(v) => value(v),
            Found::Owned(v) => value(v),
            Found::Exact(e) => e.equals(expected),
            Found::OwnedExact(e) => e.equals(expected),
        }
    }

    pub(super) fn array_len(&self) -> Option<usize> {
        match self {
            Found::Value(Value::Array(items)) | Found::Owned(Value::Array(items)) => Some(items.len()),
            Found::Exact(Exact::Array(items)) | Found::OwnedExact(Exact::Array(items)) => Some(items.len()),
            _ => None,
        }
    }
}

impl std::fmt::Display for Found<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::Value(v) => write!(f, "{v}"),
            Found::Owned(v) => write!(f, "{v}"),
            Found::Exact(e) => write!(f, "{e}"),
            Found::OwnedExact(e) => write!(f, "{e}"),
        }
    }
}

/// Whether a value holds a float anywhere (the numbers a `Value` may have rounded).
pub(super) fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

/// The text of the value at `pointer` in the JSON `text`, found in one pass that skips the rest.
fn locate<'a>(text: &'a str, pointer: &str) -> Result<Option<&'a RawValue>, serde_json::Error> {
    if pointer.is_empty() {
        return serde_json::from_str::<&RawValue>(text).map(Some);
    }
    let Some(rest) = pointer.strip_prefix('/') else { return Ok(None) };
    let tokens: Vec<String> = rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
    let mut d = serde_json::Deserializer::from_str(text);
    let found = Locate { tokens: &tokens }.deserialize(&mut d)?;
    d.end()?;
    Ok(found)
}

/// Walks to the value the remaining `tokens` name, skipping everything else.
#[derive(Clone, Copy)]
struct Locate<'t> {
    tokens: &'t [String],
}

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.tokens.is_empty() {
            true => <&'de RawValue as serde::Deserialize>::deserialize(d).map(Some),
            false => d.deserialize_any(self),
        }
    }
}

/// An array index as RFC 6901 and serde_json read one: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let wanted = index(&self.tokens[0]);
        let rest = Locate { tokens: &self.tokens[1..] };
        let (mut found, mut i) = (None, 0);
        loop {
            if Some(i) == wanted {
                match seq.next_element_seed(rest)? {
                    Some(f) => found = f,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let rest = Locate { tokens: &self.tokens[1..] };
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            // The last of repeated keys, as a parsed object keeps.
            if key == self.tokens[0].as_str() {
                found = map.next_value_seed(rest)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_is_found_by_walking_the_text_as_a_parsed_tree_would_find_it() {
        let text = r#"{"a": [{"b": 1}, {"b": [true, null, "x"]}], "a~/b": 2, "dup": 1, "dup": 2, "n": 3.5}"#;
        let tree: Value = serde_json::from_str(text).unwrap();
        let body = Body::read(text.as_bytes(), false).unwrap();
        for pointer in
            ["", "/a", "/a/1/b/2", "/a/0/b", "/a~0~1b", "/dup", "/n", "/a/2", "/a/01", "/x/y", "/a/0/b/c"]
        {
            let walked = body.capture(pointer);
            assert_eq!(walked.as_ref(), tree.pointer(pointer), "{pointer}");
        }
        assert!(body.at("/a").unwrap().array_len() == Some(2));
        assert!(body.at("/n").unwrap().equals(&serde_json::json!(3.50)));
    }

    #[test]
    fn numbers_beyond_a_value_are_read_exactly_and_what_is_not_json_is_refused() {
        let body = Body::read(br#"{"big": 18446744073709551617, "huge": 1e400}"#, false).unwrap();
        assert_eq!(body.at("/big").unwrap().to_string(), "18446744073709551617", "not rounded to a float");
        assert_eq!(body.at("/huge").unwrap().to_string(), "1e400");
        assert!(Body::read(b"{\"a\": ", false).is_err());
        assert!(Body::read(&[b'['; 100_000], false).is_err());
    }
}
