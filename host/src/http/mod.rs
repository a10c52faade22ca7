//! HTTP for the runner and the seeder: join paths under the base URL (never leaving it), send
//! with a timeout and a body limit, and record the exchange, redacted, for reports.
//!
//! Checks see real values; records (everything written anywhere) see redacted ones.

mod conn;
pub mod reach;
mod redact;
mod tls;

pub use crate::text::{escape, escape_line};
pub use redact::{
    MAX_MESSAGE_BYTES, RECORDED_BODY_BYTES, REDACTED, Redactor, RequestRecord, ResponseRecord, clip_text,
};
pub use tls::{Named, TlsError, TlsOptions};

use crate::plan::model::{self, Pair};
use std::time::{Duration, Instant};

/// A request with templates resolved, ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub method: model::Method,
    /// The whole URL, under the base URL ([`Client::url`] made it so).
    pub url: String,
    /// Where its path starts: `url[path_at..]` is the request target (path and query).
    pub path_at: usize,
    pub headers: Vec<Pair>,
    pub body: Vec<u8>,
    /// Overrides the client's timeout for this request.
    pub timeout: Option<Duration>,
}

/// A response as received. The body holds at most the client's body limit; a larger body is
/// cut there and `oversize` says so.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub status: u16,
    pub headers: Vec<Pair>,
    /// Indices of the headers whose value was not UTF-8: shown with U+FFFD, equal to no text.
    pub not_utf8: Vec<usize>,
    pub body: Vec<u8>,
    pub latency: Duration,
    /// Set when the body was larger than the limit: reading stopped there.
    pub oversize: Option<Oversize>,
    /// Why the first try failed, when a request was sent twice (a pooled connection the server
    /// had already closed).
    pub retried: Option<String>,
    /// The connection it came over (smoke's own connections) and its place there (1: the first
    /// response on it).
    pub connection: Option<(u64, u32)>,
}

/// A body over the limit: the limit, and its size if the server declared it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversize {
    pub limit: u64,
    pub declared: Option<u64>,
}

impl std::fmt::Display for Oversize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.declared {
            Some(size) => write!(f, "the body is {size} bytes, over the limit of {} bytes", self.limit),
            None => write!(f, "the body is over the limit of {} bytes; reading stopped there", self.limit),
        }?;
        f.write_str(" (raise it with --max-body or [run] max-body)")
    }
}

impl Incoming {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The same response without its body (cheap to make: a copy of its head).
    pub fn without_body(&self) -> Incoming {
        Incoming {
            status: self.status,
            headers: self.headers.clone(),
            not_utf8: self.not_utf8.clone(),
            body: Vec::new(),
            latency: self.latency,
            oversize: self.oversize,
            retried: self.retried.clone(),
            connection: self.connection,
        }
    }

    /// The first header with this name (case-insensitive), as shown (a value that is not UTF-8
    /// with U+FFFD where its bytes are not).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// The value of the field with this name as text to compare byte for byte: every line of it
    /// joined by `, ` (RFC 9110 section 5.3), so a field sent twice (`X-Frame-Options: DENY`
    /// and `ALLOWALL`) is judged whole, never by its first line alone; `Err(shown)` when a line
    /// is not UTF-8, and so equal to no text.
    pub fn header_text(&self, name: &str) -> Option<Result<std::borrow::Cow<'_, str>, NotUtf8>> {
        let lines: Vec<usize> =
            (0..self.headers.len()).filter(|&i| self.headers[i].name.eq_ignore_ascii_case(name)).collect();
        let value = match lines.as_slice() {
            [] => return None,
            [one] => std::borrow::Cow::Borrowed(self.headers[*one].value.as_str()),
            many => std::borrow::Cow::Owned(
                many.iter().map(|&i| self.headers[i].value.as_str()).collect::<Vec<_>>().join(", "),
            ),
        };
        Some(match lines.iter().any(|i| self.not_utf8.contains(i)) {
            true => Err(NotUtf8 { shown: value.into_owned() }),
            false => Ok(value),
        })
    }
}

/// A header field with a line that is not UTF-8, and so equal to no text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("not UTF-8 ({shown:?} with U+FFFD for its other bytes)")]
pub struct NotUtf8 {
    /// The field's value, with U+FFFD where its bytes are not UTF-8.
    pub shown: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    #[error("no response within {} (timed out)", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error(
        "the response's head came (status {status}) but its body did not end within {} (timed out)",
        humantime::format_duration(*.limit)
    )]
    BodyTimeout { limit: Duration, status: u16 },
    #[error("could not connect to {url}: {message} (is the service running?)")]
    Connect { url: String, message: String },
    #[error("the connection to {url} was closed or reset before a response arrived: {message}")]
    Reset { url: String, message: String },
    #[error(
        "TLS with {url} failed: {message} (--cacert FILE trusts the service's CA; --insecure-target trusts any certificate)"
    )]
    Tls { url: String, message: String },
    #[error("request to {url} failed: {message}")]
    Other { url: String, message: String },
}

/// A path that would leave the base URL's origin or base path.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the path {path:?} {reason}; nothing was sent")]
pub struct OffTarget {
    pub path: String,
    pub reason: &'static str,
}

/// Whether a path (or, with `query`, a query) holds only characters a URL parser keeps as they
/// are: unreserved and sub-delimiters, `:` `@` `/`, `?` in a query, and `%` escapes.
fn plain(text: &str, query: bool) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let kept = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) || (query && b == b'?');
        if b == b'%' {
            let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !kept {
            return false;
        }
        i += 1;
    }
    true
}

/// Install the process's TLS provider (ring) once; every HTTP client, ours or a library's, needs it.
pub fn ensure_tls_provider() {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Err means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with the TLS provider (ring) installed first and the platform's
/// roots ([`tls::platform_config`]; a client for the target replaces them with its own). Every
/// HTTP client of the host comes from here: reqwest refuses to build one without a provider, and
/// its own verifier refuses to build one on a machine with no certificate authorities, even for
/// plain HTTP.
pub fn client_builder() -> reqwest::ClientBuilder {
    ensure_tls_provider();
    reqwest::Client::builder()
        .user_agent(concat!("smoke/", env!("CARGO_PKG_VERSION")))
        .use_preconfigured_tls(rustls::ClientConfig::clone(&tls::platform_config()))
}

/// How a value is encoded into one path segment: everything but unreserved characters.
pub const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The default limit of a response body: 16 MiB.
pub const DEFAULT_MAX_BODY: u64 = 16 << 20;

/// Why the client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("base URL {url:?} is not a valid URL: {message}")]
    BadUrl { url: String, message: String },
    #[error("base URL {url:?} must start with http:// or https://")]
    Scheme { url: String },
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A shared HTTP client bound to one base URL: a plain `http://` one is sent over smoke's own
/// pool of HTTP/1.1 connections ([`conn`]), anything else (TLS, a proxy from the environment)
/// through reqwest.
#[derive(Clone)]
pub struct Client {
    via: std::sync::Arc<Via>,
    base: reqwest::Url,
    timeout: Duration,
    max_body: u64,
}

/// How requests are sent.
enum Via {
    /// smoke's own HTTP/1.1 connections to a plain `http://` base URL.
    Direct(conn::Pool),
    /// reqwest (TLS, a proxy); `fresh` is the same client without a connection pool: a retry
    /// goes over a new connection, never over another idle one the server may have closed too.
    Reqwest { inner: reqwest::Client, fresh: reqwest::Client },
}

/// Whether the environment names a proxy for this scheme (reqwest honours it; smoke's own
/// connections do not, so such a run goes through reqwest).
fn proxy_configured(scheme: &str, host: &str) -> bool {
    let names: &[&str] = match scheme {
        "https" => &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"],
        _ => &["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"],
    };
    let set = names.iter().any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    let no_proxy =
        ["no_proxy", "NO_PROXY"].iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    set && !no_proxy.is_some_and(|list| bypasses(&list, host))
}

/// Whether a `NO_PROXY` list names `host`, as curl and reqwest read one: `*`, the host itself, a
/// domain and its subdomains (`example.com`, `.example.com`), an address, or a network
/// (`10.0.0.0/8`).
fn bypasses(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    list.split(',').map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        if let (Some(ip), Some((network, bits))) = (ip, entry.split_once('/')) {
            return in_network(ip, network, bits);
        }
        let domain = entry.trim_start_matches('.');
        host == domain || host.ends_with(&format!(".{domain}"))
    })
}

/// Whether `ip` is in the network `network/bits`.
fn in_network(ip: std::net::IpAddr, network: &str, bits: &str) -> bool {
    use std::net::IpAddr;
    let (Ok(network), Ok(bits)) = (network.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
    let (a, b, width) = match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    shift == width || (a >> shift) == (b >> shift)
}

/// `user:password` from a URL's user info, percent-decoded.
pub fn credentials(url: &reqwest::Url) -> Option<(String, String)> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    Some((decode(url.username()), decode(url.password().unwrap_or(""))))
}

/// The user info of a URL as written (`scheme://INFO@host...`), found without parsing it, so
/// even a URL that does not parse never shows its password.
fn userinfo_text(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some((start, at))
}

/// `user:password` as written in a URL's user info (percent-decoded), parsed or not.
pub fn credentials_text(url: &str) -> Option<(String, String)> {
    let (start, at) = userinfo_text(url)?;
    let info = &url[start..at];
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let (user, password) = info.split_once(':').unwrap_or((info, ""));
    Some((decode(user), decode(password)))
}

/// A URL as it may be shown: without user info, whether it parses or not.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if credentials(&u).is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => match userinfo_text(url) {
            Some((start, at)) => format!("{}{}", &url[..start], &url[at + 1..]),
            None => url.to_string(),
        },
    }
}

/// smoke's own pool of connections to the base URL's host, with what every request carries.
fn direct(
    base: &reqwest::Url,
    host: &str,
    port: u16,
    tls: Option<conn::Tls>,
    headers: &reqwest::header::HeaderMap,
    concurrency: usize,
    max_body: u64,
) -> Result<conn::Pool, ClientError> {
    let mut defaults = Vec::new();
    for (name, value) in headers {
        let value = value.to_str().map_err(|e| ClientError::Build(e.to_string()))?;
        defaults.push((name.as_str().to_string(), value.to_string()));
    }
    defaults.push(("user-agent".into(), concat!("smoke/", env!("CARGO_PKG_VERSION")).into()));
    defaults.push(("accept".into(), "*/*".into()));
    let host_header = match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let defaults = conn::Defaults { host: host_header, headers: defaults };
    // Idle connections kept: as many as run at once, and room for a burst's.
    let keep = concurrency.max(1).saturating_mul(2).max(64);
    Ok(conn::Pool::new(host, port, tls, keep, defaults, max_body))
}

impl Client {
    /// A client for `base_url`, with the platform's TLS roots for an `https://` one.
    pub fn new(
        base_url: &str,
        timeout: Duration,
        concurrency: usize,
        max_body: u64,
    ) -> Result<Self, ClientError> {
        Client::with_tls(base_url, timeout, concurrency, max_body, &TlsOptions::default())
    }

    /// A client for `base_url`. User info in it (`http://user:pass@host`) becomes a basic
    /// `Authorization` header and is removed from the URL, so no URL smoke shows carries it.
    /// `http://` and `https://` go over smoke's own connections ([`conn`]); only a proxy from
    /// the environment sends through reqwest, with the same TLS settings.
    pub fn with_tls(
        base_url: &str,
        timeout: Duration,
        concurrency: usize,
        max_body: u64,
        tls: &TlsOptions,
    ) -> Result<Self, ClientError> {
        let mut base = reqwest::Url::parse(base_url)
            .map_err(|e| ClientError::BadUrl { url: shown_url(base_url), message: e.to_string() })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::Scheme { url: shown_url(base_url) });
        }
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some((user, password)) = credentials(&base) {
            use base64::Engine as _;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|e| ClientError::Build(e.to_string()))?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        base.set_query(None);
        base.set_fragment(None);
        // Paths are appended to the base path, which therefore ends with `/`.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        // Built only for https: it reads the platform's certificates.
        let tls_config = match base.scheme() {
            "https" => Some(tls::client_config(tls)?),
            _ => None,
        };
        let via = match (base.host_str(), base.port_or_known_default()) {
            (Some(host), Some(port)) if !proxy_configured(base.scheme(), host) => {
                let connector = match &tls_config {
                    Some(config) => Some(conn::tls(config.clone(), host)?),
                    None => None,
                };
                Via::Direct(direct(&base, host, port, connector, &headers, concurrency, max_body)?)
            }
            _ => {
                let build = |idle: usize| {
                    let mut builder = client_builder()
                        .timeout(timeout)
                        .default_headers(headers.clone())
                        .pool_max_idle_per_host(idle)
                        .redirect(reqwest::redirect::Policy::none())
                        // One send is one exchange: what the transcript records is what was sent,
                        // and a non-idempotent request is never repeated behind the plan's back.
                        .retry(reqwest::retry::never())
                        .http1_only();
                    if let Some(config) = &tls_config {
                        builder = builder.use_preconfigured_tls(rustls::ClientConfig::clone(config));
                    }
                    builder.build().map_err(|e| ClientError::Build(e.to_string()))
                };
                Via::Reqwest { inner: build(concurrency.max(1))?, fresh: build(0)? }
            }
        };
        Ok(Client { via: std::sync::Arc::new(via), base, timeout, max_body })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The run's time limit of one request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How long to wait, once no request is left, before [`Client::out_of_step`] looks at the idle
    /// connections: a few times the service's usual answer time (zero through a proxy, which has
    /// no such check).
    pub fn grace(&self) -> Duration {
        match &*self.via {
            Via::Direct(pool) => pool.grace(),
            Via::Reqwest { .. } => Duration::ZERO,
        }
    }

    /// The connections that carried bytes nobody asked for (an answer past a response's framing,
    /// or sent while the connection was idle), idle ones checked now: the service is out of step
    /// with the requests there, and an answer on them may be another request's.
    pub fn out_of_step(&self) -> std::collections::BTreeSet<u64> {
        match &*self.via {
            Via::Direct(pool) => pool.audit(),
            Via::Reqwest { .. } => Default::default(),
        }
    }

    /// The URL of `path` (which may carry a `?query`) under the base URL. The result always has
    /// the base's scheme, host, port and path prefix: a path that would change any of them is
    /// refused, whatever a plan or a document says.
    pub fn url(&self, path: &str) -> Result<(String, usize), OffTarget> {
        let off = |reason| OffTarget { path: path.to_string(), reason };
        if let Some(reason) = crate::plan::validate::off_target(path) {
            return Err(off(reason));
        }
        let (path_part, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let at = self.base[..url::Position::BeforePath].len();
        // A path and query of characters the URL parser keeps as they are are joined as text:
        // what the parser would make of them, without parsing (off_target has refused a `//`
        // start, `://`, backslashes and dot segments, so the result stays under the base).
        if plain(path_part, false) && query.is_none_or(|q| plain(q, true)) {
            let mut url = String::with_capacity(self.base.as_str().len() + path.len());
            url.push_str(self.base.as_str());
            url.push_str(path_part.trim_start_matches('/'));
            if let Some(q) = query {
                url.push('?');
                url.push_str(q);
            }
            return Ok((url, at));
        }
        let mut url = self.base.clone();
        url.set_path(&format!("{}{}", self.base.path(), path_part.trim_start_matches('/')));
        url.set_query(query);
        let same_origin = url.scheme() == self.base.scheme()
            && url.host() == self.base.host()
            && url.port_or_known_default() == self.base.port_or_known_default();
        if !same_origin || !url.path().starts_with(self.base.path()) {
            return Err(off("would leave the base URL"));
        }
        let at = url[..url::Position::BeforePath].len();
        Ok((url.into(), at))
    }

    /// Whether the target accepts a connection, within the request time limit: a target that
    /// does not fails the run once, before any scenario. Through a proxy nothing is asked (the
    /// proxy answers for the target).
    pub async fn reach(&self) -> Result<(), SendError> {
        match &*self.via {
            Via::Direct(pool) => pool.reach(self.base.as_str(), self.timeout).await,
            Via::Reqwest { .. } => Ok(()),
        }
    }

    /// Send once; an idempotent request whose connection was closed or reset before any response
    /// arrived is sent once more (RFC 9112, section 9.3.1: a server may close an idle keep-alive
    /// connection at any time). A non-idempotent request is never sent twice.
    pub async fn send(&self, request: &Outgoing) -> Result<Incoming, SendError> {
        let limit = request.timeout.unwrap_or(self.timeout);
        let first = match &*self.via {
            Via::Direct(pool) => pool.send_once(request, limit, false).await,
            Via::Reqwest { inner, .. } => self.send_once(inner, request).await,
        };
        match first {
            Err(SendError::Reset { message, .. }) if request.method.is_idempotent() => {
                let first = format!(
                    "the first try's connection was closed or reset before a response arrived ({message}); \
                     sent again on another connection"
                );
                tracing::debug!("{}: {first}", request.method.as_str());
                let mut incoming = match &*self.via {
                    Via::Direct(pool) => pool.send_once(request, limit, true).await?,
                    Via::Reqwest { fresh, .. } => self.send_once(fresh, request).await?,
                };
                incoming.retried = Some(first);
                Ok(incoming)
            }
            other => other,
        }
    }

    async fn send_once(&self, client: &reqwest::Client, request: &Outgoing) -> Result<Incoming, SendError> {
        let method =
            reqwest::Method::from_bytes(request.method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
        let url = reqwest::Url::parse(&request.url)
            .map_err(|e| SendError::Other { url: request.url.clone(), message: e.to_string() })?;
        let mut builder = client.request(method, url);
        for h in &request.headers {
            builder = builder.header(&h.name, &h.value);
        }
        if !request.body.is_empty()
            || matches!(request.method, model::Method::Post | model::Method::Put | model::Method::Patch)
        {
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
            } else if closed_early(&e) {
                SendError::Reset { url, message: root_cause(&e) }
            } else {
                SendError::Other { url, message: root_cause(&e) }
            }
        };
        let started = Instant::now();
        let mut response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let mut not_utf8 = Vec::new();
        let mut headers = Vec::with_capacity(response.headers().len());
        for (name, value) in response.headers() {
            if std::str::from_utf8(value.as_bytes()).is_err() {
                not_utf8.push(headers.len());
            }
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers.push(Pair { name: name.as_str().to_string(), value });
        }
        let declared = response.content_length();
        let mut oversize = None;
        let mut body = Vec::new();
        if declared.is_some_and(|n| n > self.max_body) {
            // Not a byte is read: the connection is dropped with the response.
            oversize = Some(Oversize { limit: self.max_body, declared });
        } else {
            // Read chunk by chunk, so memory stays bounded whatever the server sends.
            while let Some(chunk) = response.chunk().await.map_err(|e| match classify(e) {
                SendError::Reset { url, message } => SendError::Other { url, message },
                other => other,
            })? {
                if body.len() as u64 + chunk.len() as u64 > self.max_body {
                    let room = (self.max_body as usize).saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..room.min(chunk.len())]);
                    oversize = Some(Oversize { limit: self.max_body, declared });
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
        let latency = started.elapsed();
        Ok(Incoming { status, headers, not_utf8, body, latency, oversize, retried: None, connection: None })
    }
}

/// Whether a send failed because the connection closed or was reset before any response
/// arrived: the signature of a pooled connection the server had already closed.
fn closed_early(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(h) = c.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_canceled())
        {
            return true;
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        cause = c.source();
    }
    false
}

pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(base, Duration::from_secs(1), 1, DEFAULT_MAX_BODY).unwrap()
    }

    #[test]
    fn paths_stay_under_the_base_url_and_colons_keep_the_base_path() {
        let c = client("http://127.0.0.1:9/api");
        assert_eq!(c.url("/users:search").unwrap().0, "http://127.0.0.1:9/api/users:search");
        assert_eq!(c.url("/a?x=1").unwrap(), ("http://127.0.0.1:9/api/a?x=1".to_string(), 18));
        // Plain paths are joined as text: exactly what the parser makes of them.
        for path in ["/users:search", "/a/b;c=1/~x", "/x?y=1&z=%20&w=a:b@c/d?e", "/%41%2fB", "/a!$&'()*+,="] {
            let (url, _) = c.url(path).unwrap();
            let parsed = reqwest::Url::parse(&format!("http://127.0.0.1:9/api{path}")).unwrap();
            assert_eq!(url, parsed.as_str(), "{path}");
        }
        // Characters the parser encodes go through it: the same URL as it would make.
        for path in ["/a b%zz", "/\"a\"<x>", "/ü/é?q=ö ü", "/x?#f", "/a%2", "/%41"] {
            if let Ok((url, at)) = c.url(path) {
                let parsed = reqwest::Url::parse(&url).unwrap();
                assert_eq!(parsed.as_str(), url, "{path}");
                assert!(url[at..].starts_with("/api/"), "{path}: {url}");
            }
        }
        for hostile in ["//evil/x", "/\\\\evil/x", "/http://evil:8080/x", "/../x", "/%2e%2E/x"] {
            assert!(c.url(hostile).is_err(), "{hostile}");
        }
    }

    #[test]
    fn no_proxy_lists_name_hosts_domains_and_networks() {
        for (list, host) in [
            ("127.0.0.1", "127.0.0.1"),
            ("localhost,127.0.0.1", "localhost"),
            ("*", "anything"),
            ("example.com", "api.example.com"),
            (".example.com", "api.example.com"),
            ("10.0.0.0/8", "10.1.2.3"),
            ("::1", "[::1]"),
            ("fd00::/8", "fd12::1"),
        ] {
            assert!(bypasses(list, host), "{list} names {host}");
        }
        for (list, host) in
            [("example.com", "notexample.com"), ("10.0.0.0/8", "11.0.0.1"), ("", "x"), ("a.b", "b")]
        {
            assert!(!bypasses(list, host), "{list} does not name {host}");
        }
    }

    #[test]
    fn user_info_leaves_the_url_and_becomes_basic_auth() {
        let c = client("http://ann:p%40ss@127.0.0.1:9/v1?x=1#f");
        assert_eq!(c.base_url(), "http://127.0.0.1:9/v1/");
        assert_eq!(shown_url("http://ann:pw@h:1/x"), "http://h:1/x");
        assert_eq!(
            shown_url("http://admin:hunter22@api:99999/x"),
            "http://api:99999/x",
            "even when it does not parse"
        );
        assert_eq!(
            credentials_text("http://admin:hunter22@api:99999/"),
            Some(("admin".into(), "hunter22".into()))
        );
        assert_eq!(credentials_text("http://api/x@y"), None);
        let url = reqwest::Url::parse("http://ann:p%40ss@h/").unwrap();
        assert_eq!(credentials(&url), Some(("ann".to_string(), "p@ss".to_string())));
    }
}
