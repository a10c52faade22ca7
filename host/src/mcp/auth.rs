//! The protocol check `authorization`: a Streamable HTTP server the run sends credentials to,
//! asked without them, must answer 401 with a `WWW-Authenticate` challenge; when it publishes
//! OAuth protected-resource metadata (RFC 9728, as MCP's authorization has it), that metadata's
//! `resource` must be the server's URL and name an authorization server whose own metadata
//! (RFC 8414) is there. Checked without a browser and without a token.

use super::CallError;
use super::http::Watched;
use super::raw::{Outcome, Verdict};
use serde_json::{Value, json};
use std::time::Duration;

/// Run the check against the MCP endpoint `url`.
pub async fn check(client: &Watched, url: &str, meta: Option<&Value>, timeout: Duration) -> Verdict {
    let mut params = json!({});
    if let Some(meta) = meta {
        params["_meta"] = meta.clone();
    }
    let body = json!({"jsonrpc": "2.0", "id": "smoke-protocol-check-authorization", "method": "tools/list", "params": params});
    let mut sent = format!("POST {} without Authorization\n{body}", crate::http::shown_url(url));
    let not_applicable = |sent: String, why: String| Verdict::of(sent, None, Outcome::NotApplicable(why));
    let no_answer = |sent: String, e: super::http::RawError| Verdict {
        sent,
        answer: None,
        outcome: Outcome::NoAnswer(CallError::Protocol(e.to_string())),
    };
    let raw = match client.raw_post(url, &body, &[("Authorization", ""), ("Cookie", "")], timeout).await {
        Ok(raw) => raw,
        Err(e) => return no_answer(sent, e),
    };
    let got = format!(
        "HTTP {}{}",
        raw.status,
        raw.challenge.as_deref().map(|c| format!(", WWW-Authenticate: {c}")).unwrap_or_default()
    );
    let broken = |sent: String, got: String, why: String| Verdict {
        sent,
        answer: Some(got),
        outcome: Outcome::Broken(why),
    };
    match raw.status {
        401 => {}
        200..=299 => {
            let why = "the server served a request without credentials (HTTP 2xx): they are not required, so \
                       there is no challenge to check";
            return not_applicable(sent, why.into());
        }
        status => {
            let why = format!(
                "a request without credentials was answered HTTP {status}, not 401 (RFC 9110, 15.5.2)"
            );
            return broken(sent, got, why);
        }
    }
    let Some(challenge) = raw.challenge.clone() else {
        let why =
            "a 401 came with no WWW-Authenticate challenge (RFC 9110, 11.6.1: it must have one)".to_string();
        return broken(sent, got, why);
    };
    // Where the metadata is: named by the challenge, else at its well-known place.
    let named = parameter(&challenge, "resource_metadata");
    let places = match &named {
        Some(at) => vec![at.clone()],
        None => well_known(url, "oauth-protected-resource"),
    };
    let mut found = None;
    for place in &places {
        sent.push_str(&format!("\nGET {}", crate::http::shown_url(place)));
        match client.raw_get(place, timeout).await {
            Ok((200, Some(doc))) => {
                found = Some((place.clone(), doc));
                break;
            }
            Ok((status, _)) if named.is_some() => {
                let why = format!(
                    "the challenge names protected-resource metadata at {place}, which answers HTTP {status}, not its JSON"
                );
                return broken(sent, got, why);
            }
            Ok(_) => {}
            Err(e) if named.is_some() => return no_answer(sent, e),
            Err(_) => {}
        }
    }
    let Some((place, metadata)) = found else {
        let why = "the server asks for credentials but publishes no OAuth protected-resource metadata (RFC 9728), \
                   neither in its challenge nor at the well-known place: its credentials are not MCP's OAuth \
                   authorization (an API key)";
        return not_applicable(sent, why.into());
    };
    let got = format!("{got}; {place}: {}", clip(&metadata.to_string()));
    let resource = metadata.get("resource").and_then(Value::as_str).unwrap_or_default();
    if !same_resource(resource, url) {
        let why = format!(
            "the protected-resource metadata names the resource {resource:?}, not this server's URL {:?} (RFC 9728, 3.3; MCP, Authorization)",
            crate::http::shown_url(url)
        );
        return broken(sent, got, why);
    }
    let servers: Vec<&str> = metadata
        .get("authorization_servers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(issuer) = servers.first() else {
        let why = "the protected-resource metadata names no authorization server (MCP, Authorization: it must name one)";
        return broken(sent, got, why.into());
    };
    authorization_server(client, issuer, sent, got, timeout).await
}

/// The authorization server `issuer` publishes its own metadata, with that issuer.
async fn authorization_server(
    client: &Watched,
    issuer: &str,
    mut sent: String,
    got: String,
    timeout: Duration,
) -> Verdict {
    // RFC 8414's place, OpenID Connect's with the path inserted, then with it appended.
    let appended = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let places = well_known(issuer, "oauth-authorization-server")
        .into_iter()
        .chain(well_known(issuer, "openid-configuration"))
        .chain(std::iter::once(appended));
    let same = |i: &str| i.trim_end_matches('/') == issuer.trim_end_matches('/');
    let mut unreachable = None;
    for place in places {
        sent.push_str(&format!("\nGET {}", crate::http::shown_url(&place)));
        match client.raw_get(&place, timeout).await {
            Ok((200, Some(doc))) if doc.get("issuer").and_then(Value::as_str).is_some_and(same) => {
                return Verdict::of(sent, Some(got), Outcome::Holds);
            }
            Ok(_) => {}
            Err(e) => unreachable = Some(e),
        }
    }
    if let Some(e) = unreachable {
        return Verdict {
            sent,
            answer: None,
            outcome: Outcome::NoAnswer(CallError::Protocol(e.to_string())),
        };
    }
    let why = format!(
        "the authorization server {issuer:?} the metadata names publishes no metadata of its own with that issuer (RFC 8414, \
         OpenID Connect Discovery) at its well-known places"
    );
    Verdict::of(sent, Some(got), Outcome::Broken(why))
}

/// A parameter of a challenge (`resource_metadata="https://..."`).
fn parameter(challenge: &str, name: &str) -> Option<String> {
    let at = challenge.find(&format!("{name}="))? + name.len() + 1;
    let rest = &challenge[at..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split([',', ' ']).next()?,
    };
    (!value.is_empty()).then(|| value.to_string())
}

/// Where `kind` metadata of `url` is at its well-known place: with the URL's path after it, then
/// at the root (RFC 9728, 3.1; RFC 8414, 3.1).
fn well_known(url: &str, kind: &str) -> Vec<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else { return Vec::new() };
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    let mut places = Vec::new();
    if !path.is_empty() {
        places.push(format!("{origin}/.well-known/{kind}{path}"));
    }
    places.push(format!("{origin}/.well-known/{kind}"));
    places
}

/// Whether a metadata `resource` names the server at `url` (a trailing slash aside).
fn same_resource(resource: &str, url: &str) -> bool {
    let norm = |u: &str| u.trim_end_matches('/').to_ascii_lowercase();
    !resource.is_empty() && norm(resource) == norm(url)
}

fn clip(text: &str) -> String {
    let cut: String = text.chars().take(300).collect();
    crate::http::escape_line(&cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_names_its_metadata_and_well_known_places_follow_the_path() {
        let c = r#"Bearer error="invalid_token", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#;
        assert_eq!(
            parameter(c, "resource_metadata").as_deref(),
            Some("https://api.example.com/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(parameter("Bearer", "resource_metadata"), None);
        assert_eq!(
            well_known("https://api.example.com/mcp", "oauth-protected-resource"),
            [
                "https://api.example.com/.well-known/oauth-protected-resource/mcp",
                "https://api.example.com/.well-known/oauth-protected-resource"
            ]
        );
        assert!(same_resource("https://api.example.com/mcp/", "https://api.example.com/mcp"));
        assert!(!same_resource("https://api.example.com/other", "https://api.example.com/mcp"));
    }
}
