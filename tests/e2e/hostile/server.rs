//! A small hostile HTTP/1.1 server for the hostile-service tests: on 127.0.0.1, one thread per
//! connection, every read and write bounded in size and time, stopped when dropped. Each request
//! it sees is recorded; a handler decides the reply, which may be well-behaved or not: a body of
//! hundreds of megabytes, an endless chunked body, control characters, or a connection closed
//! without an answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// Its position on its connection (from 1).
    pub nth_on_connection: u32,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
pub enum Reply {
    /// A complete response with a Content-Length; the connection stays open.
    Send { status: u16, content_type: &'static str, body: Vec<u8> },
    /// A body of `bytes` bytes (`u64::MAX`: endless), declared with a Content-Length or sent
    /// chunked; writing stops when the client goes away or after 30 s.
    Flood { bytes: u64, chunked: bool },
    /// Read the request, then close the connection without a byte of answer.
    Close,
    /// These bytes as the whole answer, as they are; the connection stays open, or is closed
    /// after them when `close`.
    Raw { bytes: Vec<u8>, close: bool },
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Send { status, content_type: "application/json", body: body.as_bytes().to_vec() }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

pub struct Hostile {
    pub port: u16,
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

/// How long one connection may live, whatever it does.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// The largest request head or body the server reads.
const MAX_REQUEST: usize = 1 << 20;

impl Hostile {
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (seen, stop, handler) = (seen2.clone(), stop2.clone(), handler.clone());
                        std::thread::spawn(move || serve(stream, &seen, &stop, handler.as_ref()));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Hostile { port, url: format!("http://127.0.0.1:{port}"), seen, stop, accept: Some(accept) }
    }

    /// Every request seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, stop: &AtomicBool, handler: &Handler) {
    let born = Instant::now();
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut nth = 0;
    while !stop.load(Ordering::Relaxed) && born.elapsed() < CONNECTION_LIFETIME {
        let Some(request) = read_request(&mut reader, nth + 1) else { return };
        nth += 1;
        seen.lock().unwrap().push(request.clone());
        match handler(&request) {
            Reply::Send { status, content_type, body } => {
                let head = format!(
                    "HTTP/1.1 {status} Hostile\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(&body)).is_err() {
                    return;
                }
            }
            Reply::Flood { bytes, chunked } => {
                flood(&mut writer, bytes, chunked);
                return;
            }
            Reply::Close => return,
            Reply::Raw { bytes, close } => {
                if writer.write_all(&bytes).is_err() || close {
                    return;
                }
            }
        }
    }
}

fn flood(writer: &mut TcpStream, bytes: u64, chunked: bool) {
    let head = if chunked {
        "HTTP/1.1 200 Hostile\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_string()
    } else {
        format!("HTTP/1.1 200 Hostile\r\ncontent-type: application/json\r\ncontent-length: {bytes}\r\n\r\n")
    };
    if writer.write_all(head.as_bytes()).is_err() {
        return;
    }
    let block = vec![b'x'; 64 << 10];
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < bytes && started.elapsed() < Duration::from_secs(30) {
        let n = (bytes - sent).min(block.len() as u64) as usize;
        let written = if chunked {
            writer
                .write_all(format!("{n:x}\r\n").as_bytes())
                .and_then(|()| writer.write_all(&block[..n]))
                .and_then(|()| writer.write_all(b"\r\n"))
        } else {
            writer.write_all(&block[..n])
        };
        if written.is_err() {
            return;
        }
        sent += n as u64;
    }
    if chunked {
        let _ = writer.write_all(b"0\r\n\r\n");
    }
}

/// One request, or None when the client closed the connection or sent something unreadable.
fn read_request(reader: &mut BufReader<TcpStream>, nth: u32) -> Option<Seen> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let before = head.len();
        reader.by_ref().take(MAX_REQUEST as u64).read_until(b'\n', &mut head).ok()?;
        if head.len() == before || head.len() >= MAX_REQUEST {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen { method, target, headers, nth_on_connection: nth, body })
}
