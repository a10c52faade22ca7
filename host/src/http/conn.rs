//! HTTP/1.1 to the base URL, plain or over TLS, by one set of rules: a pool of connections, each
//! exchange written and read by the task that sends it, the response head parsed by httparse
//! (hyper's parser) and the body framed as RFC 9112 section 6 says, strictly. Every read is
//! bounded: the head, a chunk-size line, trailers, the body (the client's body limit).
//!
//! A connection is reused only while it behaves: one with bytes nobody asked for (more than a
//! response's framing, or anything arriving while it was idle) is dropped, and every verdict that
//! rode on it is failed at the end of the run, when the idle ones are checked in the kernel's
//! receive queue once more. A response that arrives while the request's body is still being sent is read
//! and judged, and the rest of the body is not sent (RFC 9112 section 9.3).
//!
//! Why not a general client: a step's request costs little more than its syscalls this way; a
//! general client's machinery (a connection task, channels, a body stream) costs several times
//! that on loopback.

use super::{Incoming, Outgoing, Oversize, SendError};
use crate::plan::model::{Method, Pair};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The most bytes a response head may take (status line and headers).
const MAX_HEAD: usize = 256 << 10;
/// The most headers a response may have.
const MAX_HEADERS: usize = 256;
/// The most bytes a chunk-size line or the trailers of a chunked body may take.
const MAX_CHUNK_LINE: usize = 4 << 10;
const MAX_TRAILERS: usize = 64 << 10;
/// Bytes read at once.
const READ: usize = 16 << 10;
/// A request bigger than this goes over a new connection: its body may still be going out when
/// an answer arrives, and on a kept-alive connection a stray response could then pass for it.
const FRESH_FOR_BYTES: usize = 256 << 10;

/// A connection's byte stream: TCP, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One connection, with what was read past the last response (normally nothing).
struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// Its number in the pool, and the exchanges it has carried.
    id: u64,
    used: u32,
}

/// What an idle connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idle {
    /// Nothing: it can take a request.
    Quiet,
    /// The server closed it (as it may close an idle kept-alive connection at any time).
    Closed,
    /// Bytes nobody asked for: the server is out of step with the requests on it.
    Unasked,
}

/// What every request to the base URL carries unless it sets its own: `Host`, `User-Agent`,
/// `Accept: */*` and, for a base URL with user info, `Authorization`.
#[derive(Debug, Clone)]
pub(super) struct Defaults {
    pub host: String,
    /// Lower-case name, value.
    pub headers: Vec<(String, String)>,
}

/// TLS to the base URL's host: the configuration and the name its certificate must carry.
pub(super) struct Tls {
    pub connector: tokio_rustls::TlsConnector,
    pub name: rustls::pki_types::ServerName<'static>,
}

/// Connections to one `host:port`, idle ones kept for the next request.
pub(super) struct Pool {
    host: String,
    port: u16,
    tls: Option<Tls>,
    idle: Mutex<Vec<Conn>>,
    /// The most idle connections kept.
    keep: usize,
    defaults: Defaults,
    max_body: u64,
    /// Numbers the connections, so a verdict can be traced to the connection it came over.
    opened: std::sync::atomic::AtomicU64,
    /// Connections found carrying bytes nobody asked for (dropped at once).
    out_of_step: Mutex<std::collections::BTreeSet<u64>>,
    /// How long the service takes to answer, in microseconds: a moving average of the
    /// exchanges' latencies, which sizes the end-of-run grace.
    answers_in: std::sync::atomic::AtomicU64,
}

/// A response head that breaks HTTP/1.1's framing rules: the response cannot be read safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Faulty {
    #[error("no status")]
    NoStatus,
    #[error("invalid content-length {0:?}")]
    ContentLength(String),
    #[error("two different content-lengths")]
    TwoLengths,
    #[error("an HTTP/1.0 response with Transfer-Encoding (RFC 9112 section 6.1: faulty framing)")]
    TransferEncodingInHttp10,
}

/// A request header smoke will not send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum BadHeader {
    #[error("builder error: invalid header name {0:?}")]
    Name(String),
    #[error("builder error: invalid value for header {0}: a line break or NUL in it")]
    Value(String),
}

/// Why an exchange failed, before it is typed for the caller (which needs the URL).
enum Broken {
    /// Nothing of a response arrived: the connection was closed or reset first.
    Early(String),
    /// Anything else: a malformed or cut response, an I/O error mid-way.
    Other(String),
    /// TLS refused the exchange: not something a request sent again would change.
    Tls(String),
}

impl Broken {
    fn at(self, url: &str) -> SendError {
        match self {
            Broken::Early(message) => SendError::Reset { url: url.to_string(), message },
            Broken::Other(message) => SendError::Other { url: url.to_string(), message },
            Broken::Tls(message) => SendError::Tls { url: url.to_string(), message },
        }
    }

    /// What an I/O error reading a response means: TLS refused (an alert after the handshake,
    /// such as a client certificate the server wants), else `cut` of its words.
    fn of(e: &std::io::Error, cut: impl FnOnce(String) -> Broken) -> Broken {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(tls) => Broken::Tls(tls.to_string()),
            None => cut(e.to_string()),
        }
    }
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// A response head, parsed.
struct Head {
    status: u16,
    headers: Vec<Pair>,
    /// Indices of the headers whose value is not UTF-8 (shown with U+FFFD, equal to no text).
    not_utf8: Vec<usize>,
    framing: Framing,
    /// Whether the connection may carry another request after this response.
    keep_alive: bool,
}

/// Whether a header value, a list of comma-separated tokens, holds `token` (case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// One length from Content-Length, perhaps repeated ("5, 5" or two headers): all the same.
fn content_length(value: &str, length: &mut Option<u64>) -> Result<(), Faulty> {
    for part in value.split(',') {
        let part = part.trim();
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Faulty::ContentLength(value.to_string()));
        }
        let n: u64 = part.parse().map_err(|_| Faulty::ContentLength(value.to_string()))?;
        if length.is_some_and(|m| m != n) {
            return Err(Faulty::TwoLengths);
        }
        *length = Some(n);
    }
    Ok(())
}

/// The head of a response, from the bytes of it (complete, as httparse found them).
fn head(response: &httparse::Response<'_, '_>, method: &Method) -> Result<Head, Faulty> {
    let status = response.code.ok_or(Faulty::NoStatus)?;
    let http11 = response.version == Some(1);
    let mut headers = Vec::with_capacity(response.headers.len());
    let mut not_utf8 = Vec::new();
    let (mut chunked, mut transfer_encoding, mut close) = (false, false, !http11);
    let mut length: Option<u64> = None;
    for h in response.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = match std::str::from_utf8(h.value) {
            Ok(text) => text.to_string(),
            Err(_) => {
                not_utf8.push(headers.len());
                String::from_utf8_lossy(h.value).into_owned()
            }
        };
        match name.as_str() {
            "transfer-encoding" => {
                transfer_encoding = true;
                // Chunked only when it is the last coding.
                chunked = value.rsplit(',').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
            }
            "content-length" => content_length(&value, &mut length)?,
            "connection" if has_token(&value, "close") => close = true,
            "connection" if !http11 && has_token(&value, "keep-alive") => close = false,
            _ => {}
        }
        headers.push(Pair { name, value });
    }
    if transfer_encoding && !http11 {
        return Err(Faulty::TransferEncodingInHttp10);
    }
    // RFC 9112 section 6.3, in order.
    let framing = match status {
        204 | 304 => Framing::None,
        101 => {
            close = true;
            Framing::None
        }
        _ if *method == Method::Head => Framing::None,
        _ if transfer_encoding && chunked => Framing::Chunked,
        _ if transfer_encoding => Framing::Close,
        _ => match length {
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        },
    };
    // A body the server ends by closing, or both framings at once: the connection is done.
    if framing == Framing::Close || (transfer_encoding && length.is_some()) {
        close = true;
    }
    Ok(Head { status, headers, not_utf8, framing, keep_alive: !close })
}

/// The size of a chunk from its line: hex digits only (RFC 9112 section 7.1: `1*HEXDIG`), then
/// nothing, or extensions after optional whitespace and `;`. `+e`, ` e` and `e ` are refused.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = &line[digits..];
    let after = rest.iter().position(|b| !matches!(b, b' ' | b'\t')).map_or(&[][..], |i| &rest[i..]);
    if digits == 0 || digits > 16 || !(rest.is_empty() || after.first() == Some(&b';')) {
        return None;
    }
    let text = std::str::from_utf8(&line[..digits]).ok()?;
    u64::from_str_radix(text, 16).ok()
}

/// What sending a request came to.
enum Sent {
    /// All of it went.
    Whole,
    /// The server answered (or closed) before all of it went: sending stopped there.
    Answered,
}

impl Conn {
    /// Read more into the buffer (its spare room: nothing is zeroed first); `Ok(0)` at the end
    /// of the stream.
    async fn fill(&mut self) -> std::io::Result<usize> {
        self.buf.reserve(READ);
        self.stream.read_buf(&mut self.buf).await
    }

    /// Write the request whole, unless the server answers first: whenever a write would block
    /// (a big body the server is not reading), whatever it sent is read, and a final response
    /// head (a 413 before the upload is read) stops the sending.
    async fn send(&mut self, out: &[u8]) -> std::io::Result<Sent> {
        let mut written = 0;
        std::future::poll_fn(|cx| {
            loop {
                let progress = if written < out.len() {
                    Pin::new(&mut self.stream).poll_write(cx, &out[written..])
                } else {
                    // TLS: records may still wait in rustls's buffer.
                    Pin::new(&mut self.stream).poll_flush(cx).map_ok(|()| usize::MAX)
                };
                match progress {
                    Poll::Ready(Ok(usize::MAX)) => return Poll::Ready(Ok(Sent::Whole)),
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => {
                        written += n;
                        continue;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
                // The write would block: has the server said something meanwhile?
                let mut chunk = [0u8; 4096];
                let mut read = ReadBuf::new(&mut chunk);
                match Pin::new(&mut self.stream).poll_read(cx, &mut read) {
                    Poll::Ready(Ok(())) if read.filled().is_empty() => {
                        return Poll::Ready(Ok(Sent::Answered));
                    }
                    Poll::Ready(Ok(())) => {
                        self.buf.extend_from_slice(read.filled());
                        if self.answered() {
                            return Poll::Ready(Ok(Sent::Answered));
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }

    /// Whether what the server sent while the request was going out is an answer: a final
    /// response head, or bytes that are no head at all. Informational (1xx) heads are consumed:
    /// sending goes on after them.
    fn answered(&mut self) -> bool {
        loop {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut slots);
            match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(used)) => match response.code {
                    Some(code) if (100..200).contains(&code) && code != 101 => {
                        self.buf.drain(..used);
                    }
                    _ => return true,
                },
                Ok(httparse::Status::Partial) => return self.buf.len() > MAX_HEAD,
                Err(_) => return true,
            }
        }
    }

    /// The next final response head (informational 1xx ones skipped), consumed from the buffer.
    async fn read_head(&mut self, method: &Method) -> Result<Head, Broken> {
        let mut seen_any = !self.buf.is_empty();
        loop {
            if !self.buf.is_empty() {
                seen_any = true;
                let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut response = httparse::Response::new(&mut slots);
                match response.parse(&self.buf) {
                    Ok(httparse::Status::Complete(used)) => {
                        let code = response.code.unwrap_or(0);
                        let parsed = head(&response, method)
                            .map_err(|e| Broken::Other(format!("invalid response: {e}")));
                        self.buf.drain(..used);
                        if (100..200).contains(&code) && code != 101 {
                            continue;
                        }
                        return parsed;
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() > MAX_HEAD => {
                        return Err(Broken::Other(format!("the response head is over {MAX_HEAD} bytes")));
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(e) => return Err(Broken::Other(format!("invalid response: {e}"))),
                }
            }
            let cut = |what: String| if seen_any { Broken::Other(what) } else { Broken::Early(what) };
            match self.fill().await {
                Ok(0) => return Err(cut("connection closed before message completed".to_string())),
                Ok(_) => {}
                Err(e) => return Err(Broken::of(&e, cut)),
            }
        }
    }

    /// Take up to `n` bytes of body from the buffer, reading more as needed; `Ok(false)` when the
    /// stream ended first.
    async fn take_exact(&mut self, n: usize, into: &mut Vec<u8>) -> Result<bool, Broken> {
        let mut left = n;
        loop {
            let here = left.min(self.buf.len());
            into.extend_from_slice(&self.buf[..here]);
            self.buf.drain(..here);
            left -= here;
            if left == 0 {
                return Ok(true);
            }
            match self.fill().await {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) => return Err(Broken::Other(e.to_string())),
            }
        }
    }

    /// One line (without its CRLF) of at most `max` bytes, consumed from the buffer; a line
    /// that ends with a bare LF is refused (RFC 9112 lets a recipient take it; a strict one does
    /// not, and says so rather than wait for a CR that will not come).
    async fn line(&mut self, max: usize) -> Result<Vec<u8>, Broken> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                if end == 0 || self.buf[end - 1] != b'\r' {
                    return Err(Broken::Other("a chunked body's line ends with a bare LF, not CRLF".into()));
                }
                let line = self.buf[..end - 1].to_vec();
                self.buf.drain(..end + 1);
                return Ok(line);
            }
            if self.buf.len() > max {
                return Err(Broken::Other(format!("a chunked body's line is over {max} bytes")));
            }
            match self.fill().await {
                Ok(0) => return Err(Broken::Other("connection closed before message completed".into())),
                Ok(_) => {}
                Err(e) => return Err(Broken::Other(e.to_string())),
            }
        }
    }

    /// The body as the head frames it, at most `max` bytes of it (`Some(oversize)` past that);
    /// whether the connection is still usable after it.
    async fn read_body(
        &mut self,
        framing: Framing,
        max: u64,
        body: &mut Vec<u8>,
    ) -> Result<(Option<Oversize>, bool), Broken> {
        let over = |declared| Some(Oversize { limit: max, declared });
        match framing {
            Framing::None => Ok((None, true)),
            // Not a byte is read: the connection is dropped with the response.
            Framing::Length(n) if n > max => Ok((over(Some(n)), false)),
            Framing::Length(n) => {
                body.reserve(n as usize);
                match self.take_exact(n as usize, body).await? {
                    true => Ok((None, true)),
                    false => Err(Broken::Other("connection closed before message completed".into())),
                }
            }
            Framing::Close => loop {
                let room = max.saturating_sub(body.len() as u64) as usize;
                let here = room.min(self.buf.len());
                body.extend_from_slice(&self.buf[..here]);
                let more = self.buf.len() > here;
                self.buf.clear();
                if more {
                    return Ok((over(None), false));
                }
                match self.fill().await {
                    Ok(0) => return Ok((None, false)),
                    Ok(_) => {}
                    Err(e) => return Err(Broken::Other(e.to_string())),
                }
            },
            Framing::Chunked => self.read_chunked(max, body).await,
        }
    }

    /// A chunked body, its chunks joined, and its trailers read and dropped.
    async fn read_chunked(
        &mut self,
        max: u64,
        body: &mut Vec<u8>,
    ) -> Result<(Option<Oversize>, bool), Broken> {
        let cut = || Broken::Other("connection closed before message completed".into());
        loop {
            let line = self.line(MAX_CHUNK_LINE).await?;
            let size = chunk_size(&line).ok_or_else(|| {
                Broken::Other(format!("invalid chunk size {:?}", String::from_utf8_lossy(&line)))
            })?;
            if size == 0 {
                break;
            }
            let room = max.saturating_sub(body.len() as u64);
            if size > room {
                if !self.take_exact(room as usize, body).await? {
                    return Err(cut());
                }
                return Ok((Some(Oversize { limit: max, declared: None }), false));
            }
            if !self.take_exact(size as usize, body).await? {
                return Err(cut());
            }
            if !self.line(2).await?.is_empty() {
                return Err(Broken::Other("a chunk is not followed by CRLF".into()));
            }
        }
        let mut trailers = 0;
        loop {
            let line = self.line(MAX_CHUNK_LINE).await?;
            if line.is_empty() {
                return Ok((None, true));
            }
            trailers += line.len() + 2;
            if trailers > MAX_TRAILERS {
                return Err(Broken::Other(format!("the trailers are over {MAX_TRAILERS} bytes")));
            }
        }
    }

    /// What it holds while idle: nothing unread may wait on it, in smoke's buffer, in TLS's or in
    /// the kernel's. Bytes nobody asked for mean the server is out of step with the requests; it
    /// is not trusted again. `Ask::Kernel` asks the kernel directly (a syscall); `Ask::Ready`
    /// asks it only when the runtime's readiness says bytes or an end arrived since the last
    /// read, which costs nothing on the way to each request. The readiness may lag the kernel
    /// by a turn of the runtime; a stray it misses then is found later (on the connection's next
    /// use, or by the end-of-run audit, which asks the kernel), and every verdict that rode on
    /// the connection fails all the same.
    fn idle(&mut self, ask: Ask) -> Idle {
        if !self.buf.is_empty() {
            return Idle::Unasked;
        }
        if let Stream::Tls(tls) = &mut self.stream {
            match tls.get_mut().1.process_new_packets() {
                Ok(state) if state.plaintext_bytes_to_read() > 0 => return Idle::Unasked,
                Ok(state) if state.peer_has_closed() => return Idle::Closed,
                Ok(_) => {}
                Err(_) => return Idle::Unasked,
            }
        }
        let tcp = self.stream.tcp();
        let peek = || {
            let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
            socket2::SockRef::from(tcp).peek(&mut probe)
        };
        let seen = match ask {
            Ask::Kernel => peek(),
            Ask::Ready => tcp.try_io(tokio::io::Interest::READABLE, peek),
        };
        match seen {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Idle::Quiet,
            Ok(0) | Err(_) => Idle::Closed,
            Ok(_) => Idle::Unasked,
        }
    }
}

/// How [`Conn::idle`] asks the kernel.
#[derive(Clone, Copy)]
enum Ask {
    Kernel,
    Ready,
}

/// A header name as RFC 9110 section 5.1 allows (a token), and a value without CR, LF or NUL.
fn check_header(name: &str, value: &str) -> Result<(), BadHeader> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(BadHeader::Name(name.to_string()));
    }
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
        return Err(BadHeader::Value(name.to_string()));
    }
    Ok(())
}

/// Whether a request with this method and no body says so with `Content-Length: 0`: those
/// whose method defines a meaning for content (RFC 9110 section 8.6).
fn says_empty(method: &Method) -> bool {
    matches!(method, Method::Post | Method::Put | Method::Patch)
}

impl Pool {
    pub(super) fn new(
        host: &str,
        port: u16,
        tls: Option<Tls>,
        keep: usize,
        defaults: Defaults,
        max_body: u64,
    ) -> Pool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        Pool {
            host,
            port,
            tls,
            idle: Mutex::new(Vec::new()),
            keep: keep.max(1),
            defaults,
            max_body,
            opened: Default::default(),
            out_of_step: Default::default(),
            answers_in: Default::default(),
        }
    }

    /// Remember that connection `id` carried bytes nobody asked for.
    fn out_of_step(&self, id: u64) {
        tracing::warn!(
            "the service sent bytes nobody asked for on a kept-alive connection (#{id}); dropped it"
        );
        self.out_of_step.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
    }

    /// How long to wait, once no request is left, for an answer nobody asked for to show on an
    /// idle connection: a service one answer ahead sends its last answer about one answer's time
    /// after the last request, so four times the usual answer's time, 2 to 20 ms.
    pub(super) fn grace(&self) -> std::time::Duration {
        let usual = self.answers_in.load(std::sync::atomic::Ordering::Relaxed);
        std::time::Duration::from_micros(usual.saturating_mul(4))
            .clamp(std::time::Duration::from_millis(2), std::time::Duration::from_millis(20))
    }

    /// Check the idle connections now, and every connection found out of step so far.
    pub(super) fn audit(&self) -> std::collections::BTreeSet<u64> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let mut found = Vec::new();
        idle.retain_mut(|c| match c.idle(Ask::Kernel) {
            Idle::Quiet => true,
            Idle::Closed => false,
            Idle::Unasked => {
                found.push(c.id);
                false
            }
        });
        drop(idle);
        for id in found {
            self.out_of_step(id);
        }
        self.out_of_step.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn open(&self, url: &str) -> Result<Conn, SendError> {
        let connect = |e: std::io::Error| SendError::Connect { url: url.to_string(), message: e.to_string() };
        let tcp = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(connect)?;
        // Requests are small and each waits for its answer: nothing is gained by Nagle's delay.
        tcp.set_nodelay(true).map_err(connect)?;
        let stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some(tls) => {
                let handshake = tls.connector.connect(tls.name.clone(), tcp).await;
                let tls_stream = handshake
                    .map_err(|e| SendError::Tls { url: url.to_string(), message: super::root_cause(&e) })?;
                Stream::Tls(Box::new(tls_stream))
            }
        };
        let id = self.opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Ok(Conn { stream, buf: Vec::new(), out: Vec::new(), id, used: 0 })
    }

    /// Whether the service accepts a connection within `limit` (nothing is sent on it).
    pub(super) async fn reach(&self, url: &str, limit: std::time::Duration) -> Result<(), SendError> {
        let connect = TcpStream::connect((self.host.as_str(), self.port));
        match tokio::time::timeout(limit, connect).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SendError::Connect { url: url.to_string(), message: e.to_string() }),
            Err(_) => Err(SendError::Timeout(limit)),
        }
    }

    /// An idle connection that can take a request, else a new one; `fresh` always opens one.
    async fn take(&self, url: &str, fresh: bool) -> Result<Conn, SendError> {
        if !fresh {
            loop {
                let next = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let Some(mut c) = next else { break };
                match c.idle(Ask::Ready) {
                    Idle::Quiet => return Ok(c),
                    Idle::Closed => {}
                    Idle::Unasked => self.out_of_step(c.id),
                }
            }
        }
        self.open(url).await
    }

    fn give_back(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.keep {
            idle.push(conn);
        }
    }

    /// The request's bytes: request line, the request's headers (framing ones excepted: the
    /// body's length is the client's to say), the defaults it does not set, the body.
    fn write_request(&self, r: &Outgoing, out: &mut Vec<u8>) -> Result<(), BadHeader> {
        out.clear();
        out.extend_from_slice(r.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(&r.url.as_bytes()[r.path_at..]);
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let set = |name: &str| r.headers.iter().any(|h| h.name.eq_ignore_ascii_case(name));
        let mut line = |name: &str, value: &str| {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        if !set("host") {
            line("host", &self.defaults.host);
        }
        for h in &r.headers {
            check_header(&h.name, &h.value)?;
            if h.name.eq_ignore_ascii_case("content-length")
                || h.name.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            // Names as hyper writes them: lower-case.
            line(&h.name.to_ascii_lowercase(), &h.value);
        }
        for (name, value) in &self.defaults.headers {
            if !set(name) {
                line(name, value);
            }
        }
        if !r.body.is_empty() || says_empty(&r.method) {
            line("content-length", &r.body.len().to_string());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&r.body);
        Ok(())
    }

    /// One exchange, over a pooled connection (or a new one, when `fresh`), within `limit`.
    pub(super) async fn send_once(
        &self,
        r: &Outgoing,
        limit: std::time::Duration,
        fresh: bool,
    ) -> Result<Incoming, SendError> {
        match tokio::time::timeout(limit, self.exchange(r, fresh)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(limit)),
        }
    }

    async fn exchange(&self, r: &Outgoing, fresh: bool) -> Result<Incoming, SendError> {
        let url = r.url.as_str();
        let mut conn = self.take(url, fresh || r.body.len() > FRESH_FOR_BYTES).await?;
        let mut out = std::mem::take(&mut conn.out);
        self.write_request(r, &mut out)
            .map_err(|e| SendError::Other { url: url.to_string(), message: e.to_string() })?;
        let started = Instant::now();
        conn.used = conn.used.saturating_add(1);
        let sent = conn.send(&out).await;
        conn.out = out;
        let whole = match sent {
            Ok(Sent::Whole) => true,
            Ok(Sent::Answered) => false,
            // Sending failed: an answer may still have come first (the server refused the
            // upload, then closed); if nothing did, this failed before any response (early).
            Err(e) => match conn.read_head(&r.method).await {
                Err(Broken::Early(_)) => return Err(Broken::of(&e, Broken::Early).at(url)),
                Err(other) => return Err(other.at(url)),
                Ok(head) => {
                    return self.finish(conn, head, started, false, fresh).await.map_err(|b| b.at(url));
                }
            },
        };
        let head = conn.read_head(&r.method).await.map_err(|b| b.at(url))?;
        self.finish(conn, head, started, whole, fresh).await.map_err(|b| b.at(url))
    }

    /// Read the body of a response whose head has come, and give the connection back if it is
    /// fit for another request: the request went whole, the response was framed and read to its
    /// end, and nothing came after it.
    async fn finish(
        &self,
        mut conn: Conn,
        head: Head,
        started: Instant,
        whole: bool,
        fresh: bool,
    ) -> Result<Incoming, Broken> {
        let mut body = Vec::new();
        let (oversize, usable) = conn.read_body(head.framing, self.max_body, &mut body).await?;
        let latency = started.elapsed();
        // A moving average over about the last 16 answers (racing updates lose one at worst).
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let usual = self.answers_in.load(std::sync::atomic::Ordering::Relaxed);
        let usual = if usual == 0 { micros } else { (usual - usual / 16).saturating_add(micros / 16) };
        self.answers_in.store(usual, std::sync::atomic::Ordering::Relaxed);
        let declared = match head.framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        let oversize = oversize.map(|o| Oversize { declared: o.declared.or(declared), ..o });
        let connection = Some((conn.id, conn.used));
        if !conn.buf.is_empty() {
            // More than the response's framing: whatever it is, nobody asked for it.
            self.out_of_step(conn.id);
        } else if whole && usable && head.keep_alive && !fresh {
            self.give_back(conn);
        }
        Ok(Incoming {
            status: head.status,
            headers: head.headers,
            not_utf8: head.not_utf8,
            body,
            latency,
            oversize,
            retried: None,
            connection,
        })
    }
}

/// The TLS connector for a pool: the run's configuration and the base URL's host.
pub(super) fn tls(config: Arc<rustls::ClientConfig>, host: &str) -> Result<Tls, super::tls::TlsError> {
    Ok(Tls { connector: tokio_rustls::TlsConnector::from(config), name: super::tls::server_name(host)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8], method: &Method) -> Result<Head, Faulty> {
        let mut slots = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut slots);
        match response.parse(raw).expect("a head httparse reads") {
            httparse::Status::Complete(_) => head(&response, method),
            httparse::Status::Partial => panic!("partial"),
        }
    }

    #[test]
    fn bodies_are_framed_as_rfc_9112_says() {
        let get = Method::Get;
        let h = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", &get).unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(5), true));
        let h = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n", &get).unwrap();
        assert_eq!(h.framing, Framing::Length(5), "one length, repeated");
        let h =
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n", &get)
                .unwrap();
        assert_eq!(
            (h.framing, h.keep_alive),
            (Framing::Chunked, false),
            "chunked wins, and the connection ends"
        );
        let h = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", &get).unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Close, false));
        let h = parse(b"HTTP/1.1 200 OK\r\n\r\n", &get).unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Close, false));
        let h = parse(b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", &get).unwrap();
        assert_eq!(h.framing, Framing::None);
        let h = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &Method::Head).unwrap();
        assert_eq!(h.framing, Framing::None);
        let h = parse(b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", &get)
            .unwrap();
        assert!(!h.keep_alive);
        let h = parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &get).unwrap();
        assert!(!h.keep_alive, "HTTP/1.0 closes unless it says keep-alive");
        assert_eq!(h.headers[0].name, "content-length", "names lower-cased");
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: +14\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        ] {
            assert!(parse(bad, &get).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn chunk_sizes_are_hex_digits_and_nothing_else() {
        assert_eq!(chunk_size(b"e"), Some(14));
        assert_eq!(chunk_size(b"1F"), Some(31));
        assert_eq!(chunk_size(b"e;name=value"), Some(14));
        assert_eq!(chunk_size(b"e \t; name"), Some(14), "whitespace before an extension");
        for bad in
            [&b"+e"[..], b" e ", b"e ", b" e", b"-1", b"0x10", b"", b";ext", b"e g", b"11111111111111111"]
        {
            assert_eq!(chunk_size(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn header_values_that_are_not_utf8_are_marked() {
        let h =
            parse(b"HTTP/1.1 200 OK\r\nX-A: caf\xe9\r\nX-B: ok\r\nContent-Length: 0\r\n\r\n", &Method::Get)
                .unwrap();
        assert_eq!(h.not_utf8, [0]);
        assert_eq!(h.headers[0].value, "caf\u{fffd}");
    }

    #[test]
    fn header_names_and_values_that_would_split_the_request_are_refused() {
        assert!(check_header("x-ok", "a value\twith tab").is_ok());
        for (name, value) in [("bad name", "v"), ("x", "a\r\nInjected: yes"), ("", "v"), ("x", "nul\0")] {
            assert!(check_header(name, value).is_err(), "{name:?} {value:?}");
        }
    }

    #[test]
    fn an_answer_sent_while_the_body_goes_out_stops_the_sending_unless_it_is_informational() {
        let conn = |bytes: &[u8]| {
            let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std.local_addr().unwrap();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let answered = rt.block_on(async {
                let tcp = TcpStream::connect(addr).await.unwrap();
                let mut c =
                    Conn { stream: Stream::Plain(tcp), buf: bytes.to_vec(), out: Vec::new(), id: 1, used: 0 };
                let a = c.answered();
                (a, c.buf.len())
            });
            drop(std);
            answered
        };
        assert!(conn(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n").0);
        assert_eq!(conn(b"HTTP/1.1 100 Continue\r\n\r\n"), (false, 0), "a 100 is consumed");
        assert!(!conn(b"HTTP/1.1 41").0, "a partial head: read on");
        assert!(conn(b"garbage\r\n\r\n").0, "not HTTP: stop, and let the head fail");
    }
}
