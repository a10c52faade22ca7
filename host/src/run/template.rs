//! `{{name}}` templates: resolve variables from seeds and earlier captures into requests and
//! expected values. An undefined variable is an error naming it; a request is never sent with an
//! unresolved `{{name}}` in it. `\{{` is a literal `{{` (for services with templates of their own).
//! `{{name|last-segment}}` (host feature `template.last-segment`) is the last path segment of the
//! value, percent-decoded: the id in a captured `Location: /things/42`.

use serde_json::Value;
use std::collections::BTreeMap;

/// Variables visible to a step: name to JSON value.
pub type Vars = BTreeMap<String, Value>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "undefined variable {{{{{name}}}}} (it must be captured by a seed or an earlier step or dependency)"
    )]
    Undefined { name: String },
    #[error("unclosed `{{{{` in {text:?}")]
    Unclosed { text: String },
    #[error("{{{{{expression}}}}}: {problem}")]
    Filter { expression: String, problem: String },
}

/// The variable every step sees (host feature `template.run`): a token new in each run, as long
/// as its template `{{smoke.run}}` (13 characters), so a value a plugin made to fit a length
/// still fits. A plugin appends it to what must be unique across runs against one service (a
/// SKU, a code), which must not collide with what an earlier run left.
pub const RUN: &str = "smoke.run";

/// The variables every step starts with: `smoke.run`, this run's token (13 lowercase letters
/// and digits, from the clock and the process id).
pub fn run_vars() -> Vars {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut n = nanos ^ (u128::from(std::process::id()) << 64);
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let token: String = (0..13)
        .map(|_| {
            let d = digits[(n % 36) as usize] as char;
            n /= 36;
            d
        })
        .collect();
    Vars::from([(RUN.to_string(), Value::String(token))])
}

/// The filters a template may apply: `{{name|filter}}`.
pub const FILTERS: &[&str] = &["last-segment"];

/// The value of one template expression, `name` or `name|filter`.
fn lookup(expression: &str, vars: &Vars) -> Result<Value, TemplateError> {
    let (name, filter) = match expression.split_once('|') {
        Some((name, filter)) => (name.trim(), Some(filter.trim())),
        None => (expression, None),
    };
    let value = vars.get(name).ok_or_else(|| TemplateError::Undefined { name: name.to_string() })?;
    let Some(filter) = filter else { return Ok(value.clone()) };
    let problem = |problem: String| TemplateError::Filter { expression: expression.to_string(), problem };
    match filter {
        "last-segment" => last_segment(&value_text(value))
            .map(Value::String)
            .ok_or_else(|| problem(format!("{:?} has no path segment to take", value_text(value)))),
        other => Err(problem(format!("unknown filter `{other}` (this smoke has: {})", FILTERS.join(", ")))),
    }
}

/// The last non-empty path segment of a URL or path, percent-decoded: `/things/42/?x=1` gives
/// `42`, `https://h/a/b%20c` gives `b c`.
fn last_segment(text: &str) -> Option<String> {
    let path = text.split(['?', '#']).next().unwrap_or_default();
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => path,
    };
    let segment = path.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty())?;
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8().ok()?;
    (!decoded.is_empty()).then(|| decoded.into_owned())
}

/// The text form of a value: strings without quotes, everything else as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replace every `{{name}}` in `text`, passing each value's text through `encode`.
pub fn render_with(
    text: &str,
    vars: &Vars,
    encode: impl Fn(&str) -> String,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if rest[..start].ends_with('\\') {
            // `\{{`: a literal `{{`, up to and including its `}}`.
            out.push_str(&rest[..start - 1]);
            let literal_end = rest[start..].find("}}").map_or(rest.len(), |e| start + e + 2);
            out.push_str(&rest[start..literal_end]);
            rest = &rest[literal_end..];
            continue;
        }
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed { text: text.to_string() })?;
        let value = lookup(after[..end].trim(), vars)?;
        out.push_str(&encode(&value_text(&value)));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replace every `{{name}}` in `text` with the value's text.
pub fn render(text: &str, vars: &Vars) -> Result<String, TemplateError> {
    render_with(text, vars, str::to_string)
}

/// Render a path: substituted values are percent-encoded so they stay one path segment.
pub fn render_path(path: &str, vars: &Vars) -> Result<String, TemplateError> {
    render_with(path, vars, |v| {
        percent_encoding::utf8_percent_encode(v, crate::http::PATH_SEGMENT).to_string()
    })
}

/// Whether a JSON value holds a `{{` anywhere (a key or a string), so rendering could change it.
pub fn has_templates(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("{{"),
        Value::Array(items) => items.iter().any(has_templates),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains("{{") || has_templates(v)),
        _ => false,
    }
}

/// Render templates inside a JSON value. A string that is exactly `{{name}}` becomes the
/// variable's JSON value (keeping numbers numbers); other strings get text substitution.
pub fn render_json(value: &Value, vars: &Vars) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => match whole_variable(s) {
            Some(expression) => lookup(expression, vars)?,
            None => Value::String(render(s, vars)?),
        },
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| render_json(v, vars)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((render(k, vars)?, render_json(v, vars)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

/// `Some(name)` when `s` is exactly one `{{name}}`.
fn whole_variable(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.insert("id".into(), json!("a b/c"));
        v.insert("amount".into(), json!(1250));
        v.insert("token".into(), json!("t0k"));
        v
    }

    #[test]
    fn text_substitution_uses_value_text() {
        assert_eq!(render("Bearer {{token}}", &vars()).unwrap(), "Bearer t0k");
        assert_eq!(render("{{ amount }} units", &vars()).unwrap(), "1250 units");
    }

    #[test]
    fn undefined_variables_are_errors_naming_them() {
        assert_eq!(render("/x/{{nope}}", &vars()), Err(TemplateError::Undefined { name: "nope".into() }));
        assert!(matches!(render("/x/{{id", &vars()), Err(TemplateError::Unclosed { .. })));
    }

    #[test]
    fn path_values_are_encoded_as_one_segment() {
        assert_eq!(render_path("/accounts/{{id}}", &vars()).unwrap(), "/accounts/a%20b%2Fc");
    }

    #[test]
    fn whole_string_variables_keep_their_json_type() {
        let body = json!({"amount": "{{amount}}", "memo": "pay {{amount}}", "list": ["{{id}}"]});
        assert_eq!(
            render_json(&body, &vars()).unwrap(),
            json!({"amount": 1250, "memo": "pay 1250", "list": ["a b/c"]})
        );
    }

    #[test]
    fn last_segment_takes_the_id_from_a_location() {
        let mut v = vars();
        for (location, id) in [
            ("/things/42", "42"),
            ("/things/42/", "42"),
            ("https://api.example/v2/things/a%20b?x=1#top", "a b"),
            ("things/7", "7"),
            ("9", "9"),
        ] {
            v.insert("loc".into(), json!(location));
            assert_eq!(render("{{ loc | last-segment }}", &v).unwrap(), id, "{location}");
            assert_eq!(render_json(&json!("{{loc|last-segment}}"), &v).unwrap(), json!(id));
        }
        // In a path the id is encoded again, as one segment.
        v.insert("loc".into(), json!("/things/a%2Fb"));
        assert_eq!(render_path("/x/{{loc|last-segment}}", &v).unwrap(), "/x/a%2Fb");
        for empty in ["", "/", "https://api.example", "https://api.example/?x=1"] {
            v.insert("loc".into(), json!(empty));
            let e = render("{{loc|last-segment}}", &v).unwrap_err();
            assert!(e.to_string().contains("no path segment"), "{empty:?}: {e}");
        }
        let e = render("{{loc|upper}}", &v).unwrap_err();
        assert!(
            e.to_string().contains("unknown filter `upper`") && e.to_string().contains("last-segment"),
            "{e}"
        );
        assert_eq!(
            render("{{nope|last-segment}}", &v),
            Err(TemplateError::Undefined { name: "nope".into() })
        );
    }

    #[test]
    fn the_run_token_is_as_long_as_its_template_and_new_in_each_run() {
        let a = run_vars();
        let token = render("{{smoke.run}}", &a).unwrap();
        assert_eq!(token.len(), "{{smoke.run}}".len());
        assert!(token.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{token}");
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_ne!(render("{{smoke.run}}", &run_vars()).unwrap(), token);
    }

    #[test]
    fn an_escaped_template_is_sent_literally() {
        assert_eq!(
            render(r"\{{steps.a.output}} and {{token}}", &vars()).unwrap(),
            "{{steps.a.output}} and t0k"
        );
        let body = json!({"input": r"\{{steps.a.output}} world"});
        assert_eq!(render_json(&body, &vars()).unwrap(), json!({"input": "{{steps.a.output}} world"}));
    }
}
