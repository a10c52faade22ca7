//! Streamable HTTP through the SDK's reqwest client, watched: when the server answers a POST with
//! something that is not MCP (a redirect, a sign-in page), a failure says what came back.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest};
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What MCP over HTTP answers with.
pub const EXPECTED: &str = "a JSON-RPC answer as application/json or text/event-stream";

/// The most of a body a message shows, in characters.
const SNIPPET: usize = 160;

/// What the server answered instead of MCP, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answered {
    /// The status; unknown for a success status the SDK refused for its content type.
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// Where a redirect pointed, without user info.
    pub location: Option<String>,
    /// The start of the body, whitespace folded.
    pub body: Option<String>,
    /// The SDK's own words, when they say more than the rest.
    pub said: Option<String>,
}

impl Answered {
    /// Whether this is a redirect.
    fn redirect(&self) -> bool {
        self.status.is_some_and(|s| (300..400).contains(&s))
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        if self.redirect() {
            "smoke follows no redirect (the session and its headers stay with the URL given): if the MCP \
             endpoint moved, give its URL with --mcp-url; if it leads to a sign-in, send credentials with \
             --mcp-header \"Authorization: Bearer TOKEN\""
        } else if self.content_type.as_deref().is_some_and(|t| t.to_ascii_lowercase().contains("html")) {
            "a web page, not an MCP endpoint: check the URL, and send credentials with --mcp-header \
             \"Authorization: Bearer TOKEN\" if this is a sign-in page"
        } else {
            "check that the URL is the server's MCP endpoint"
        }
    }
}

impl std::fmt::Display for Answered {
    /// `307 Temporary Redirect to http://host/login (text/html), body "<html>…"`, escaped.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let escape = |s: &str| crate::http::escape_line(s).into_owned();
        match (self.status, &self.said) {
            (Some(status), _) => {
                let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
                write!(f, "{status}{}", reason.map(|r| format!(" {r}")).unwrap_or_default())?;
            }
            // The SDK's words alone (`HTTP 400 Bad Request: ...`): the status is in them.
            (None, Some(said)) => return write!(f, "{}", escape(said)),
            (None, None) => write!(f, "a success status")?,
        }
        if let Some(location) = &self.location {
            write!(f, " to {}", escape(location))?;
        }
        match &self.content_type {
            Some(t) => write!(f, " with content-type {}", escape(t))?,
            None if self.status.is_none() => write!(f, " with no content-type")?,
            None => {}
        }
        if let Some(body) = &self.body {
            write!(f, ", body \"{}\"", escape(body))?;
        }
        if let Some(said) = &self.said {
            write!(f, " ({})", escape(said))?;
        }
        Ok(())
    }
}

/// The start of a body as a message shows it: lossy UTF-8, whitespace runs folded to one space,
/// cut to [`SNIPPET`] characters.
fn snippet(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return None;
    }
    let mut shown: String = folded.chars().take(SNIPPET).collect();
    if shown.len() < folded.len() {
        shown.truncate(shown.trim_end().len());
        shown.push('…');
    }
    Some(shown)
}

/// What a client saw of answers that were not MCP: the last redirect refused (with how many
/// refused redirects no failure has claimed yet), the last POST that got no MCP answer.
#[derive(Debug, Default)]
pub struct Seen {
    redirect: Mutex<Option<Redirect>>,
    failure: Mutex<Option<Answered>>,
}

/// A redirect refused: its status and target; `unclaimed` counts those refused that no failure
/// has been matched with yet (every POST to the endpoint gets the same).
#[derive(Debug)]
struct Redirect {
    status: u16,
    location: String,
    unclaimed: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Seen {
    /// The last POST that got no MCP answer, if one did.
    pub fn failure(&self) -> Option<Answered> {
        lock(&self.failure).clone()
    }

    /// Note why a POST failed, when the server answered with something that is not MCP.
    fn failed(&self, e: &StreamableHttpError<reqwest::Error>) {
        // A refused redirect comes back to the SDK as a status it does not read as MCP.
        let redirect = match (e, lock(&self.redirect).as_mut()) {
            (StreamableHttpError::UnexpectedServerResponse(_), Some(r)) if r.unclaimed > 0 => {
                r.unclaimed -= 1;
                Some((r.status, r.location.clone()))
            }
            _ => None,
        };
        let mut answered = match e {
            StreamableHttpError::UnexpectedContentType(content_type) => {
                Answered { content_type: content_type.clone(), ..Answered::default() }
            }
            // A status other than success with a body that is not a JSON-RPC error, or JSON that
            // is not JSON-RPC.
            StreamableHttpError::UnexpectedServerResponse(said) => {
                Answered { said: Some(said.chars().take(SNIPPET).collect()), ..Answered::default() }
            }
            _ => return,
        };
        if let Some((status, location)) = redirect {
            answered.status = Some(status);
            answered.location = Some(location);
            answered.said = None;
        }
        *lock(&self.failure) = Some(answered);
    }
}

/// A reqwest client for the SDK's Streamable HTTP transport that notes answers that are not MCP
/// (the SDK keeps only a type name of them by the time a call fails).
#[derive(Clone)]
pub struct Watched {
    client: reqwest::Client,
    pub seen: Arc<Seen>,
    /// Pages of the tool list, taken off the wire before the SDK reads them.
    pages: Arc<super::Pages>,
    /// Whether the server answers with plain JSON (so a page of the tool list is read here).
    answers_json: Arc<AtomicBool>,
    /// What the SDK sent with its POSTs: what a protocol check sends beside its own request.
    pub sent: Arc<Mutex<Sent>>,
    /// The client of smoke's own requests (protocol checks): it follows no redirect either, and
    /// notes none, so what the SDK's requests saw stays theirs.
    raw: reqwest::Client,
}

/// What the SDK sent with its last POST that a request of smoke's own repeats: the session, the
/// credentials and the headers (those of the session, not those that mirror one message's body),
/// and the `_meta` of its requests (the revision and capabilities, in 2026-07-28).
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub session_id: Option<String>,
    pub auth: Option<String>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub meta: Option<serde_json::Value>,
}

impl Sent {
    /// Note a POST the SDK sends.
    fn note(
        &mut self,
        message: &ClientJsonRpcMessage,
        session_id: Option<&str>,
        auth: Option<&str>,
        headers: &HashMap<HeaderName, HeaderValue>,
    ) {
        self.session_id = session_id.map(str::to_string);
        self.auth = auth.map(str::to_string);
        self.headers = headers
            .iter()
            .filter(|(name, _)| {
                let name = name.as_str();
                name != "mcp-method" && name != "mcp-name" && !name.starts_with("mcp-param-")
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        if self.meta.is_none()
            && let ClientJsonRpcMessage::Request(r) = message
            && !matches!(r.request, ClientRequest::CallToolRequest(_))
            && let Ok(value) = serde_json::to_value(r)
            && let Some(serde_json::Value::Object(meta)) = value.pointer("/params/_meta")
        {
            // The session's fields, not this request's own (its progress token).
            let session: serde_json::Map<_, _> = meta
                .iter()
                .filter(|(k, _)| k.starts_with("io.modelcontextprotocol/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.meta = (!session.is_empty()).then_some(serde_json::Value::Object(session));
        }
    }
}

impl Watched {
    /// A client that follows no redirect (it would take the session, and its headers, to another
    /// origin), noting each one refused.
    pub fn new(pages: Arc<super::Pages>) -> Result<Watched, reqwest::Error> {
        let seen = Arc::new(Seen::default());
        let noted = seen.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            let location = crate::http::shown_url(attempt.url().as_str());
            let mut slot = lock(&noted.redirect);
            let unclaimed = slot.as_ref().map_or(0, |r| r.unclaimed) + 1;
            *slot = Some(Redirect { status: attempt.status().as_u16(), location, unclaimed });
            attempt.stop()
        });
        let client = crate::http::client_builder().redirect(policy).build()?;
        let raw = crate::http::client_builder().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(Watched { client, seen, pages, answers_json: Arc::default(), sent: Arc::default(), raw })
    }

    /// POST an `initialize` to `url` once more, reading at most a few KiB of the answer, to show
    /// what came back when the first got no MCP answer. `None` when this one is MCP after all, or
    /// got no answer.
    pub async fn look(&self, url: &str, headers: HeaderMap, timeout: Duration) -> Option<Answered> {
        let body = serde_json::json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": rmcp::model::ProtocolVersion::LATEST_WITH_INITIALIZE, "capabilities": {},
                       "clientInfo": {"name": "smoke", "version": env!("CARGO_PKG_VERSION")}},
        });
        let request = self
            .client
            .post(url)
            .headers(headers)
            .header(reqwest::header::ACCEPT, "application/json, text/event-stream")
            .json(&body)
            .timeout(timeout);
        let mut response = request.send().await.ok()?;
        let status = response.status();
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let location = header(reqwest::header::LOCATION).map(|l| match response.url().join(&l) {
            Ok(absolute) => crate::http::shown_url(absolute.as_str()),
            Err(_) => l,
        });
        let mcp = content_type.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t.starts_with("application/json") || t.starts_with("text/event-stream")
        });
        if mcp && !status.is_redirection() {
            return None;
        }
        let mut body = Vec::new();
        while body.len() < 4096 {
            match tokio::time::timeout(timeout, response.chunk()).await {
                Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(4096);
        Some(Answered {
            status: Some(status.as_u16()),
            content_type,
            location,
            body: snippet(&body),
            said: None,
        })
    }
}

impl Watched {
    /// POST `body` to `url` as smoke's own request, with the session's headers and `extra` (which
    /// replace those of the same name; an empty value removes one), and read the answer within
    /// `timeout`: at most [`RAW_BYTES`] of it, and of an event stream, up to the event answering
    /// `body`'s id.
    pub async fn raw_post(
        &self,
        url: &str,
        body: &serde_json::Value,
        extra: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Raw, RawError> {
        let sent = lock(&self.sent).clone();
        let mut headers = HeaderMap::new();
        for (name, value) in &sent.headers {
            headers.insert(name.clone(), value.clone());
        }
        let value = |v: &str| HeaderValue::from_str(v).map_err(|_| RawError::Header(v.to_string()));
        if let Some(id) = &sent.session_id {
            headers.insert(SESSION_ID, value(id)?);
        }
        if let Some(token) = &sent.auth {
            headers.insert(reqwest::header::AUTHORIZATION, value(&format!("Bearer {token}"))?);
        }
        headers
            .insert(reqwest::header::ACCEPT, HeaderValue::from_static("application/json, text/event-stream"));
        for (name, given) in extra {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| RawError::Header(name.to_string()))?;
            match given.is_empty() {
                true => drop(headers.remove(&name)),
                false => drop(headers.insert(name, value(given)?)),
            }
        }
        let request = self.raw.post(url).headers(headers).json(body).timeout(timeout);
        let mut response = request.send().await.map_err(|e| RawError::Send(error_chain_of(&e)))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let session_id =
            response.headers().get(SESSION_ID).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let sse =
            content_type.as_deref().is_some_and(|t| t.to_ascii_lowercase().starts_with("text/event-stream"));
        let id = body.get("id").cloned().unwrap_or(serde_json::Value::Null);
        let mut read = Vec::new();
        let started = std::time::Instant::now();
        // Once the status is known, the answer is judged by it: a body cut short, too long or too
        // slow is no JSON-RPC answer (a check that needs one says so), not an error of the check.
        let answer = loop {
            if sse && let Some(answer) = answer_in_events(&read, &id) {
                break Some(answer);
            }
            let left = timeout.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, response.chunk()).await {
                Ok(Ok(Some(chunk))) if read.len() + chunk.len() <= RAW_BYTES => {
                    read.extend_from_slice(&chunk)
                }
                Ok(Ok(None)) if sse => break answer_in_events(&read, &id),
                Ok(Ok(None)) => {
                    let message: Option<serde_json::Value> = serde_json::from_slice(&read).ok();
                    break message.filter(|m| m.get("id") == Some(&id));
                }
                Ok(Ok(Some(_)) | Err(_)) | Err(_) => break None,
            }
        };
        Ok(Raw { status, content_type, session_id, challenge, answer, body: snippet(&read) })
    }

    /// GET `url` (metadata a server publishes), with no header of the session's: its status and
    /// its body as JSON, when it is JSON, read within [`RAW_BYTES`] and `timeout`.
    pub async fn raw_get(
        &self,
        url: &str,
        timeout: Duration,
    ) -> Result<(u16, Option<serde_json::Value>), RawError> {
        let mut response = self
            .raw
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| RawError::Send(error_chain_of(&e)))?;
        let status = response.status().as_u16();
        let mut read = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| RawError::Send(error_chain_of(&e)))? {
            if read.len() + chunk.len() > RAW_BYTES {
                return Err(RawError::TooLong);
            }
            read.extend_from_slice(&chunk);
        }
        Ok((status, serde_json::from_slice(&read).ok()))
    }

    /// DELETE session `id` at `url` (ending it), with the session's credentials and headers:
    /// the status it was answered with.
    pub async fn raw_delete(&self, url: &str, id: &str, timeout: Duration) -> Result<u16, RawError> {
        let sent = lock(&self.sent).clone();
        let mut request = self.raw.delete(url).timeout(timeout).header(SESSION_ID, id);
        for (name, value) in &sent.headers {
            request = request.header(name, value);
        }
        if let Some(token) = &sent.auth {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| RawError::Send(error_chain_of(&e)))?;
        Ok(response.status().as_u16())
    }

    /// POST a page request of `tools/list` here rather than through the SDK, which would read a
    /// large page as several trees at once: a plain JSON answer is read within the JSON limit,
    /// its entries kept as listed, and the SDK is handed the page without them. `None` when the
    /// answer is anything else (the SDK then asks again and reads it as it does every answer).
    async fn list_page(
        &self,
        uri: &str,
        message: &ClientJsonRpcMessage,
        session_id: Option<&str>,
        auth_header: Option<&str>,
        custom_headers: &HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Option<Result<StreamableHttpPostResponse, StreamableHttpError<reqwest::Error>>> {
        let mut request = self
            .client
            .post(uri)
            .header(reqwest::header::ACCEPT, "text/event-stream, application/json")
            .json(message);
        if let Some(token) = auth_header {
            request = request.bearer_auth(token);
        }
        for (name, value) in custom_headers {
            request = request.header(name, value);
        }
        if let Some(id) = session_id {
            request = request.header(SESSION_ID, id);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Some(Err(StreamableHttpError::Client(e))),
        };
        let json = response.headers().get(reqwest::header::CONTENT_TYPE).is_some_and(|t| {
            t.to_str().is_ok_and(|t| t.trim_start().to_ascii_lowercase().starts_with("application/json"))
        });
        if !response.status().is_success() || !json {
            return None;
        }
        let session = response.headers().get(SESSION_ID).and_then(|v| v.to_str().ok()).map(str::to_string);
        let limit = limits.max_json_response_size;
        let too_large = || Some(Err(StreamableHttpError::ResponseBodyTooLarge { max_size: limit }));
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return too_large();
        }
        let mut body = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > limit => return too_large(),
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Some(Err(StreamableHttpError::Client(e))),
            }
        }
        let text = match String::from_utf8(body) {
            Ok(text) => text,
            Err(e) => return Some(Err(StreamableHttpError::UnexpectedServerResponse(e.to_string().into()))),
        };
        let slim = self.pages.take_page(&text);
        let read = serde_json::from_str(slim.as_deref().unwrap_or(&text));
        Some(
            read.map(|m| StreamableHttpPostResponse::Json(m, session))
                .map_err(StreamableHttpError::Deserialize),
        )
    }
}

/// The most of an answer to smoke's own request that is read.
pub const RAW_BYTES: usize = 1 << 20;

/// An answer to smoke's own POST: its status and content type, the JSON-RPC message answering
/// the request when one was found, and the start of the body.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub content_type: Option<String>,
    /// The session it names (`Mcp-Session-Id`), if it does.
    pub session_id: Option<String>,
    /// The challenge of a 401 (`WWW-Authenticate`), if it has one.
    pub challenge: Option<String>,
    pub answer: Option<serde_json::Value>,
    pub body: Option<String>,
}

/// Why smoke's own POST got no answer to judge.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error("a header value cannot be sent: {0:?}")]
    Header(String),
    #[error("{0}")]
    Send(String),
    #[error("the answer is longer than {} KiB", RAW_BYTES >> 10)]
    TooLong,
}

/// The JSON-RPC message with `id` among the whole events of an event stream read so far.
fn answer_in_events(read: &[u8], id: &serde_json::Value) -> Option<serde_json::Value> {
    let text = String::from_utf8_lossy(read).replace("\r\n", "\n");
    let whole = text.rfind("\n\n")?;
    text[..whole].split("\n\n").find_map(|event| {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let message: serde_json::Value = serde_json::from_str(&data.join("\n")).ok()?;
        (message.get("id") == Some(id)).then_some(message)
    })
}

/// An HTTP client error with its causes.
fn error_chain_of(e: &reqwest::Error) -> String {
    let mut words = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        words.push_str(&format!(": {s}"));
        source = s.source();
    }
    words
}

/// Whether a message asks for a page of the tool list.
fn lists_tools(message: &ClientJsonRpcMessage) -> bool {
    matches!(message, ClientJsonRpcMessage::Request(r) if matches!(r.request, ClientRequest::ListToolsRequest(_)))
}

/// The header naming a Streamable HTTP session.
const SESSION_ID: &str = "mcp-session-id";

impl StreamableHttpClient for Watched {
    type Error = reqwest::Error;

    fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> impl Future<Output = Result<StreamableHttpPostResponse, StreamableHttpError<reqwest::Error>>> + Send + '_
    {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
    }

    fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> impl Future<Output = Result<StreamableHttpPostResponse, StreamableHttpError<reqwest::Error>>> + Send + '_
    {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(uri, message, session_id, auth_header, custom_headers, limits)
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<reqwest::Error>> {
        lock(&self.sent).note(&message, session_id.as_deref(), auth_header.as_deref(), &custom_headers);
        if lists_tools(&message)
            && self.pages.listing()
            && self.answers_json.load(Ordering::Acquire)
            && let Some(answer) = self
                .list_page(
                    &uri,
                    &message,
                    session_id.as_deref(),
                    auth_header.as_deref(),
                    &custom_headers,
                    limits,
                )
                .await
        {
            return answer;
        }
        let answer = self
            .client
            .post_message_with_response_limits(uri, message, session_id, auth_header, custom_headers, limits)
            .await;
        if let Ok(StreamableHttpPostResponse::Json(..)) = &answer {
            self.answers_json.store(true, Ordering::Release);
        }
        match answer {
            Err(e) => {
                self.seen.failed(&e);
                Err(e)
            }
            // A page of the tool list in an event stream goes on without its entries, which are
            // kept as listed. (A plain JSON answer the SDK has read by now.)
            Ok(StreamableHttpPostResponse::Sse(events, session)) if self.pages.listing() => {
                use futures_util::StreamExt;
                let pages = self.pages.clone();
                let events = events.map(move |event| {
                    event.map(|mut event| {
                        if let Some(slim) = event.data.as_deref().and_then(|data| pages.take_page(data)) {
                            event.data = Some(slim);
                        }
                        event
                    })
                });
                Ok(StreamableHttpPostResponse::Sse(events.boxed(), session))
            }
            answer => answer,
        }
    }

    fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> impl Future<Output = Result<(), StreamableHttpError<reqwest::Error>>> + Send + '_ {
        self.client.delete_session(uri, session_id, auth_header, custom_headers)
    }

    fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> impl Future<Output = Result<BoxedSseResponse, StreamableHttpError<reqwest::Error>>> + Send + '_ {
        self.client.get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
    }

    fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> impl Future<Output = Result<BoxedSseResponse, StreamableHttpError<reqwest::Error>>> + Send + '_ {
        self.client.get_stream_with_max_sse_event_size(
            uri,
            session_id,
            last_event_id,
            auth_header,
            custom_headers,
            max_sse_event_size,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Answered, snippet};

    #[test]
    fn what_came_back_is_said_escaped_with_what_to_do() {
        let redirect = Answered {
            status: Some(307),
            location: Some("http://127.0.0.1:9/login?next=/mcp".into()),
            content_type: Some("text/html".into()),
            body: snippet(b"<html>\n  <title>Sign in</title>\x1b[31m"),
            said: None,
        };
        assert_eq!(
            redirect.to_string(),
            r#"307 Temporary Redirect to http://127.0.0.1:9/login?next=/mcp with content-type text/html, body "<html> <title>Sign in</title>\x1b[31m""#
        );
        assert!(redirect.hint().starts_with("smoke follows no redirect"));
        let page = Answered { content_type: Some("text/html; charset=utf-8".into()), ..Answered::default() };
        assert_eq!(page.to_string(), "a success status with content-type text/html; charset=utf-8");
        assert!(page.hint().starts_with("a web page"));
        let said = Answered { said: Some("HTTP 400 Bad Request: no\nway".into()), ..Answered::default() };
        assert_eq!(said.to_string(), r"HTTP 400 Bad Request: no\x0away");
    }

    #[test]
    fn a_body_is_shown_folded_and_cut() {
        assert_eq!(snippet(b"  \n\t "), None);
        let long = "word ".repeat(100);
        let shown = snippet(long.as_bytes()).unwrap();
        assert_eq!(shown, format!("{}word…", "word ".repeat(31)));
    }
}
