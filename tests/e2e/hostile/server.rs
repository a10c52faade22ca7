//! A small hostile HTTP/1.1 server for the hostile-service tests: on 127.0.0.1, plain or over TLS
//! (a certificate made for the run, its CA handed to smoke with `--cacert`), one thread per
//! connection, every read and write bounded in size and time, stopped when dropped. Each request
//! it sees is recorded; a handler decides the reply, which may be well-behaved or not: a body of
//! hundreds of megabytes, an endless chunked body, control characters, a stray response, or a
//! connection closed without an answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
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
    /// These bytes; then, after `after`, these others (a response the client never asked for),
    /// written in one piece with the answer to the next request on the connection.
    Twice { first: Vec<u8>, after: Duration, then: Vec<u8> },
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Send { status, content_type: "application/json", body: body.as_bytes().to_vec() }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// How the server speaks.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Bytes written as soon as a connection is accepted, before any request is read: an answer
    /// nobody asked for (yet).
    pub greeting: Option<Vec<u8>>,
    /// Over TLS, with a certificate for 127.0.0.1 signed by a CA made for this server.
    pub tls: bool,
    /// Answer as soon as the request head is read, never reading its body (then close): a
    /// server refusing an upload it will not take.
    pub before_body: bool,
    /// Over TLS, ask every client for a certificate the server's CA signed (mutual TLS).
    pub client_certificates: bool,
}

pub struct Hostile {
    pub port: u16,
    pub url: String,
    /// The CA that signed the server's certificate (PEM), when over TLS.
    pub ca_pem: Option<String>,
    /// A client certificate and key (PEM) the server accepts, when it asks for one.
    pub client: Option<(String, String)>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

/// What a TLS server is made of: its CA (PEM), its config, and, when it asks clients for a
/// certificate, one its CA signed (certificate and key, PEM).
struct Made {
    ca_pem: String,
    config: Arc<rustls::ServerConfig>,
    client: Option<(String, String)>,
}

/// A CA and a certificate for 127.0.0.1 and localhost signed by it; with `clients`, the server
/// asks every client for a certificate that CA signed, and one is made.
fn tls_config(clients: bool) -> Made {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "smoke hostile test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let (builder, client) = match clients {
        false => (builder.with_no_client_auth(), None),
        true => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca_cert.der().clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap();
            let client_key = KeyPair::generate().unwrap();
            let client_cert = CertificateParams::new(vec!["smoke-client".to_string()])
                .unwrap()
                .signed_by(&client_key, &issuer)
                .unwrap();
            (
                builder.with_client_cert_verifier(verifier),
                Some((client_cert.pem(), client_key.serialize_pem())),
            )
        }
    };
    let config = builder
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    Made { ca_pem: ca_cert.pem(), config: Arc::new(config), client }
}

/// A connection's stream, plain or TLS.
trait Io: Read + Write + Send {
    /// Say the stream ends here, as a well-behaved server does before it closes (TLS's
    /// close_notify; nothing over plain TCP).
    fn end(&mut self) {}
}

impl Io for std::net::TcpStream {}

impl Io for rustls::StreamOwned<rustls::ServerConnection, std::net::TcpStream> {
    fn end(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

/// How long one connection may live, whatever it does.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// The largest request head or body the server reads.
const MAX_REQUEST: usize = 1 << 20;

impl Hostile {
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Hostile {
        Hostile::start_with(Options::default(), handler)
    }

    /// [`Hostile::start`], over TLS when `tls`.
    pub fn start_tls(tls: bool, handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Hostile {
        Hostile::start_with(Options { tls, ..Options::default() }, handler)
    }

    pub fn start_with(options: Options, handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Hostile {
        let (ca_pem, config, client) = match options.tls {
            true => {
                let made = tls_config(options.client_certificates);
                (Some(made.ca_pem), Some(made.config), made.client)
            }
            false => (None, None, None),
        };
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let scheme = if options.tls { "https" } else { "http" };
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (seen, stop, handler) = (seen2.clone(), stop2.clone(), handler.clone());
                        let config = config.clone();
                        let options = options.clone();
                        std::thread::spawn(move || {
                            let _ = stream.set_nonblocking(false);
                            // An answer goes out when written, as from any server that means its
                            // answers to arrive: with Nagle's delay a 413 sent before the upload is
                            // read could wait for an ACK, then be thrown away by the close's reset.
                            let _ = stream.set_nodelay(true);
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                            let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                            let io: Box<dyn Io> = match config {
                                Some(c) => match rustls::ServerConnection::new(c) {
                                    Ok(conn) => Box::new(rustls::StreamOwned::new(conn, stream)),
                                    Err(_) => return,
                                },
                                None => Box::new(stream),
                            };
                            serve(io, options, &seen, &stop, handler.as_ref())
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Hostile {
            port,
            url: format!("{scheme}://127.0.0.1:{port}"),
            ca_pem,
            client,
            seen,
            stop,
            accept: Some(accept),
        }
    }

    /// The smoke arguments that make it trust this server: `--cacert FILE` (written into `dir`)
    /// over TLS, nothing otherwise.
    pub fn trust(&self, dir: &std::path::Path) -> Vec<String> {
        match &self.ca_pem {
            Some(pem) => {
                let path = dir.join(format!("ca-{}.pem", self.port));
                std::fs::write(&path, pem).unwrap();
                vec!["--cacert".into(), path.display().to_string()]
            }
            None => vec![],
        }
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

fn serve(io: Box<dyn Io>, options: Options, seen: &Mutex<Vec<Seen>>, stop: &AtomicBool, handler: &Handler) {
    let born = Instant::now();
    let mut io = io;
    if let Some(greeting) = &options.greeting
        && (io.write_all(greeting).is_err() || io.flush().is_err())
    {
        return;
    }
    let mut reader = BufReader::new(io);
    let mut nth = 0;
    // A stray response waiting to go out with the next answer.
    let mut ahead: Vec<u8> = Vec::new();
    while !stop.load(Ordering::Relaxed) && born.elapsed() < CONNECTION_LIFETIME {
        let Some(request) = read_request(&mut reader, nth + 1, !options.before_body) else { return };
        nth += 1;
        seen.lock().unwrap().push(request.clone());
        let reply = handler(&request);
        let writer = reader.get_mut();
        let stray = std::mem::take(&mut ahead);
        let kept = match reply {
            Reply::Send { status, content_type, body } => {
                let head = format!(
                    "HTTP/1.1 {status} Hostile\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                writer.write_all(&[stray.as_slice(), head.as_bytes(), &body].concat()).is_ok()
            }
            Reply::Flood { bytes, chunked } => {
                flood(writer.as_mut(), bytes, chunked);
                false
            }
            Reply::Close => return,
            Reply::Raw { bytes, close } => {
                writer.write_all(&[stray.as_slice(), &bytes].concat()).is_ok() && !close
            }
            Reply::Twice { first, after, then } => {
                let sent = writer
                    .write_all(&[stray.as_slice(), &first].concat())
                    .and_then(|()| writer.flush())
                    .is_ok();
                std::thread::sleep(after);
                ahead = then;
                sent
            }
        };
        if !kept || writer.flush().is_err() || options.before_body {
            // Closed by the server after an answer, as it meant to: say so (an abrupt close,
            // `Reply::Close`, has already returned).
            writer.end();
            return;
        }
    }
}

fn flood(writer: &mut dyn Io, bytes: u64, chunked: bool) {
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
    let _ = writer.flush();
}

/// One request (its body read when `body`), or None when the client closed the connection or
/// sent something unreadable.
fn read_request(reader: &mut BufReader<Box<dyn Io>>, nth: u32, body: bool) -> Option<Seen> {
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
    let mut content = vec![0; if body { length } else { 0 }];
    reader.read_exact(&mut content).ok()?;
    Some(Seen { method, target, headers, nth_on_connection: nth, body: content })
}
