//! Requests from templates: a step's request with `{{var}}` filled in, its path joined under
//! the base URL (never leaving it), ready for the client to send.

use crate::http::{Client, OffTarget, Outgoing};
use crate::plan::model::{self, Body, Pair};
use crate::run::template::{self, TemplateError, Vars};

/// A request that cannot be built: a template that does not resolve, or a path that would
/// leave the target.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    OffTarget(#[from] OffTarget),
}

/// Resolve a request template against the variables.
pub fn build(client: &Client, request: &model::Request, vars: &Vars) -> Result<Outgoing, BuildError> {
    let path = template::render_path(&request.path, vars)?;
    let mut url = client.url(&path)?;
    if !request.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for q in &request.query {
            pairs.append_pair(&template::render(&q.name, vars)?, &template::render(&q.value, vars)?);
        }
    }
    let mut headers = Vec::with_capacity(request.headers.len() + 1);
    let body = match &request.body {
        None => Vec::new(),
        Some(Body::Json(value)) => {
            if !request.headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-type")) {
                headers.push(Pair { name: "content-type".into(), value: "application/json".into() });
            }
            template::render_json(value, vars)?.to_string().into_bytes()
        }
        Some(Body::Text(text)) => template::render(text, vars)?.into_bytes(),
    };
    for h in &request.headers {
        if let Some(reason) = crate::plan::validate::off_target_header(&h.name) {
            return Err(BuildError::OffTarget(OffTarget { path: format!("header {}", h.name), reason }));
        }
        headers.push(Pair { name: h.name.clone(), value: template::render(&h.value, vars)? });
    }
    Ok(Outgoing { method: request.method, url, headers, body, timeout: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn builds_urls_under_the_base_path_with_encoded_values() {
        let client =
            Client::new("http://127.0.0.1:9/api", Duration::from_secs(1), 1, crate::http::DEFAULT_MAX_BODY)
                .unwrap();
        let mut vars = Vars::new();
        vars.insert("id".into(), json!("x/y"));
        let request = model::Request {
            method: model::Method::Get,
            path: "/accounts/{{id}}".into(),
            query: vec![Pair { name: "q".into(), value: "a&b".into() }],
            headers: vec![],
            body: None,
        };
        let out = build(&client, &request, &vars).unwrap();
        assert_eq!(out.url.as_str(), "http://127.0.0.1:9/api/accounts/x%2Fy?q=a%26b");
    }

    #[test]
    fn json_bodies_get_a_content_type_and_rendered_values() {
        let client =
            Client::new("http://127.0.0.1:9", Duration::from_secs(1), 1, crate::http::DEFAULT_MAX_BODY)
                .unwrap();
        let mut vars = Vars::new();
        vars.insert("n".into(), json!(5));
        let request = model::Request {
            method: model::Method::Post,
            path: "/x".into(),
            query: vec![],
            headers: vec![],
            body: Some(Body::Json(json!({"n": "{{n}}"}))),
        };
        let out = build(&client, &request, &vars).unwrap();
        assert_eq!(out.body, br#"{"n":5}"#);
        assert_eq!(out.headers[0].value, "application/json");
    }
}
