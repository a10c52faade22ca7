//! JSON and YAML documents parsed within a budget of nodes. JSON text costs what it holds; YAML
//! can say much more than it holds (an alias repeats its anchor's whole subtree, so 340 KB of
//! anchors aliased 20,000 times is gigabytes of values). Every node the parse makes is counted,
//! aliases' copies included, and the parse stops at the budget, before the memory is spent.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::Cell;

/// Nodes a document of `bytes` bytes may make: a dense document makes about one node per three
/// bytes, so five times that leaves room for aliases used as templates, never for a bomb.
pub fn budget(bytes: usize) -> usize {
    bytes.saturating_mul(2).max(100_000)
}

/// Why a document cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("invalid JSON: {message}")]
    Json { message: String, line: usize, column: usize },
    #[error("invalid YAML: {message}")]
    Yaml { message: String, line: Option<usize>, column: Option<usize> },
    #[error(
        "the document expands past {budget} values (its YAML aliases repeat parts of it over and over: \
         a document bomb?); nothing of it is used"
    )]
    TooBig { budget: usize },
    #[error("the document is not UTF-8: {0}")]
    NotUtf8(std::str::Utf8Error),
}

impl ParseError {
    /// The line and column the error is at, when known.
    pub fn at(&self) -> Option<(usize, usize)> {
        match self {
            ParseError::Json { line, column, .. } => Some((*line, *column)),
            ParseError::Yaml { line: Some(l), column: Some(c), .. } => Some((*l, *c)),
            _ => None,
        }
    }
}

/// Parse JSON (when the text starts with `{` or `[`), else YAML, making at most `budget` values.
pub fn parse(bytes: &[u8], budget: usize) -> Result<Value, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(ParseError::NotUtf8)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(text).map_err(|e| ParseError::Json {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        });
    }
    parse_yaml(text, budget)
}

/// YAML's first document, making at most `budget` values.
pub fn parse_yaml(text: &str, budget: usize) -> Result<Value, ParseError> {
    let left = Cell::new(budget);
    let deserializer = serde_norway::Deserializer::from_str(text);
    let parsed = Seed { left: &left }.deserialize(deserializer);
    match parsed {
        Ok(value) => Ok(value),
        Err(_) if left.get() == 0 => Err(ParseError::TooBig { budget }),
        Err(e) => {
            let at = e.location();
            Err(ParseError::Yaml {
                message: e.to_string(),
                line: at.as_ref().map(|l| l.line()),
                column: at.as_ref().map(|l| l.column()),
            })
        }
    }
}

/// Makes a JSON value, spending one from `left` for every value made.
#[derive(Clone, Copy)]
struct Seed<'a> {
    left: &'a Cell<usize>,
}

impl Seed<'_> {
    fn spend<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.left.get() {
            0 => Err(E::custom("the document's budget of values is spent")),
            n => {
                self.left.set(n - 1);
                Ok(())
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON-like value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(self)? {
            let key = match key {
                Value::String(s) => s,
                // YAML keys may be numbers or booleans; JSON's are text.
                other => other.to_string(),
            };
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_read_as_the_same_values() {
        let json = parse(br#"{"a": [1, true, null, "x"], "b": {"c": 1.5}}"#, 100).unwrap();
        let yaml = parse(b"a: [1, true, null, x]\nb:\n  c: 1.5\n", 100).unwrap();
        assert_eq!(json, yaml);
        let aliased = parse(b"base: &b {x: 1}\none: *b\ntwo: *b\n1: numbers as keys\n", 100).unwrap();
        assert_eq!(aliased["two"]["x"], 1);
        assert_eq!(aliased["1"], "numbers as keys");
    }

    #[test]
    fn an_alias_bomb_is_refused_at_its_budget_in_bounded_time() {
        // One flat anchor of 10,000 values, aliased 20,000 times: 200 million values, from 240 KB.
        let mut text = String::from("a: &a [");
        text.push_str(&vec!["1"; 10_000].join(","));
        text.push_str("]\nb: [");
        text.push_str(&vec!["*a"; 20_000].join(","));
        text.push_str("]\n");
        let started = std::time::Instant::now();
        let e = parse(text.as_bytes(), budget(text.len())).unwrap_err();
        assert!(matches!(e, ParseError::TooBig { .. }), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        // The classic: each level doubles the last.
        let mut laughs = String::from("l0: &l0 [lol, lol]\n");
        for i in 1..40 {
            laughs.push_str(&format!("l{i}: &l{i} [*l{p}, *l{p}]\n", p = i - 1));
        }
        let e = parse(laughs.as_bytes(), budget(laughs.len())).unwrap_err();
        assert!(e.to_string().contains("limit") || matches!(e, ParseError::TooBig { .. }), "{e}");
    }

    #[test]
    fn bad_yaml_says_where() {
        let e = parse(b"a: [1, 2\nb: }", 100).unwrap_err();
        assert!(matches!(e, ParseError::Yaml { .. }), "{e}");
        assert!(e.at().is_some(), "{e}");
        let e = parse(b"{\"a\": }", 100).unwrap_err();
        assert_eq!(e.at(), Some((1, 7)));
    }
}
