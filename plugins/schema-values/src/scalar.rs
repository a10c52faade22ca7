//! Strings and numbers a schema accepts, every constraint checked together (lengths, pattern,
//! format, bounds, `multipleOf`), and the check itself, for examples and enum values.

use crate::pattern::{MAX_MADE_LENGTH, matching, pattern_matches};
use crate::{Resolver, Why, types};
use serde_json::{Value, json};

/// A string for `s`: its format's usual value, else one its pattern matches, else a name unique
/// to the scenario, each only if it meets every constraint of `s`.
pub(crate) fn string(s: &Value, name: &str, r: &mut dyn Resolver) -> Result<String, Why> {
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    let max = s.get("maxLength").and_then(Value::as_u64);
    if let Some(max) = max.filter(|max| min > *max) {
        return Err(Why::Lengths { min, max });
    }
    if min > MAX_MADE_LENGTH as u64 {
        return Err(Why::TooLong { min });
    }
    let (min, max) = (min as usize, max.map(|m| usize::try_from(m).unwrap_or(usize::MAX)));
    let fits = |text: &str| {
        let len = text.chars().count();
        len >= min && max.is_none_or(|m| len <= m)
    };
    let format = s.get("format").and_then(Value::as_str).filter(|f| known_format(f));
    let pattern = s.get("pattern").and_then(Value::as_str);
    let matches = |text: &str| pattern.is_none_or(|p| pattern_matches(p, text) == Some(true));
    if let Some(format) = format {
        if let Some(text) = format_value(format, min, r).filter(|t| fits(t) && matches(t)) {
            return Ok(text);
        }
        // The pattern's own value, if it is of the format too.
        let made = pattern.map(|p| matching(p, min, max));
        if let Some(Ok(text)) = &made
            && format_holds(format, text)
        {
            return Ok(text.clone());
        }
        return Err(match (pattern, made) {
            (Some(_), Some(Err(why))) => why,
            (Some(pattern), _) => Why::FormatPattern { format: format.into(), pattern: pattern.into() },
            (None, _) => Why::FormatLength { format: format.into(), min, max },
        });
    }
    if let Some(pattern) = pattern {
        // Distinct in each scenario and place, as strings without a pattern are: a serial, a
        // code or a slug a service keeps unique must not be the same in every create.
        let base = matching(pattern, min, max)?;
        // A pattern shaped like a date or a time (`^\d{4}-\d{2}-\d{2}$`) gets a real one, as
        // its format would: `0000-00-00` matches, and no service takes it.
        // (Shaped as the pattern's own value is: a pattern that takes any text takes a date too.)
        let shape = |text: &str| -> String {
            text.chars().map(|c| if c.is_ascii_digit() { '9' } else { c }).collect()
        };
        for shaped in ["2000-01-01", "2000-01-01T00:00:00Z", "00:00:00"] {
            if shape(shaped) == shape(&base) && fits(shaped) && matches(shaped) {
                return Ok(shaped.to_string());
            }
        }
        let unique = r.unique(name);
        if fits(&unique) && matches(&unique) {
            // With the run's token where the pattern takes any token the host may render (13
            // lowercase letters and digits: tried on three such) and it fits.
            if let Some(run) = r.per_run() {
                let with = |token: &str| format!("{unique}-{token}");
                let samples = ["0123456789abc", "zzzzzzzzzzzzz", "0000000000000"];
                if samples.iter().all(|t| t.len() == run.len() && fits(&with(t)) && matches(&with(t))) {
                    return Ok(with(run));
                }
            }
            return Ok(unique);
        }
        return Ok(crate::pattern::distinct(pattern, &base, &unique, min, max).unwrap_or(base));
    }
    let mut text = r.unique(name);
    // Unique across runs too, where the caller has a token for it and it fits.
    if let Some(run) = r.per_run() {
        let longer = format!("{text}-{run}");
        if max.is_none_or(|max| longer.chars().count() <= max) {
            text = longer;
        }
    }
    let short = min.saturating_sub(text.chars().count());
    text.extend(std::iter::repeat_n('x', short));
    if let Some(max) = max {
        text = text.chars().take(max).collect();
    }
    Ok(text)
}

/// Formats this crate makes values of and checks: others (`password`, `int64`, a house format)
/// are annotations it cannot check, and are left to the other constraints.
fn known_format(format: &str) -> bool {
    matches!(format, "uuid" | "date" | "date-time" | "email" | "uri" | "url" | "ipv4" | "byte")
}

/// The usual value of a format, `min` characters long where the format has room to grow (an
/// email's local part).
fn format_value(format: &str, min: usize, r: &mut dyn Resolver) -> Option<String> {
    Some(match format {
        "uuid" => "00000000-0000-4000-8000-000000000001".to_string(),
        "date" => "2000-01-01".to_string(),
        "date-time" => "2000-01-01T00:00:00Z".to_string(),
        "email" => {
            let mut local = r.unique("user");
            let short = min.saturating_sub(local.chars().count() + "@example.com".len());
            local.extend(std::iter::repeat_n('x', short));
            format!("{local}@example.com")
        }
        "uri" | "url" => "https://example.com/".to_string(),
        "ipv4" => "192.0.2.1".to_string(),
        // Base64 of "smoke".
        "byte" => "c21va2U=".to_string(),
        _ => return None,
    })
}

/// Whether `text` is of `format`, as far as a value here needs telling: a pattern's value for a
/// date must be a date (`0000-00-00` is not).
fn format_holds(format: &str, text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let date = |d: &str| {
        let parts: Vec<&str> = d.split('-').collect();
        parts.len() == 3
            && parts[0].len() == 4
            && parts.iter().all(|p| digits(p))
            && parts[1].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
            && parts[2].len() == 2
            && parts[2].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
    };
    match format {
        "uuid" => {
            text.len() == 36
                && text
                    .char_indices()
                    .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
        }
        "date" => date(text),
        "date-time" => {
            text.len() >= 20
                && text.is_char_boundary(10)
                && date(&text[..10])
                && matches!(&text[10..11], "T" | "t")
        }
        "email" => {
            text.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
        }
        "uri" | "url" => text.split_once(':').is_some_and(|(scheme, _)| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }),
        "ipv4" => {
            let parts: Vec<&str> = text.split('.').collect();
            parts.len() == 4 && parts.iter().all(|p| digits(p) && p.len() <= 3 && p.parse::<u8>().is_ok())
        }
        "byte" => {
            text.len().is_multiple_of(4)
                && text
                    .trim_end_matches('=')
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        }
        _ => true,
    }
}

/// The bounds a number must keep: `(value, exclusive)`.
struct Bounds {
    low: Option<(f64, bool)>,
    high: Option<(f64, bool)>,
    multiple: Option<f64>,
    integer: bool,
}

impl Bounds {
    /// OpenAPI 3.0's `exclusiveMinimum: true` beside `minimum`, and 3.1's number, the stricter
    /// of the two when both are given.
    fn of(s: &Value) -> Bounds {
        let bound = |plain: &str, exclusive: &str, stricter: fn(f64, f64) -> bool| {
            let mut b =
                s.get(plain).and_then(Value::as_f64).map(|v| (v, s.get(exclusive) == Some(&json!(true))));
            if let Some(e) = s.get(exclusive).and_then(Value::as_f64)
                && b.is_none_or(|(v, _)| !stricter(v, e))
            {
                b = Some((e, true));
            }
            b
        };
        Bounds {
            low: bound("minimum", "exclusiveMinimum", |a, b| a > b),
            high: bound("maximum", "exclusiveMaximum", |a, b| a < b),
            multiple: s.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0),
            integer: types(s).first() == Some(&"integer"),
        }
    }

    fn holds(&self, v: f64) -> bool {
        let above = self.low.is_none_or(|(l, exclusive)| if exclusive { v > l } else { v >= l });
        let below = self.high.is_none_or(|(h, exclusive)| if exclusive { v < h } else { v <= h });
        let whole = !self.integer || (v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0);
        let multiple = self.multiple.is_none_or(|m| {
            let q = v / m;
            (q - q.round()).abs() <= 1e-9 * q.abs().max(1.0)
        });
        v.is_finite() && above && below && whole && multiple
    }

    /// The least value at or above `from` these bounds could take (not yet checked).
    fn least_from(&self, from: f64) -> f64 {
        let exclusive = self.low.is_some_and(|(l, e)| e && l == from);
        match self.multiple {
            Some(m) => {
                let k = (from / m).ceil();
                let v = k * m;
                if exclusive && v <= from { (k + 1.0) * m } else { v }
            }
            None if self.integer => {
                if exclusive {
                    from.floor() + 1.0
                } else {
                    from.ceil()
                }
            }
            None if exclusive => match self.high {
                Some((h, _)) if h - from < 2.0 => from + (h - from) / 2.0,
                _ => from + 1.0,
            },
            None => from,
        }
    }

    /// The greatest value at or below the upper bound (not yet checked).
    fn greatest(&self) -> Option<f64> {
        let (h, exclusive) = self.high?;
        Some(match self.multiple {
            Some(m) => {
                let k = (h / m).floor();
                if exclusive && k * m >= h { (k - 1.0) * m } else { k * m }
            }
            None if self.integer => {
                if exclusive {
                    h.ceil() - 1.0
                } else {
                    h.floor()
                }
            }
            None if exclusive => h - 1.0,
            None => h,
        })
    }

    /// The constraints, as a person would read them in the document.
    fn describe(&self, s: &Value) -> String {
        let keys = ["type", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf"];
        keys.iter().filter_map(|k| s.get(*k).map(|v| format!("{k} {v}"))).collect::<Vec<_>>().join(", ")
    }
}

/// A number within the bounds of `s`, of its `multipleOf`, whole for an integer: a small
/// positive one where allowed (quantities and prices are rarely zero), else the least or the
/// greatest the bounds allow.
pub(crate) fn number(s: &Value) -> Result<Value, Why> {
    let b = Bounds::of(s);
    let mut candidates = vec![1.0];
    if let Some((low, _)) = b.low {
        candidates.push(b.least_from(low.max(1.0)));
        candidates.push(b.least_from(low));
    } else if let Some(m) = b.multiple {
        candidates.push(m);
    }
    candidates.extend(b.greatest());
    candidates.extend([0.0, -1.0]);
    let found = candidates.into_iter().find(|v| b.holds(*v)).ok_or_else(|| Why::Number(b.describe(s)))?;
    Ok(if b.integer { json!(found as i64) } else { json!(found) })
}

/// Whether `value` meets what `s` says of a value of its kind: type, lengths, pattern, format,
/// bounds, enum and const. Objects and arrays are taken as they are (an example of a whole body
/// is the document's word).
pub(crate) fn holds(s: &Value, value: &Value) -> bool {
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return false;
    }
    if s.get("const").is_some_and(|c| c != value) {
        return false;
    }
    let declared = s.get("type").is_some();
    let allowed = types(s);
    let nullable = s.get("nullable") == Some(&json!(true))
        || s.get("type").and_then(Value::as_array).is_some_and(|t| t.contains(&json!("null")))
        || s.get("type") == Some(&json!("null"));
    let of_type = |t: &str| !declared || allowed.contains(&t);
    match value {
        Value::Null => nullable || !declared,
        Value::Bool(_) => of_type("boolean"),
        Value::Number(n) => {
            let v = n.as_f64().unwrap_or(f64::NAN);
            let integer = v.fract() == 0.0;
            (of_type("number") || (integer && of_type("integer"))) && {
                let mut b = Bounds::of(s);
                b.integer = !of_type("number");
                b.holds(v)
            }
        }
        Value::String(text) => {
            let len = text.chars().count() as u64;
            of_type("string")
                && s.get("minLength").and_then(Value::as_u64).is_none_or(|m| len >= m)
                && s.get("maxLength").and_then(Value::as_u64).is_none_or(|m| len <= m)
                && s.get("pattern")
                    .and_then(Value::as_str)
                    .is_none_or(|p| pattern_matches(p, text) == Some(true))
                && s.get("format").and_then(Value::as_str).is_none_or(|f| format_holds(f, text))
        }
        Value::Array(_) => of_type("array"),
        Value::Object(_) => of_type("object"),
    }
}

#[cfg(test)]
mod tests {
    use super::{holds, number};
    use crate::Why;
    use serde_json::json;

    #[test]
    fn numbers_keep_exclusive_bounds_multiples_and_whole_minimums() {
        let n = |s| number(&s).unwrap();
        assert_eq!(n(json!({"type": "integer"})), json!(1));
        assert_eq!(n(json!({"type": "integer", "minimum": 5})), json!(5));
        assert_eq!(n(json!({"type": "integer", "minimum": -10, "maximum": -5})), json!(-10));
        assert_eq!(
            n(json!({"type": "integer", "minimum": 0, "maximum": 1, "exclusiveMaximum": true})),
            json!(0)
        );
        assert_eq!(n(json!({"type": "integer", "exclusiveMaximum": 1})), json!(0), "OpenAPI 3.1's number");
        assert_eq!(n(json!({"type": "integer", "minimum": 1.5})), json!(2), "a whole number above 1.5");
        assert_eq!(n(json!({"type": "integer", "multipleOf": 5})), json!(5));
        assert_eq!(n(json!({"type": "integer", "minimum": 7, "multipleOf": 5})), json!(10));
        assert_eq!(n(json!({"type": "number", "exclusiveMinimum": 0, "maximum": 0.5})), json!(0.25));
        assert_eq!(n(json!({"type": "number", "minimum": 0.01, "multipleOf": 0.01})), json!(1.0));
        let e = number(&json!({"type": "integer", "minimum": 3, "maximum": 4, "multipleOf": 5})).unwrap_err();
        assert_eq!(e, Why::Number("type \"integer\", minimum 3, maximum 4, multipleOf 5".into()));
    }

    #[test]
    fn examples_and_enum_values_are_held_to_the_other_constraints() {
        let s = json!({"type": "string", "pattern": r"^(?=.*\d)[a-z\d]{4}$", "maxLength": 4});
        assert!(holds(&s, &json!("ab12")));
        assert!(!holds(&s, &json!("abcd")), "the look-ahead");
        assert!(!holds(&s, &json!(1234)), "the type");
        assert!(!holds(&json!({"type": "integer", "maximum": 3}), &json!(4)));
        assert!(!holds(&json!({"type": "string", "format": "date"}), &json!("0000-00-00")));
        assert!(holds(&json!({"type": "integer", "nullable": true}), &json!(null)));
    }
}
