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
    let (mut url, path_at) = client.url(&path)?;
    if !request.query.is_empty() {
        // Appended form-encoded by the URL parser (the path and origin stay as they are).
        let mut parsed = url::Url::parse(&url).map_err(|_| {
            BuildError::OffTarget(OffTarget {
                path: path.clone(),
                reason: "is not a valid URL path once joined to the base URL",
            })
        })?;
        {
            let mut pairs = parsed.query_pairs_mut();
            for q in &request.query {
                pairs.append_pair(&template::render(&q.name, vars)?, &template::render(&q.value, vars)?);
            }
        }
        url = parsed.into();
    }
    let mut headers = Vec::with_capacity(request.headers.len() + 1);
    let (body, content_type) = match &request.body {
        None => (Vec::new(), None),
        Some(Body::Json(value)) => (
            template::render_json(value, vars)?.to_string().into_bytes(),
            Some("application/json".to_string()),
        ),
        Some(Body::Text(text)) => (template::render(text, vars)?.into_bytes(), None),
        Some(Body::Form(fields)) => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for f in fields {
                form.append_pair(&template::render(&f.name, vars)?, &template::render(&f.value, vars)?);
            }
            (form.finish().into_bytes(), Some("application/x-www-form-urlencoded".to_string()))
        }
        Some(Body::Multipart(parts)) => {
            let (bytes, boundary) = multipart(parts, vars)?;
            (bytes, Some(format!("multipart/form-data; boundary={boundary}")))
        }
        Some(Body::Bytes(raw)) => (raw.content.clone(), Some(raw.content_type.clone())),
    };
    if let Some(value) = content_type
        && !request.headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-type"))
    {
        headers.push(Pair { name: "content-type".into(), value });
    }
    for h in &request.headers {
        if let Some(reason) = crate::plan::validate::off_target_header(&h.name) {
            return Err(BuildError::OffTarget(OffTarget { path: format!("header {}", h.name), reason }));
        }
        headers.push(Pair { name: h.name.clone(), value: template::render(&h.value, vars)? });
    }
    Ok(Outgoing { method: request.method.clone(), url, path_at, headers, body, timeout: None })
}

/// A `multipart/form-data` body (RFC 7578) and its boundary. The boundary is derived from the
/// content, so the same plan sends the same bytes, and is never found inside the content.
fn multipart(parts: &[model::MultipartPart], vars: &Vars) -> Result<(Vec<u8>, String), BuildError> {
    use sha2::Digest;
    let mut rendered = Vec::with_capacity(parts.len());
    let mut hash = sha2::Sha256::new();
    for p in parts {
        let content = match &p.content {
            model::PartContent::Text(text) => template::render(text, vars)?.into_bytes(),
            model::PartContent::Bytes(bytes) => bytes.clone(),
        };
        hash.update(&content);
        rendered.push((p, content));
    }
    let digest = hex::encode(hash.finalize());
    let mut boundary = format!("smoke-{}", &digest[..24]);
    while rendered.iter().any(|(_, c)| c.windows(boundary.len()).any(|w| w == boundary.as_bytes())) {
        boundary.push('x');
    }
    // Names and file names as browsers send them (the WHATWG form-data encoding RFC 7578
    // section 2 defers to): a quote or a line break, which would end the header early, is
    // percent-encoded; everything else is sent as it is.
    let quoted = |s: &str| s.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A");
    let mut out = Vec::new();
    for (p, content) in rendered {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition =
            format!("content-disposition: form-data; name=\"{}\"", quoted(&template::render(&p.name, vars)?));
        if let Some(filename) = &p.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quoted(&template::render(filename, vars)?)));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        let default_type = match p.content {
            model::PartContent::Text(_) => "text/plain; charset=utf-8",
            model::PartContent::Bytes(_) => "application/octet-stream",
        };
        let content_type = p.content_type.as_deref().unwrap_or(default_type).replace(['\r', '\n'], " ");
        out.extend_from_slice(format!("content-type: {content_type}\r\n\r\n").as_bytes());
        out.extend_from_slice(&content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((out, boundary))
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
        assert_eq!(out.url, "http://127.0.0.1:9/api/accounts/x%2Fy?q=a%26b");
        assert_eq!(&out.url[out.path_at..], "/api/accounts/x%2Fy?q=a%26b");
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

    #[test]
    fn multipart_names_are_encoded_as_browsers_do_and_the_same_parts_give_the_same_bytes() {
        let client =
            Client::new("http://127.0.0.1:9", Duration::from_secs(1), 1, crate::http::DEFAULT_MAX_BODY)
                .unwrap();
        let mut vars = Vars::new();
        vars.insert("who".into(), json!("ann"));
        let part = |name: &str, filename: Option<&str>, content| model::MultipartPart {
            name: name.into(),
            filename: filename.map(Into::into),
            content_type: None,
            content,
        };
        let request = model::Request {
            method: model::Method::Post,
            path: "/up".into(),
            query: vec![],
            headers: vec![],
            body: Some(Body::Multipart(vec![
                part("a\"b\r\nc\\d", None, model::PartContent::Text("hi {{who}}".into())),
                part("f", Some("x\".bin"), model::PartContent::Bytes(vec![0, 255])),
            ])),
        };
        let out = build(&client, &request, &vars).unwrap();
        let again = build(&client, &request, &vars).unwrap();
        assert_eq!(out.body, again.body, "deterministic");
        let boundary = out.headers[0].value.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8_lossy(&out.body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")), "{text}");
        assert!(text.contains("name=\"a%22b%0D%0Ac\\d\""), "{text}");
        assert!(text.contains("filename=\"x%22.bin\""), "{text}");
        assert!(text.contains("\r\n\r\nhi ann\r\n"), "{text}");
        assert!(text.ends_with(&format!("--{boundary}--\r\n")), "{text}");
    }
}
