//! `${NAME}` and `${NAME:-default}` in config values, from the environment; a default may hold
//! `${...}` itself (`${A:-${B:-x}}`); `$${` is a literal `${`. Every value taken from the
//! environment is reported, so the run treats it as a secret wherever it would appear.

/// A value whose `${...}` cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    #[error("unclosed `${{` in {text:?}: each `${{` needs its `}}` (write `$${{` for a literal `${{`)")]
    Unclosed { text: String },
    #[error("environment variable {name} is not set; set it, or give a default as ${{{name}:-value}}")]
    Unset { name: String },
    #[error("{name:?} in {text:?} is not a variable name (letters, digits and `_`)")]
    BadName { name: String, text: String },
    #[error("`${{...}}` nested more than {MAX_NESTING} deep in {text:?}")]
    TooDeep { text: String },
}

/// The deepest nesting of defaults (`${A:-${B:-${C}}}` is 3).
const MAX_NESTING: usize = 8;

/// Expand `${NAME}` and `${NAME:-default}` from the environment; `$${` is a literal `${`.
/// Values taken from the environment are added to `from_env`.
pub fn interpolate(text: &str, from_env: &mut Vec<String>) -> Result<String, InterpolationError> {
    interpolate_with(text, &|name| std::env::var(name).ok(), from_env, 0)
}

/// Where the `}` that closes a `${` is, in `tail` (the text after that `${`): nested `${`
/// counted, `$${` skipped.
fn closing(tail: &str) -> Option<usize> {
    let bytes = tail.as_bytes();
    let (mut depth, mut i) = (0usize, 0);
    while i < bytes.len() {
        if bytes[i..].starts_with(b"$${") {
            i += 3;
        } else if bytes[i..].starts_with(b"${") {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'}' {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
            i += 1;
        } else {
            i += 1;
        }
    }
    None
}

fn interpolate_with(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    from_env: &mut Vec<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    if depth > MAX_NESTING {
        return Err(InterpolationError::TooDeep { text: text.to_string() });
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = closing(tail).ok_or_else(|| InterpolationError::Unclosed { text: text.to_string() })?;
            let expr = &tail[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(InterpolationError::BadName { name: name.to_string(), text: text.to_string() });
            }
            match (lookup(name).filter(|v| !v.is_empty()), default) {
                (Some(v), _) => {
                    out.push_str(&v);
                    from_env.push(v);
                }
                (None, Some(d)) => out.push_str(&interpolate_with(d, lookup, from_env, depth + 1)?),
                (None, None) => return Err(InterpolationError::Unset { name: name.to_string() }),
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".to_string()),
            "B" => Some("bee".to_string()),
            _ => None,
        }
    }

    fn expand(text: &str) -> Result<String, InterpolationError> {
        interpolate_with(text, &env, &mut Vec::new(), 0)
    }

    #[test]
    fn interpolation_uses_env_then_default() {
        assert_eq!(expand("a ${SET} b").unwrap(), "a value b");
        assert_eq!(expand("${UNSET:-dflt}").unwrap(), "dflt");
        assert_eq!(expand("$${SET} $5").unwrap(), "${SET} $5");
        let err = expand("${UNSET}").unwrap_err().to_string();
        assert!(err.contains("UNSET is not set"), "{err}");
        assert!(matches!(expand("${OPEN"), Err(InterpolationError::Unclosed { .. })));
    }

    #[test]
    fn defaults_nest_and_what_is_malformed_is_refused() {
        assert_eq!(expand("${A:-${B}}").unwrap(), "bee", "was `value}}` once");
        assert_eq!(expand("${A:-${C:-x}}-${SET}").unwrap(), "x-value");
        assert_eq!(expand("${A:-$${B}}").unwrap(), "${B}");
        assert!(matches!(expand("${A:-${B}"), Err(InterpolationError::Unclosed { .. })));
        assert!(matches!(expand("${A B}"), Err(InterpolationError::BadName { .. })));
        let deep = format!("{}x{}", "${A:-".repeat(12), "}".repeat(12));
        assert!(matches!(expand(&deep), Err(InterpolationError::TooDeep { .. })));
    }

    #[test]
    fn values_from_the_environment_are_reported_and_defaults_are_not() {
        let mut secrets = Vec::new();
        interpolate_with("--password=${SET} ${UNSET:-plain} ${A:-${B}}", &env, &mut secrets, 0).unwrap();
        assert_eq!(secrets, ["value", "bee"]);
    }
}
