//! `${NAME}` and `${NAME:-default}` in config values, from the environment; `$${` is a literal
//! `${`.

/// A value whose `${...}` cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    #[error("unclosed `${{` in {text:?}")]
    Unclosed { text: String },
    #[error("environment variable {name} is not set; set it, or give a default as ${{{name}:-value}}")]
    Unset { name: String },
}

/// Expand `${NAME}` and `${NAME:-default}` from the environment; `$${` is a literal `${`.
pub fn interpolate(text: &str) -> Result<String, InterpolationError> {
    interpolate_with(text, |name| std::env::var(name).ok())
}

fn interpolate_with(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end =
                tail.find('}').ok_or_else(|| InterpolationError::Unclosed { text: text.to_string() })?;
            let expr = &tail[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            match (lookup(name).filter(|v| !v.is_empty()), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(InterpolationError::Unset { name: name.to_string() });
                }
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
        (name == "SET").then(|| "value".to_string())
    }

    #[test]
    fn interpolation_uses_env_then_default() {
        assert_eq!(interpolate_with("a ${SET} b", env).unwrap(), "a value b");
        assert_eq!(interpolate_with("${UNSET:-dflt}", env).unwrap(), "dflt");
        assert_eq!(interpolate_with("$${SET} $5", env).unwrap(), "${SET} $5");
        let err = interpolate_with("${UNSET}", env).unwrap_err().to_string();
        assert!(err.contains("UNSET is not set"), "{err}");
        assert!(matches!(interpolate_with("${OPEN", env), Err(InterpolationError::Unclosed { .. })));
    }
}
