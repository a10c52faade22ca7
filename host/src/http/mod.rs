//! HTTP for the runner and the seeder: build a request from a step's template, send it with a
//! timeout, and record the exchange, redacted, for reports.
//!
//! Checks see real values; records (everything written anywhere) see redacted ones.

pub mod transcript;

use crate::plan::model::{self, Body, Pair};
use crate::run::template::{self, TemplateError, Vars};
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// A request with templates resolved, ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub method: model::Method,
    pub url: reqwest::Url,
    pub headers: Vec<Pair>,
    pub body: Vec<u8>,
    /// Overrides the client's timeout for this request.
    pub timeout: Option<Duration>,
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub status: u16,
    pub headers: Vec<Pair>,
    pub body: Vec<u8>,
    pub latency: Duration,
}

impl Incoming {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("no response within {0:?} (timed out)")]
    Timeout(Duration),
    #[error("could not connect to {url}: {message} (is the service running?)")]
    Connect { url: String, message: String },
    #[error("request to {url} failed: {message}")]
    Other { url: String, message: String },
}

/// Install the process's TLS provider (ring) once; every HTTP client, ours or a library's, needs it.
pub fn ensure_tls_provider() {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Err means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with the TLS provider (ring) installed first. Every HTTP client of
/// the host comes from here: reqwest refuses to build one without a provider.
pub fn client_builder() -> reqwest::ClientBuilder {
    ensure_tls_provider();
    reqwest::Client::builder().user_agent(concat!("smoke/", env!("CARGO_PKG_VERSION")))
}

/// A shared HTTP client bound to one base URL.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    base: reqwest::Url,
    timeout: Duration,
}

impl Client {
    pub fn new(base_url: &str, timeout: Duration, concurrency: usize) -> Result<Self, String> {
        let mut base = reqwest::Url::parse(base_url)
            .map_err(|e| format!("base URL {base_url:?} is not a valid URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("base URL {base_url:?} must start with http:// or https://"));
        }
        // `join` treats the last segment as a file unless the path ends with `/`.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let inner = client_builder()
            .timeout(timeout)
            .pool_max_idle_per_host(concurrency.max(1))
            .redirect(reqwest::redirect::Policy::none())
            // One send is one exchange: what the transcript records is what was sent, and a
            // non-idempotent request is never repeated behind the plan's back.
            .retry(reqwest::retry::never())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client { inner, base, timeout })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Resolve a request template against the variables.
    pub fn build(&self, request: &model::Request, vars: &Vars) -> Result<Outgoing, TemplateError> {
        let path = template::render_path(&request.path, vars)?;
        let mut url = self.base.join(path.trim_start_matches('/')).unwrap_or_else(|_| self.base.clone());
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
            headers.push(Pair { name: h.name.clone(), value: template::render(&h.value, vars)? });
        }
        Ok(Outgoing { method: request.method, url, headers, body, timeout: None })
    }

    pub async fn send(&self, request: &Outgoing) -> Result<Incoming, SendError> {
        let method =
            reqwest::Method::from_bytes(request.method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self.inner.request(method, request.url.clone());
        for h in &request.headers {
            builder = builder.header(&h.name, &h.value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body.clone());
        }
        let limit = request.timeout.unwrap_or(self.timeout);
        if let Some(t) = request.timeout {
            builder = builder.timeout(t);
        }
        let classify = |e: reqwest::Error| {
            let url = request.url.to_string();
            if e.is_timeout() {
                SendError::Timeout(limit)
            } else if e.is_connect() {
                SendError::Connect { url, message: root_cause(&e) }
            } else {
                SendError::Other { url, message: root_cause(&e) }
            }
        };
        let started = Instant::now();
        let response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| Pair {
                name: name.as_str().to_string(),
                value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            })
            .collect();
        let body = response.bytes().await.map_err(classify)?.to_vec();
        Ok(Incoming { status, headers, body, latency: started.elapsed() })
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// What gets written about an exchange: redacted, bodies as text.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: Vec<Pair>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<Pair>,
    pub body: Option<String>,
    pub latency_ms: u64,
}

/// Removes secrets before anything is recorded: sensitive headers, sensitive JSON fields, and
/// secret values (tokens from config) wherever they appear. Values seen in sensitive fields and
/// headers are learned, so they are also removed where they reappear in free text (an expected
/// value, a failure message, a capture); clones share what is learned.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    headers: BTreeSet<String>,
    fields: BTreeSet<String>,
    secrets: Vec<String>,
    learned: std::sync::Arc<std::sync::RwLock<BTreeSet<String>>>,
}

pub const REDACTED: &str = "[REDACTED]";

impl Redactor {
    pub fn new() -> Self {
        let mut r = Redactor::default();
        for h in ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"] {
            r.headers.insert(h.into());
        }
        r
    }

    pub fn header(&mut self, name: &str) {
        self.headers.insert(name.to_ascii_lowercase());
    }

    pub fn field(&mut self, name: &str) {
        self.fields.insert(name.to_string());
    }

    /// A secret value: replaced wherever it appears. Very short values are ignored, since
    /// replacing them would shred unrelated text.
    pub fn secret(&mut self, value: &str) {
        if value.len() >= 4 && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_string());
        }
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        let learned = self.learned.read().unwrap_or_else(|e| e.into_inner());
        for s in self.secrets.iter().chain(learned.iter()) {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    /// Remember a sensitive value so free text never shows it (short values would shred text).
    fn learn(&self, value: &str) {
        if value.len() >= 4 && value != REDACTED {
            self.learned.write().unwrap_or_else(|e| e.into_inner()).insert(value.to_string());
        }
    }

    fn headers(&self, headers: &[Pair]) -> Vec<Pair> {
        headers
            .iter()
            .map(|h| Pair {
                name: h.name.clone(),
                value: if self.headers.contains(&h.name.to_ascii_lowercase()) {
                    self.learn(h.value.strip_prefix("Bearer ").unwrap_or(&h.value));
                    REDACTED.to_string()
                } else {
                    self.text(&h.value)
                },
            })
            .collect()
    }

    fn json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.fields.contains(k) {
                        match &*v {
                            serde_json::Value::String(s) => self.learn(s),
                            serde_json::Value::Object(_)
                            | serde_json::Value::Array(_)
                            | serde_json::Value::Null => {}
                            other => self.learn(&other.to_string()),
                        }
                        *v = serde_json::Value::String(REDACTED.into());
                    } else {
                        self.json(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    pub fn body(&self, body: &[u8]) -> Option<String> {
        if body.is_empty() {
            return None;
        }
        if !self.fields.is_empty()
            && let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body)
        {
            self.json(&mut value);
            return Some(self.text(&value.to_string()));
        }
        Some(self.text(&String::from_utf8_lossy(body)))
    }

    pub fn request(&self, r: &Outgoing) -> RequestRecord {
        RequestRecord {
            method: r.method.as_str().to_string(),
            url: self.text(r.url.as_str()),
            headers: self.headers(&r.headers),
            body: self.body(&r.body),
        }
    }

    pub fn response(&self, r: &Incoming) -> ResponseRecord {
        ResponseRecord {
            status: r.status,
            headers: self.headers(&r.headers),
            body: self.body(&r.body),
            latency_ms: r.latency.as_millis() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_urls_under_the_base_path_with_encoded_values() {
        let client = Client::new("http://127.0.0.1:9/api", Duration::from_secs(1), 1).unwrap();
        let mut vars = Vars::new();
        vars.insert("id".into(), json!("x/y"));
        let request = model::Request {
            method: model::Method::Get,
            path: "/accounts/{{id}}".into(),
            query: vec![Pair { name: "q".into(), value: "a&b".into() }],
            headers: vec![],
            body: None,
        };
        let out = client.build(&request, &vars).unwrap();
        assert_eq!(out.url.as_str(), "http://127.0.0.1:9/api/accounts/x%2Fy?q=a%26b");
    }

    #[test]
    fn json_bodies_get_a_content_type_and_rendered_values() {
        let client = Client::new("http://127.0.0.1:9", Duration::from_secs(1), 1).unwrap();
        let mut vars = Vars::new();
        vars.insert("n".into(), json!(5));
        let request = model::Request {
            method: model::Method::Post,
            path: "/x".into(),
            query: vec![],
            headers: vec![],
            body: Some(Body::Json(json!({"n": "{{n}}"}))),
        };
        let out = client.build(&request, &vars).unwrap();
        assert_eq!(out.body, br#"{"n":5}"#);
        assert_eq!(out.headers[0].value, "application/json");
    }

    #[test]
    fn redaction_covers_headers_fields_and_secret_values() {
        let mut r = Redactor::new();
        r.field("ssn");
        r.secret("s3cr3t-token");
        let record = r.request(&Outgoing {
            method: model::Method::Post,
            url: reqwest::Url::parse("http://h/x?token=s3cr3t-token").unwrap(),
            headers: vec![Pair { name: "Authorization".into(), value: "Bearer s3cr3t-token".into() }],
            body: br#"{"ssn":"123-45-6789","name":"Ann"}"#.to_vec(),
            timeout: None,
        });
        let text = serde_json::to_string(&record).unwrap();
        assert!(!text.contains("s3cr3t-token"), "{text}");
        assert!(!text.contains("123-45-6789"), "{text}");
        assert!(text.contains("Ann"));
    }
}
