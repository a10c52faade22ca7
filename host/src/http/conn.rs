//! HTTP/1.1 to a plain `http://` base URL over hyper's connection API. Connections are pooled,
//! and each exchange is driven by the task that sends it: there is no connection task to hand a
//! request to and be woken by, which is most of what a request costs a client on loopback.

use super::{Incoming, Outgoing, Oversize, SendError};
use crate::plan::model::Pair;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Context;
use std::time::Instant;
use tokio::net::TcpStream;

type Connection = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One connection: the handle requests go in by, and the connection itself, which only makes
/// progress while someone polls it (see [`drive`]).
struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    connection: Pin<Box<Connection>>,
    /// Set once the connection future has ended (the server closed it, or it failed).
    ended: bool,
}

impl Conn {
    /// Whether it can take a request: poll it once (without waiting) to notice a close.
    fn usable(&mut self) -> bool {
        if !self.ended {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            if self.connection.as_mut().poll(&mut cx).is_ready() {
                self.ended = true;
            }
        }
        !self.ended && self.sender.is_ready()
    }
}

/// Poll `future` to its end while driving the connection: the connection reads and writes as
/// the future needs it to. Once the connection ends, the future alone is polled (it then fails,
/// or finishes from what was already read).
async fn drive<F: Future>(connection: &mut Pin<Box<Connection>>, ended: &mut bool, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        if !*ended && connection.as_mut().poll(cx).is_ready() {
            *ended = true;
        }
        future.as_mut().poll(cx)
    })
    .await
}

/// What every request to the base URL carries unless it sets its own: `Host`, `User-Agent`,
/// `Accept: */*` and, for a base URL with user info, `Authorization`.
#[derive(Debug, Clone)]
pub(super) struct Defaults {
    pub host: http::HeaderValue,
    pub headers: http::HeaderMap,
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

/// The failure of one exchange, typed as the client's callers see it.
fn failure(url: &str, e: hyper::Error) -> SendError {
    let message = super::root_cause(&e);
    if super::closed_early(&e) {
        SendError::Reset { url: url.to_string(), message }
    } else {
        SendError::Other { url: url.to_string(), message }
    }
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
        let (sender, connection) =
            http1::Builder::new().handshake(TokioIo::new(stream)).await.map_err(|e| failure(url, e))?;
        Ok(Conn { sender, connection: Box::pin(connection), ended: false })
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

    /// The request as hyper takes it: origin-form target, the request's headers, then the
    /// defaults it does not set itself.
    fn request(&self, r: &Outgoing) -> Result<http::Request<Full<Bytes>>, String> {
        let target = match r.url.query() {
            Some(q) => format!("{}?{q}", r.url.path()),
            None => r.url.path().to_string(),
        };
        let method = http::Method::from_bytes(r.method.as_str().as_bytes()).map_err(|e| e.to_string())?;
        let mut request = http::Request::builder()
            .method(method)
            .uri(target)
            .body(Full::new(Bytes::from(r.body.clone())))
            .map_err(|e| format!("builder error: {e}"))?;
        let headers = request.headers_mut();
        for h in &r.headers {
            let name = http::HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|e| format!("builder error: invalid header name {:?}: {e}", h.name))?;
            let value = http::HeaderValue::from_str(&h.value)
                .map_err(|e| format!("builder error: invalid value for header {}: {e}", h.name))?;
            headers.append(name, value);
        }
        if !headers.contains_key(http::header::HOST) {
            headers.insert(http::header::HOST, self.defaults.host.clone());
        }
        for (name, value) in &self.defaults.headers {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        Ok(request)
    }

    /// One exchange, over a pooled connection (or a new one, when `fresh`), within `limit`.
    pub(super) async fn send_once(
        &self,
        r: &Outgoing,
        limit: std::time::Duration,
        fresh: bool,
    ) -> Result<Incoming, SendError> {
        let url = r.url.as_str();
        let request =
            self.request(r).map_err(|message| SendError::Other { url: url.to_string(), message })?;
        let exchange = async {
            let mut conn = self.take(url, fresh).await?;
            let started = Instant::now();
            let Conn { sender, connection, ended } = &mut conn;
            let sent = sender.send_request(request);
            let response = drive(connection, ended, sent).await.map_err(|e| failure(url, e))?;
            let status = response.status().as_u16();
            let headers: Vec<Pair> = response
                .headers()
                .iter()
                .map(|(name, value)| Pair {
                    name: name.as_str().to_string(),
                    value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
                })
                .collect();
            let declared = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let mut body = Vec::new();
            let mut oversize = None;
            let mut reusable = true;
            if declared.is_some_and(|n| n > self.max_body) {
                // Not a byte is read: the connection is dropped with the response.
                oversize = Some(Oversize { limit: self.max_body, declared });
                reusable = false;
            } else {
                let mut incoming = response.into_body();
                // Read frame by frame, so memory stays bounded whatever the server sends.
                loop {
                    let frame = drive(connection, ended, incoming.frame()).await;
                    let Some(frame) = frame else { break };
                    let frame = frame.map_err(|e| match failure(url, e) {
                        SendError::Reset { url, message } => SendError::Other { url, message },
                        other => other,
                    })?;
                    let Ok(chunk) = frame.into_data() else { continue };
                    if body.len() as u64 + chunk.len() as u64 > self.max_body {
                        let room = (self.max_body as usize).saturating_sub(body.len());
                        body.extend_from_slice(&chunk[..room.min(chunk.len())]);
                        oversize = Some(Oversize { limit: self.max_body, declared });
                        reusable = false;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
            }
            let latency = started.elapsed();
            if reusable && !fresh {
                self.give_back(conn);
            }
            Ok(Incoming { status, headers, body, latency, oversize, retried: None })
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(limit)),
        }
    }
}
