//! HTTP/1.1 to a plain `http://` base URL: a pool of connections, each exchange written and read
//! by the task that sends it, with the response head parsed by httparse (hyper's parser) and the
//! body framed as RFC 9112 section 6.3 says. Every read is bounded: the head, a chunk-size line,
//! trailers, the body (the client's body limit).
//!
//! Why not a general client: a step's request costs little more than its syscalls this way; a
//! general client's machinery (a connection task, channels, a body stream) costs several times
//! that on loopback.

use super::{Incoming, Outgoing, Oversize, SendError};
use crate::plan::model::{Method, Pair};
use std::sync::Mutex;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// One connection, with what was read past the last response (normally nothing).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    out: Vec<u8>,
}

/// What every request to the base URL carries unless it sets its own: `Host`, `User-Agent`,
/// `Accept: */*` and, for a base URL with user info, `Authorization`.
#[derive(Debug, Clone)]
pub(super) struct Defaults {
    pub host: String,
    /// Lower-case name, value.
    pub headers: Vec<(String, String)>,
}

/// Connections to one `host:port`, idle ones kept for the next request.
pub(super) struct Pool {
    host: String,
    port: u16,
    idle: Mutex<Vec<Conn>>,
    /// The most idle connections kept.
    keep: usize,
    defaults: Defaults,
    max_body: u64,
}

/// Why an exchange failed, before it is typed for the caller (which needs the URL).
enum Broken {
    /// Nothing of a response arrived: the connection was closed or reset first.
    Early(String),
    /// Anything else: a malformed or cut response, an I/O error mid-way.
    Other(String),
}

impl Broken {
    fn at(self, url: &str) -> SendError {
        match self {
            Broken::Early(message) => SendError::Reset { url: url.to_string(), message },
            Broken::Other(message) => SendError::Other { url: url.to_string(), message },
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
    framing: Framing,
    /// Whether the connection may carry another request after this response.
    keep_alive: bool,
}

/// Whether a header value, a list of comma-separated tokens, holds `token` (case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The head of a response, from the bytes of it (complete, as httparse found them).
fn head(response: &httparse::Response<'_, '_>, method: &Method) -> Result<Head, String> {
    let status = response.code.ok_or("no status")?;
    let http11 = response.version == Some(1);
    let mut headers = Vec::with_capacity(response.headers.len());
    let (mut chunked, mut transfer_encoding, mut close) = (false, false, !http11);
    let mut length: Option<u64> = None;
    for h in response.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(h.value).into_owned();
        match name.as_str() {
            "transfer-encoding" => {
                transfer_encoding = true;
                // Chunked only when it is the last coding.
                chunked = value.rsplit(',').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
            }
            "content-length" => {
                // One length, perhaps repeated ("5, 5" or two headers): all the same, or invalid.
                for part in value.split(',') {
                    let part = part.trim();
                    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!("invalid content-length {value:?}"));
                    }
                    let n: u64 = part.parse().map_err(|_| format!("invalid content-length {value:?}"))?;
                    if length.is_some_and(|m| m != n) {
                        return Err("two different content-lengths".to_string());
                    }
                    length = Some(n);
                }
            }
            "connection" if has_token(&value, "close") => close = true,
            "connection" if !http11 && has_token(&value, "keep-alive") => close = false,
            _ => {}
        }
        headers.push(Pair { name, value });
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
    Ok(Head { status, headers, framing, keep_alive: !close })
}

impl Conn {
    /// Read more into the buffer (its spare room: nothing is zeroed first); `Ok(0)` at the end
    /// of the stream.
    async fn fill(&mut self) -> std::io::Result<usize> {
        self.buf.reserve(READ);
        self.stream.read_buf(&mut self.buf).await
    }

    /// The next final response head (informational 1xx ones skipped), consumed from the buffer.
    async fn read_head(&mut self, method: &Method) -> Result<Head, Broken> {
        let mut seen_any = false;
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
                Err(e) => return Err(cut(e.to_string())),
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

    /// One line (without its CRLF) of at most `max` bytes, consumed from the buffer.
    async fn line(&mut self, max: usize) -> Result<Vec<u8>, Broken> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
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
            Framing::Chunked => {
                loop {
                    let line = self.line(MAX_CHUNK_LINE).await?;
                    let text = String::from_utf8_lossy(&line);
                    let size_text = text.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(size_text, 16)
                        .ok()
                        .filter(|_| !size_text.is_empty() && size_text.len() <= 16)
                        .ok_or_else(|| Broken::Other(format!("invalid chunk size {size_text:?}")))?;
                    if size == 0 {
                        break;
                    }
                    let room = max.saturating_sub(body.len() as u64);
                    if size > room {
                        if !self.take_exact(room as usize, body).await? {
                            return Err(Broken::Other("connection closed before message completed".into()));
                        }
                        return Ok((over(None), false));
                    }
                    if !self.take_exact(size as usize, body).await? {
                        return Err(Broken::Other("connection closed before message completed".into()));
                    }
                    if !self.line(2).await?.is_empty() {
                        return Err(Broken::Other("a chunk is not followed by CRLF".into()));
                    }
                }
                // Trailers, up to the empty line; read and dropped.
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
        }
    }

    /// Whether it can take a request: nothing unread waits on it, and the server has not closed
    /// it (a read that would block says so without waiting).
    fn usable(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        match self.stream.try_read(&mut probe) {
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            // Closed (0), or bytes nobody asked for: either way, not for another request.
            Ok(_) => false,
        }
    }
}

/// A header name as RFC 9110 section 5.1 allows (a token), and a value without CR, LF or NUL.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("builder error: invalid header name {name:?}"));
    }
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
        return Err(format!("builder error: invalid value for header {name}: a line break or NUL in it"));
    }
    Ok(())
}

impl Pool {
    pub(super) fn new(host: &str, port: u16, keep: usize, defaults: Defaults, max_body: u64) -> Pool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        Pool { host, port, idle: Mutex::new(Vec::new()), keep: keep.max(1), defaults, max_body }
    }

    async fn open(&self, url: &str) -> Result<Conn, SendError> {
        let connect = |e: std::io::Error| SendError::Connect { url: url.to_string(), message: e.to_string() };
        let stream = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(connect)?;
        // Requests are small and each waits for its answer: nothing is gained by Nagle's delay.
        stream.set_nodelay(true).map_err(connect)?;
        Ok(Conn { stream, buf: Vec::new(), out: Vec::new() })
    }

    /// An idle connection that can take a request, else a new one; `fresh` always opens one.
    async fn take(&self, url: &str, fresh: bool) -> Result<Conn, SendError> {
        if !fresh {
            loop {
                let next = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let Some(mut c) = next else { break };
                if c.usable() {
                    return Ok(c);
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
    fn write_request(&self, r: &Outgoing, out: &mut Vec<u8>) -> Result<(), String> {
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
        if !r.body.is_empty() {
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
        let url = r.url.as_str();
        let exchange = async {
            let mut conn = self.take(url, fresh).await?;
            let mut out = std::mem::take(&mut conn.out);
            self.write_request(r, &mut out)
                .map_err(|message| SendError::Other { url: url.to_string(), message })?;
            let started = Instant::now();
            // A pooled connection the server has closed fails here, before any response: early.
            conn.stream.write_all(&out).await.map_err(|e| Broken::Early(e.to_string()).at(url))?;
            conn.out = out;
            let head = conn.read_head(&r.method).await.map_err(|b| b.at(url))?;
            let mut body = Vec::new();
            let (oversize, usable) =
                conn.read_body(head.framing, self.max_body, &mut body).await.map_err(|b| b.at(url))?;
            let latency = started.elapsed();
            let declared = match head.framing {
                Framing::Length(n) => Some(n),
                _ => None,
            };
            let oversize = oversize.map(|o| Oversize { declared: o.declared.or(declared), ..o });
            if usable && head.keep_alive && !fresh {
                self.give_back(conn);
            }
            Ok(Incoming {
                status: head.status,
                headers: head.headers,
                body,
                latency,
                oversize,
                retried: None,
            })
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(limit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8], method: &Method) -> Result<Head, String> {
        let mut slots = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut slots);
        match response.parse(raw).map_err(|e| e.to_string())? {
            httparse::Status::Complete(_) => head(&response, method),
            httparse::Status::Partial => Err("partial".into()),
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
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        ] {
            assert!(parse(bad, &get).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn header_names_and_values_that_would_split_the_request_are_refused() {
        assert!(check_header("x-ok", "a value\twith tab").is_ok());
        for (name, value) in [("bad name", "v"), ("x", "a\r\nInjected: yes"), ("", "v"), ("x", "nul\0")] {
            assert!(check_header(name, value).is_err(), "{name:?} {value:?}");
        }
    }
}
