//! The documents a plugin's config names (an OpenAPI document, a JSON Schema), read for it: a
//! file (a regular one, bounded) or a URL (bounded in time and size; redirects followed on its own
//! origin only; no Referer), and the other documents their `$ref`s name, read under the same
//! rules and no further than the user's own reach (a document from elsewhere never makes smoke
//! read a private address or a file outside the project).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A document a plugin's config names that cannot be had.
#[derive(Debug, thiserror::Error)]
pub(super) enum DocumentError {
    #[error("cannot fetch {url}: {}", crate::http::root_cause(.source))]
    Fetch { url: String, source: reqwest::Error },
    #[error("fetching {url} returned status {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is over the limit of {MAX_DOCUMENT_BYTES} bytes for a document")]
    TooLarge { url: String },
    #[error(
        "{url} answered an HTML page, not a document: a sign-in page? (name the document's own URL; \
         one the service serves to smoke-test it must not need a browser)"
    )]
    Html { url: String },
    #[error(transparent)]
    File(#[from] crate::files::ReadError),
}

/// The largest document read for a plugin (an OpenAPI document of thousands of operations is a
/// few megabytes).
const MAX_DOCUMENT_BYTES: u64 = 64 << 20;

/// The bytes of a document: fetched (bounded in time and size) or read from a file. A document
/// named by another fetched one is fetched without following redirects (`may_follow` judged its
/// URL, and a redirect could lead anywhere, a private address), with a URL's host reached only at `pinned` addresses when given (what
/// `may_follow` checked, so a name that resolves elsewhere the second time, DNS rebinding, is
/// not followed there; and no proxy, which would resolve it again); and the address the response
/// came from. `credentials` (headers) go with the request: the caller gives them only for a URL
/// on the target's own origin, and redirects never leave it.
pub(super) async fn fetch_document(
    source: &str,
    base_dir: &Path,
    follow_redirects: bool,
    pinned: Option<&[std::net::SocketAddr]>,
    credentials: &[(String, String)],
) -> Result<(Vec<u8>, Option<std::net::SocketAddr>), DocumentError> {
    if is_url(source) {
        let fetch = |e| DocumentError::Fetch { url: crate::http::shown_url(source), source: e };
        // No Referer: a document's URL may carry a token in its query.
        let mut builder = crate::http::client_builder().timeout(Duration::from_secs(30)).referer(false);
        builder = builder.redirect(match follow_redirects {
            true => same_origin_redirects(source),
            false => reqwest::redirect::Policy::none(),
        });
        if let (Some(addresses), Some(host)) =
            (pinned, url::Url::parse(source).ok().and_then(|u| u.host_str().map(String::from)))
        {
            let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
            // Port 0: the URL's own port, or its scheme's (an address reached over http may be
            // asked again over https).
            let addresses: Vec<std::net::SocketAddr> =
                addresses.iter().map(|a| std::net::SocketAddr::new(a.ip(), 0)).collect();
            builder = builder.no_proxy().resolve_to_addrs(&bare, &addresses);
        }
        let client = builder.build().map_err(fetch)?;
        let mut request = client.get(source);
        for (name, value) in credentials {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = request.send().await.map_err(fetch)?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            return Err(DocumentError::Status { url: crate::http::shown_url(source), status });
        }
        // Where it came from, when it came from the host its URL names (not a redirect's).
        let same_host =
            response.url().host_str() == url::Url::parse(source).ok().as_ref().and_then(|u| u.host_str());
        let remote = response.remote_addr().filter(|_| same_host);
        let html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
                return Err(DocumentError::TooLarge { url: crate::http::shown_url(source) });
            }
        }
        if html || looks_like_html(&bytes) {
            return Err(DocumentError::Html { url: crate::http::shown_url(source) });
        }
        return Ok((bytes, remote));
    }
    let path = base_dir.join(source);
    let bytes = crate::files::read(&path, MAX_DOCUMENT_BYTES, "a document")?;
    Ok((bytes, None))
}

/// Whether two URLs share an origin (scheme, host and port).
pub(super) fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// Whether a body is an HTML page (`<!doctype html`, `<html`), whatever its content type says: an
/// OpenAPI or JSON document never starts so.
fn looks_like_html(bytes: &[u8]) -> bool {
    let start: Vec<u8> =
        bytes.iter().skip_while(|b| b.is_ascii_whitespace()).take(15).map(u8::to_ascii_lowercase).collect();
    start.starts_with(b"<!doctype html") || start.starts_with(b"<html")
}

/// A user-named document's redirects are followed on its own origin (scheme, host and port)
/// only: another origin, or a private address behind one, is not what the user named, and the
/// URL (a token in its query) would travel there.
fn same_origin_redirects(source: &str) -> reqwest::redirect::Policy {
    let origin = url::Url::parse(source).ok().map(|u| u.origin());
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("more than 10 redirects");
        }
        if origin.as_ref().is_some_and(|o| *o == attempt.url().origin()) {
            return attempt.follow();
        }
        let to = crate::http::shown_url(attempt.url().as_str());
        attempt.error(format!(
            "it redirects to {to}, another origin: smoke follows a document's redirects only on the origin \
             named (scheme, host and port); name that URL instead if it is the one meant"
        ))
    })
}

/// The most documents a document may pull in through `$ref`s, and the most bytes all together.
const MAX_REFERENCED_DOCUMENTS: usize = 64;

/// The documents `$ref`s of a JSON or YAML document name in other files or at URLs (`common.yaml#/
/// Pet`, `https://.../pet.json`), read the way the document was, following their own references in
/// turn: each once (cycles end), at most `MAX_REFERENCED_DOCUMENTS` of them and
/// `MAX_DOCUMENT_BYTES` in all. Each comes as (source, bytes), its source the reference resolved
/// against the source of the document that made it (`dir/common.yaml`, a URL), which is how the
/// plugin finds it again. A document fetched from a URL may name only URLs; a file only files
/// under the project's directory or the first document's. What cannot be read is a warning: the
/// operations that need it are the plugin's to leave out.
pub(super) async fn read_referenced(
    source: &str,
    content: &[u8],
    base_dir: &Path,
    remote: Option<std::net::SocketAddr>,
) -> Vec<(String, Vec<u8>)> {
    if !has_external_ref(content) {
        return Vec::new();
    }
    let mut reader = References::new(source, content, base_dir, remote);
    while let Some((from, refs)) = reader.queue.pop_front() {
        for reference in refs {
            match reader.follow(&from, &reference).await {
                Next::Read | Next::Skip => {}
                Next::Stop => return reader.out,
            }
        }
    }
    reader.out
}

/// What following one reference came to.
enum Next {
    Read,
    /// Not read (said why): go on with the next.
    Skip,
    /// A limit was reached (said so): read no more.
    Stop,
}

/// The state of reading a document's references: what was read, what is still to follow, and
/// the limits that hold across all of them.
struct References<'a> {
    source: &'a str,
    base_dir: &'a Path,
    out: Vec<(String, Vec<u8>)>,
    /// The addresses each host was reached at: a document's own host is reached there again, and
    /// another host only at the addresses `may_follow` found public.
    reached: std::collections::HashMap<String, Vec<std::net::SocketAddr>>,
    /// Where files may be: the real folders (symbolic links followed), so "under" means under.
    allowed: Vec<PathBuf>,
    seen: std::collections::BTreeSet<String>,
    queue: std::collections::VecDeque<(String, Vec<String>)>,
    total: usize,
    /// Every reference tried counts, read or not; and all of them share one deadline.
    tried: usize,
    deadline: std::time::Instant,
    warnings: usize,
}

fn host_of(u: &str) -> Option<String> {
    url::Url::parse(u).ok().and_then(|u| u.host_str().map(String::from))
}

fn real(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

impl<'a> References<'a> {
    fn new(
        source: &'a str,
        content: &[u8],
        base_dir: &'a Path,
        remote: Option<std::net::SocketAddr>,
    ) -> Self {
        let mut reached = std::collections::HashMap::new();
        if let (Some(addr), Some(host)) = (remote, host_of(source)) {
            reached.insert(host, vec![addr]);
        }
        let allowed =
            [real(base_dir), real(&base_dir.join(source)).and_then(|d| d.parent().map(Path::to_path_buf))]
                .into_iter()
                .flatten()
                .collect();
        let first = if is_url(source) { source.to_string() } else { normal_source(source) };
        References {
            source,
            base_dir,
            out: Vec::new(),
            reached,
            allowed,
            seen: [first].into(),
            queue: [(source.to_string(), external_refs(content))].into(),
            total: content.len(),
            tried: 0,
            deadline: std::time::Instant::now() + Duration::from_secs(60),
            warnings: 0,
        }
    }

    fn warn(&mut self, message: String) {
        self.warnings += 1;
        if self.warnings <= MAX_REFERENCE_WARNINGS {
            crate::warn_user!("{message}");
        } else if self.warnings == MAX_REFERENCE_WARNINGS + 1 {
            crate::warn_user!("{}: more references cannot be read; not listed", shown(self.source));
        }
    }

    /// Follow one `$ref` of the document at `from`: resolve it, check it may be read, read it.
    async fn follow(&mut self, from: &str, reference: &str) -> Next {
        let Some(target) = resolve_reference(from, reference) else {
            let reference = crate::http::escape_line(reference);
            self.warn(format!(
                "{}: $ref {reference:?} is neither a relative file nor an http(s) URL; not read",
                shown(from)
            ));
            return Next::Skip;
        };
        if !self.seen.insert(target.clone()) {
            return Next::Skip;
        }
        self.tried += 1;
        if self.tried > MAX_REFERENCED_DOCUMENTS || std::time::Instant::now() > self.deadline {
            self.warn(format!(
                "{}: more than {MAX_REFERENCED_DOCUMENTS} referenced documents, or more than 60 s reading them; {} \
                 and later ones not read",
                shown(self.source),
                shown(&target)
            ));
            return Next::Stop;
        }
        let pinned = match self.may_read(from, &target).await {
            Ok(pinned) => pinned,
            Err(Unreadable::Outside { path }) => {
                self.warn(format!(
                    "{}: $ref {:?} names {}, outside the project and the document's folder; not read",
                    shown(from),
                    shown(reference),
                    path.display()
                ));
                return Next::Skip;
            }
            Err(why) => {
                self.warn(format!("{}: $ref {:?}: {why}; not read", shown(from), shown(reference)));
                return Next::Skip;
            }
        };
        self.read(from, reference, target, pinned.as_deref()).await
    }

    /// Whether the document at `from` may make smoke read `target`, and the addresses a URL's
    /// host is to be reached at.
    async fn may_read(
        &self,
        from: &str,
        target: &str,
    ) -> Result<Option<Vec<std::net::SocketAddr>>, Unreadable> {
        match (is_url(from), is_url(target)) {
            (true, false) => Err(Unreadable::FileFromUrl),
            (true, true) => {
                let target_host = host_of(target).unwrap_or_default();
                let own = host_of(from).as_deref() == Some(target_host.as_str());
                match self.reached.get(&target_host).filter(|_| own) {
                    // Its own host, where the document came from: there again, and nowhere else.
                    Some(addresses) => Ok(Some(addresses.clone())),
                    None => Ok(Some(may_follow(from, target).await?)),
                }
            }
            // A file may name a URL: the user's own document reaches where it says.
            (false, true) => Ok(None),
            (false, false) => {
                let path = self.base_dir.join(target);
                match real(&path) {
                    Some(p) if self.allowed.iter().any(|a| p.starts_with(a)) => Ok(None),
                    Some(p) => Err(Unreadable::Outside { path: p }),
                    None => Err(Unreadable::Missing(path)),
                }
            }
        }
    }

    /// Read `target`, within the total size, queueing what it references in turn.
    async fn read(
        &mut self,
        from: &str,
        reference: &str,
        target: String,
        pinned: Option<&[std::net::SocketAddr]>,
    ) -> Next {
        match fetch_document(&target, self.base_dir, !is_url(from), pinned, &[]).await {
            Ok((bytes, remote)) if self.total + bytes.len() <= MAX_DOCUMENT_BYTES as usize => {
                self.total += bytes.len();
                if let (Some(addr), Some(host)) = (remote, host_of(&target)) {
                    self.reached.entry(host).or_insert_with(|| vec![addr]);
                }
                if has_external_ref(&bytes) {
                    self.queue.push_back((target.clone(), external_refs(&bytes)));
                }
                self.out.push((target, bytes));
                Next::Read
            }
            Ok(_) => {
                self.warn(format!(
                    "{}: the documents it references are over {MAX_DOCUMENT_BYTES} bytes together; {} not read",
                    shown(self.source),
                    shown(&target)
                ));
                Next::Stop
            }
            Err(e) => {
                self.warn(format!("{}: $ref {:?}: {e}", shown(from), shown(reference)));
                Next::Skip
            }
        }
    }
}

/// Whether a document fetched from `from` may make smoke fetch `target`, on another host: only
/// if every address of that host is public, and then the addresses to reach it at (the fetch is
/// pinned to them). A document from elsewhere must not make smoke read a cloud's metadata service
/// or a private network (the user named `from`, not what it names). A target on `from`'s own
/// host is reached where `from` was (see `read_referenced`), without asking this.
async fn may_follow(from: &str, target: &str) -> Result<Vec<std::net::SocketAddr>, Unfollowable> {
    let (Ok(from), Ok(target)) = (url::Url::parse(from), url::Url::parse(target)) else {
        return Err(Unfollowable::NotAUrl);
    };
    let host = target.host_str().unwrap_or_default();
    let port = target.port_or_known_default().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<std::net::SocketAddr> =
        match tokio::time::timeout(Duration::from_secs(10), tokio::net::lookup_host((bare, port))).await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(e)) => {
                return Err(Unfollowable::Unresolved { host: host.to_string(), why: e.to_string() });
            }
            Err(_) => {
                return Err(Unfollowable::Unresolved {
                    host: host.to_string(),
                    why: "no answer within 10 s".into(),
                });
            }
        };
    let own = from.host_str() == Some(host);
    let host = host.to_string();
    match addresses.iter().find(|a| !crate::http::reach::is_public(a.ip())) {
        Some(a) if own => Err(Unfollowable::OwnHostPrivate { host, address: a.ip() }),
        Some(a) => Err(Unfollowable::OtherHostPrivate { host, address: a.ip() }),
        None if addresses.is_empty() => Err(Unfollowable::NoAddress { host }),
        None => Ok(addresses),
    }
}

/// Why a document's `$ref` is not read.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("a document fetched from a URL may not name a local file")]
    FileFromUrl,
    #[error(transparent)]
    Unfollowable(#[from] Unfollowable),
    #[error("it names {}, outside the project and the document's folder", .path.display())]
    Outside { path: PathBuf },
    #[error("cannot read {}", .0.display())]
    Missing(PathBuf),
}

/// Why a document's `$ref` to another host is not followed.
#[derive(Debug, thiserror::Error)]
enum Unfollowable {
    #[error("not a URL")]
    NotAUrl,
    #[error("cannot resolve {host}: {why}")]
    Unresolved { host: String, why: String },
    #[error("{host} has no address")]
    NoAddress { host: String },
    #[error(
        "{host} is the document's own host, but it was not reached directly (a redirect) and now has a \
         private address ({address})"
    )]
    OwnHostPrivate { host: String, address: std::net::IpAddr },
    #[error(
        "{host} is another host than the document's and has a private address ({address}); a document \
         fetched from a URL may name private addresses only on its own host"
    )]
    OtherHostPrivate { host: String, address: std::net::IpAddr },
}

/// The most warnings about references that cannot be read, before the rest are counted only.
const MAX_REFERENCE_WARNINGS: usize = 10;

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// A source as it may be printed: a URL without its user info, one line.
fn shown(source: &str) -> String {
    let text = if is_url(source) { crate::http::shown_url(source) } else { source.to_string() };
    crate::http::escape_line(&text).into_owned()
}

/// A file source as `resolve_reference` gives one (`./a/../b.yaml` is `b.yaml`).
fn normal_source(source: &str) -> String {
    lexically_normal(Path::new(source)).to_string_lossy().into_owned()
}

/// Whether a document may have a `$ref` to another document: one whose value does not start
/// with `#` (a cheap scan before parsing).
fn has_external_ref(content: &[u8]) -> bool {
    let mut rest = content;
    while let Some(at) = rest.windows(4).position(|w| w == b"$ref") {
        let after = &rest[at + 4..];
        let value = after.iter().position(|b| !matches!(b, b'"' | b'\'' | b':' | b' ' | b'\t'));
        if value.is_some_and(|i| after[i] != b'#') {
            return true;
        }
        rest = after;
    }
    false
}

/// The distinct documents a JSON or YAML document's `$ref`s name (the part before `#`).
fn external_refs(content: &[u8]) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(serde_json::Value::as_str) {
                    let document = r.split('#').next().unwrap_or("");
                    if !document.is_empty() && !out.iter().any(|o| o == document) {
                        out.push(document.to_string());
                    }
                }
                for (k, v) in map {
                    if k != "example" && k != "examples" {
                        walk(v, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    // Within a budget of values: a YAML alias bomb is refused, never expanded.
    let value = documents::parse(content, documents::budget(content.len())).ok();
    let mut out = Vec::new();
    if let Some(v) = value {
        walk(&v, &mut out);
    }
    out
}

/// A reference's document resolved against the source of the document that names it: a URL
/// joined to a URL, a relative path to the naming file's folder (lexically: `a/../b` is `b`).
/// The plugin resolves references the same way to find the document again.
pub fn resolve_reference(from: &str, reference: &str) -> Option<String> {
    if is_url(reference) {
        return Some(reference.to_string());
    }
    if reference.contains("://") {
        return None;
    }
    if is_url(from) {
        return url::Url::parse(from).ok()?.join(reference).ok().map(String::from);
    }
    let dir = Path::new(from).parent().unwrap_or(Path::new(""));
    Some(lexically_normal(&dir.join(reference)).to_string_lossy().into_owned())
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{may_follow, resolve_reference};

    #[tokio::test]
    async fn a_document_from_a_url_names_private_addresses_only_on_its_own_host() {
        let from = "https://specs.example.com/api.yaml";
        // Its own host is asked about only when it was not reached directly (a redirect).
        let e = may_follow("http://127.0.0.1:8080/a.json", "http://127.0.0.1:9090/b.json")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("own host"), "{e}");
        for target in
            ["http://169.254.169.254/latest/meta-data", "http://[::1]/x.json", "http://10.0.0.8/s.json"]
        {
            let e = may_follow(from, target).await.unwrap_err().to_string();
            assert!(e.contains("private address"), "{target}: {e}");
        }
    }

    /// tests/fixtures/references.json, which the OpenAPI plugin's test reads too: the
    /// plugin finds each referenced document by the source the host gives it.
    #[test]
    fn references_resolve_as_the_openapi_plugin_resolves_them() {
        // One table for both sides: tests/fixtures/references.json.
        let table: Vec<(String, String, Option<String>)> = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/references.json"
        )))
        .unwrap();
        for (from, reference, expected) in table {
            assert_eq!(resolve_reference(&from, &reference), expected, "{from} + {reference}");
        }
    }
}
