//! What smoke's example services share: fault switches from `FAULTS`, JSON input parsing with
//! clear 4xx errors, and serving on 127.0.0.1 until SIGTERM or Ctrl-C.
//!
//! Each example keeps its own domain rules; only the plumbing lives here.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The fault switches that are on, read from `FAULTS` (comma-separated).
#[derive(Debug, Default, Clone)]
pub struct Faults(Vec<String>);

impl Faults {
    /// Read `FAULTS`, refusing (exit 2) a name not in `known`.
    pub fn from_env(service: &str, known: &[(&str, &str)]) -> Faults {
        let on: Vec<String> = std::env::var("FAULTS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(String::from)
            .collect();
        for f in &on {
            if !known.iter().any(|(name, _)| name == f) {
                eprintln!("{service}: unknown fault {f:?}; --list-faults prints the known ones");
                std::process::exit(2);
            }
        }
        if !on.is_empty() {
            eprintln!("{service}: FAULTS ON: {}", on.join(", "));
        }
        Faults(on)
    }

    pub fn on(&self, name: &str) -> bool {
        self.0.iter().any(|f| f == name)
    }
}

/// The command line the examples share: `--port N` (else `PORT`, else 8080), `--list-faults`
/// (prints the fault names and exits 0), and the service's own numeric options with defaults.
/// Anything else prints the usage and exits 2.
pub struct Cli {
    pub port: u16,
    options: Vec<(&'static str, u32)>,
}

impl Cli {
    pub fn parse(service: &str, known: &[(&str, &str)], options: &[(&'static str, u32)]) -> Cli {
        let usage = || -> ! {
            let extra: String = options.iter().map(|(name, _)| format!(" [{name} N]")).collect();
            eprintln!("usage: {service} [--port N]{extra} [--list-faults]; faults from FAULTS");
            std::process::exit(2);
        };
        let mut cli = Cli {
            port: std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080),
            options: options.to_vec(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            if arg == "--list-faults" {
                list_faults(known);
                std::process::exit(0);
            }
            let value = args.next().and_then(|v| v.parse::<u32>().ok()).unwrap_or_else(|| usage());
            if arg == "--port" {
                cli.port = u16::try_from(value).unwrap_or_else(|_| usage());
            } else if let Some(option) = cli.options.iter_mut().find(|(name, _)| *name == arg) {
                option.1 = value;
            } else {
                usage();
            }
        }
        cli
    }

    /// The value of one of the service's own options.
    pub fn option(&self, name: &str) -> u32 {
        self.options.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).expect("a declared option")
    }
}

/// Lock a mutex, carrying on after a panic in another request: the examples' state stays
/// usable, and a request that panicked has already failed on its own.
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Print the fault names, one per line (`--list-faults`).
pub fn list_faults(known: &[(&str, &str)]) {
    for (name, _) in known {
        println!("{name}");
    }
}

/// An error response: a status and `{"error": code, "message": text}`.
pub struct ApiError(pub StatusCode, pub &'static str, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({"error": self.1, "message": self.2}))).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("database error: {e}"))
    }
}

/// 422 `validation_error`.
pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, "validation_error", message.into())
}

/// 404 `not_found` naming what was looked for.
pub fn not_found(what: &str, id: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "not_found", format!("no {what} with id {id:?}"))
}

pub type ApiResult = Result<Response, ApiError>;

/// A JSON response with this status.
pub fn reply(status: StatusCode, body: Value) -> ApiResult {
    Ok((status, axum::Json(body)).into_response())
}

/// Parse a JSON object body: 415 without a JSON content type, 400 for malformed JSON, 422 for a
/// value that is not an object.
pub fn object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send content-type: application/json".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("the body must be a JSON object")),
        Err(e) => Err(ApiError(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

/// A required, non-empty string field.
pub fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(invalid(format!("{field} must not be empty"))),
        Some(_) => Err(invalid(format!("{field} must be a string"))),
        None => Err(invalid(format!("{field} is required"))),
    }
}

/// Whether the request carries `Authorization: Bearer <token>`.
pub fn has_bearer(headers: &HeaderMap, token: &str) -> bool {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    given.and_then(|g| g.strip_prefix("Bearer ")) == Some(token)
}

/// 401 with `WWW-Authenticate: Bearer`.
pub fn unauthorized() -> Response {
    let mut response =
        ApiError(StatusCode::UNAUTHORIZED, "unauthorized", "send Authorization: Bearer <token>".into())
            .into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
    response
}

/// A fixed one-minute window of requests per client: `limit` requests, then 429 with
/// `Retry-After` until the window ends.
pub struct RateLimiter {
    limit: u32,
    windows: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32) -> Self {
        RateLimiter { limit, windows: Default::default() }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Count one request of `client`: `None` if it is allowed, else the 429 response to send.
    pub fn admit(&self, client: &str) -> Option<Response> {
        let seconds = {
            let mut windows = lock(&self.windows);
            let now = std::time::Instant::now();
            let window = windows.entry(client.to_string()).or_insert((now, 0));
            if now.duration_since(window.0) >= std::time::Duration::from_secs(60) {
                *window = (now, 0);
            }
            window.1 += 1;
            (window.1 > self.limit).then(|| 60 - now.duration_since(window.0).as_secs().min(59))
        }?;
        let mut response = ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("more than {} requests this minute; retry in {seconds} s", self.limit),
        )
        .into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        Some(response)
    }
}

/// The client a request comes from, for rate limits: `X-Client-Id`, else "anonymous".
pub fn client_id(headers: &HeaderMap) -> &str {
    headers.get("x-client-id").and_then(|v| v.to_str().ok()).unwrap_or("anonymous")
}

/// What every example serves around its own API: `GET /health`, `GET /openapi.json` (its OpenAPI
/// document, as it is) and a JSON 404 for any other route. With `EXAMPLE_REQUEST_LOG=FILE` in its
/// environment, each request's method and path is appended to FILE as it arrives (the tests read
/// it to see what a run sent).
pub fn around<S: Clone + Send + Sync + 'static>(api: Router<S>, openapi_document: &'static str) -> Router<S> {
    let openapi = move || async move {
        ([(header::CONTENT_TYPE, "application/json")], openapi_document).into_response()
    };
    Router::new()
        .route("/health", axum::routing::get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/openapi.json", axum::routing::get(openapi))
        .merge(api)
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "not_found", "no such route".into()) })
        .layer(axum::middleware::from_fn(log_request))
}

/// Append `METHOD /path` to the file `EXAMPLE_REQUEST_LOG` names, if it names one.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(file) = std::env::var_os("EXAMPLE_REQUEST_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
            // One write a line: requests in flight at once never interleave theirs.
            let _ = f.write_all(format!("{} {}\n", request.method(), request.uri().path()).as_bytes());
        }
    }
    next.run(request).await
}

/// An integer field: required, within `min..=max`.
pub fn integer(body: &Map<String, Value>, field: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    match body.get(field) {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(invalid(format!("{field} must be an integer from {min} to {max}; got {n}"))),
        },
        Some(other) => Err(invalid(format!("{field} must be an integer; got {other}"))),
        None => Err(invalid(format!("{field} is required"))),
    }
}

/// Serve `router` on 127.0.0.1:`port` until SIGTERM or Ctrl-C; exit 1 if that is impossible.
pub async fn serve(service: &str, port: u16, router: Router, banner: &str) {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{service}: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("{service}: listening on http://127.0.0.1:{port}{banner}");
    let name = service.to_string();
    let shutdown = async move {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        eprintln!("{name}: shutting down");
    };
    // Small writes (an SSE event after its headers) go out at once, not after the peer's delayed
    // ACK: without this every streamed answer waits about 40 ms.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
        eprintln!("{service}: server error: {e}");
        std::process::exit(1);
    }
}
