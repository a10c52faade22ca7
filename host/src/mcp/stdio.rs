//! A stdio server's pipes, relayed: its stdout checked line by line (nothing but JSON-RPC may
//! appear there), and both pipes handed to a new SDK connection when a session is begun again on
//! the same process (`initialize` after a `server/discover` the server did not take).

use super::Pages;
use std::sync::{Arc, Mutex};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;

/// What a line on stdout that is not JSON-RPC does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    /// It closes the session: every call from then on fails, saying what was printed.
    Close,
    /// It is noted (the protocol check `stdout` fails on it) and dropped; the session goes on.
    Note,
}

/// What a stdio server printed that is not JSON-RPC: what closed its session, or the lines noted.
#[derive(Debug, Default)]
pub struct Printed {
    /// What closed the session.
    pub closed: Option<String>,
    /// The first line noted, and how many were.
    pub noted: Option<(String, usize)>,
}

/// The pipes of one server process, for one SDK connection after another.
pub struct Relay {
    sinks: mpsc::UnboundedSender<DuplexStream>,
    feeds: mpsc::UnboundedSender<DuplexStream>,
}

impl Relay {
    /// Relay `stdout` (checked) and `stdin`; what the server printed that is not JSON-RPC goes
    /// to `printed`, and closes the session or is dropped as `noise` says.
    pub fn start(
        stdout: tokio::process::ChildStdout,
        stdin: tokio::process::ChildStdin,
        printed: Arc<Mutex<Printed>>,
        noise: Noise,
        pages: Arc<Pages>,
    ) -> (Relay, (DuplexStream, DuplexStream)) {
        let (sinks, sinks_rx) = mpsc::unbounded_channel();
        let (feeds, feeds_rx) = mpsc::unbounded_channel();
        let relay = Relay { sinks, feeds };
        // The first connection is there before anything is read: no early line is dropped.
        let first = relay.connect();
        tokio::spawn(forward_json_lines(stdout, sinks_rx, (printed, noise), pages));
        tokio::spawn(feed(feeds_rx, stdin));
        (relay, first)
    }

    /// A connection for the SDK after the first: what it reads and what it writes. The one before
    /// it is done with once the SDK drops it.
    pub fn connect(&self) -> (DuplexStream, DuplexStream) {
        let (reads, sink) = tokio::io::duplex(64 << 10);
        let (writes, feed) = tokio::io::duplex(64 << 10);
        let _ = self.sinks.send(sink);
        let _ = self.feeds.send(feed);
        (reads, writes)
    }
}

/// Copy what each connection writes to the server's stdin in turn; when the relay is dropped
/// and the last connection closes, close stdin (the server's signal to end).
async fn feed(mut feeds: mpsc::UnboundedReceiver<DuplexStream>, mut stdin: tokio::process::ChildStdin) {
    while let Some(mut from) = feeds.recv().await {
        if tokio::io::copy(&mut from, &mut stdin).await.is_err() {
            return;
        }
    }
}

/// The largest line a stdio server may print: one JSON-RPC message.
const MAX_LINE: usize = 16 << 20;

/// What a line on a stdio server's stdout must be to be passed on: a JSON object with a
/// `jsonrpc` member (the SDK reads the rest; reading it whole here too would hold a large answer
/// twice).
#[derive(serde::Deserialize)]
struct JsonRpcLine {
    #[allow(dead_code)]
    jsonrpc: serde::de::IgnoredAny,
}

/// Copy a stdio server's stdout line by line, while every line is JSON-RPC, to the connection
/// the session now reads (`sinks` hands over the next one when a handshake is tried again; a line
/// that comes while none reads is dropped). A line that is not JSON-RPC (or is longer than
/// [`MAX_LINE`]) is noted and dropped, or stops the relay, saying what it was.
async fn forward_json_lines(
    stdout: tokio::process::ChildStdout,
    mut sinks: mpsc::UnboundedReceiver<DuplexStream>,
    (printed, noise): (Arc<Mutex<Printed>>, Noise),
    pages: Arc<Pages>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let mut lines = tokio::io::BufReader::with_capacity(64 << 10, stdout);
    let mut line = Vec::new();
    let mut to: Option<DuplexStream> = None;
    loop {
        line.clear();
        let read = (&mut lines).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line).await;
        let found = match read {
            Ok(0) | Err(_) => return,
            Ok(_) if line.len() > MAX_LINE => Some(format!("a line longer than {} MiB", MAX_LINE >> 20)),
            Ok(_) => {
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                match serde_json::from_slice::<JsonRpcLine>(text) {
                    Ok(_) => None,
                    Err(_) if text.iter().all(u8::is_ascii_whitespace) => None,
                    Err(_) => {
                        let shown: String = String::from_utf8_lossy(text).chars().take(120).collect();
                        Some(format!("{:?}", super::lint::redact_secrets(&shown)))
                    }
                }
            }
        };
        if let Some(what) = found {
            let said = format!(
                "the MCP server printed {what} on stdout, which is not JSON-RPC (a stdio server must print \
                 nothing else there: logs go to stderr)"
            );
            if noise == Noise::Note && line.len() <= MAX_LINE {
                let mut printed = printed.lock().unwrap_or_else(|e| e.into_inner());
                match printed.noted.as_mut() {
                    Some((_, count)) => *count += 1,
                    None => {
                        tracing::warn!("mcp: {}; the line is dropped", crate::http::escape_line(&said));
                        printed.noted = Some((said, 1));
                    }
                }
                continue;
            }
            let message = format!("{said}; the session is closed");
            tracing::warn!("mcp: {}", crate::http::escape_line(&message));
            printed.lock().unwrap_or_else(|e| e.into_inner()).closed = Some(message);
            if let Some(to) = to.as_mut() {
                let _ = to.shutdown().await;
            }
            return;
        }
        while let Ok(next) = sinks.try_recv() {
            to = Some(next);
        }
        let Some(sink) = to.as_mut() else { continue };
        // A page of the tool list goes on without its entries, which are kept as listed.
        let slim = pages
            .listing()
            .then(|| std::str::from_utf8(&line).ok().and_then(|l| pages.take_page(l)))
            .flatten();
        let written = match slim {
            Some(slim) => sink.write_all(format!("{slim}\n").as_bytes()).await,
            None => sink.write_all(&line).await,
        };
        if written.is_err() {
            // The session that read it is gone; the next attempt's reads from here.
            to = None;
        }
        // A large answer's buffer is not kept for the rest of the session.
        if line.capacity() > 1 << 20 {
            line = Vec::new();
        }
    }
}
