//! Redaction: what gets written about an exchange, with secrets removed in every encoding they
//! may take (plain, percent-encoded, JSON-escaped, base64), sensitive headers and fields masked.

use crate::plan::model::Pair;
use serde::Serialize;
use std::collections::BTreeSet;

use super::{Incoming, Outgoing};
use crate::plan::exact::Exact;
use std::fmt::Write as _;

/// What gets written about an exchange: redacted, bodies as text.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: Vec<Pair>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<Pair>,
    /// The body as text, redacted, at most [`RECORDED_BODY_BYTES`] of it.
    pub body: Option<String>,
    pub latency_ms: u64,
    /// The body's real size, when not all of it is recorded and the size is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
    /// Whether `body` is only the start of the real body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// How much of a response body a report or the transcript keeps: enough to read, small enough
/// that a run against a service returning huge bodies writes reports of a sane size.
pub const RECORDED_BODY_BYTES: usize = 64 << 10;

/// The most of one message a plugin or a service put into words that smoke keeps (a verdict's
/// reason, a failure's message): it is clipped there, once, where it enters.
pub const MAX_MESSAGE_BYTES: usize = 8 << 10;

/// `text` cut to at most `max` bytes (at a character boundary), saying so and how long it was.
pub fn clip_text(text: String, max: usize) -> String {
    let total = text.len();
    match clip(text, max) {
        (kept, false) => kept,
        (mut kept, true) => {
            kept.push_str(&format!("… (clipped: {total} bytes in all)"));
            kept
        }
    }
}

fn clip(mut text: String, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, true)
}

/// The forms of secret values to find in text, indexed by how they end (their last eight bytes,
/// or four for a shorter form: every form is at least four): a text is scanned once, whatever the
/// number of forms, so a run that learns a new cookie from every response redacts as fast at its
/// end as at its start. (By how they end, since learned values share beginnings more often than
/// endings: `cookie-value-1`, `cookie-value-2`; a token's `eyJhbGci...`.)
#[derive(Debug, Clone, Default)]
struct Forms {
    by_end: std::collections::HashMap<u64, Vec<String>>,
    short: std::collections::HashMap<u32, Vec<String>>,
    /// The values whose forms are here, to skip one seen before at once.
    values: std::collections::HashSet<String>,
    count: usize,
}

fn tail8(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().expect("eight bytes"))
}

fn tail4(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().expect("four bytes"))
}

impl Forms {
    /// Add `value`'s forms; false when it was here already.
    fn add(&mut self, value: &str) -> bool {
        if !self.values.insert(value.to_string()) {
            return false;
        }
        for form in forms(value) {
            let bytes = form.as_bytes();
            let same = match bytes.len() {
                0..4 => continue,
                4..8 => self.short.entry(tail4(bytes)).or_default(),
                _ => self.by_end.entry(tail8(bytes)).or_default(),
            };
            if !same.contains(&form) {
                same.push(form);
                self.count += 1;
            }
        }
        true
    }

    /// Replace every form found in `text`, in one pass: where found ones overlap, the one that
    /// starts first wins, and of those the longest.
    fn scrub(&self, text: &mut String) {
        if self.count == 0 || text.len() < 4 {
            return;
        }
        let bytes = text.as_bytes();
        let mut found: Vec<(usize, usize)> = Vec::new();
        for end in 4..=bytes.len() {
            let window = &bytes[..end];
            let candidates = self.short.get(&tail4(window)).into_iter().flatten();
            let longer = (end >= 8).then(|| self.by_end.get(&tail8(window))).flatten().into_iter().flatten();
            for form in candidates.chain(longer) {
                if window.ends_with(form.as_bytes()) {
                    found.push((end - form.len(), end));
                }
            }
        }
        if found.is_empty() {
            return;
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = String::with_capacity(text.len());
        let mut kept = 0;
        for (start, end) in found {
            if start < kept {
                continue;
            }
            // A form is whole UTF-8, so where it starts and ends are character boundaries.
            out.push_str(&text[kept..start]);
            out.push_str(REDACTED);
            kept = end;
        }
        out.push_str(&text[kept..]);
        *text = out;
    }
}

/// Removes secrets before anything is recorded: sensitive headers, sensitive JSON fields, and
/// secret values (tokens from config) wherever they appear. Values seen in sensitive fields and
/// headers are learned, so they are also removed where they reappear in free text (an expected
/// value, a failure message, a capture); clones share what is learned.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    headers: BTreeSet<String>,
    fields: BTreeSet<String>,
    secrets: Forms,
    /// Learned values and their forms.
    learned: std::sync::Arc<std::sync::RwLock<Forms>>,
}

pub const REDACTED: &str = "[REDACTED]";

impl Redactor {
    pub fn new() -> Self {
        let mut r = Redactor::default();
        for h in ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"] {
            r.headers.insert(h.into());
        }
        r
    }

    pub fn header(&mut self, name: &str) {
        self.headers.insert(name.to_ascii_lowercase());
    }

    pub fn field(&mut self, name: &str) {
        self.fields.insert(name.to_string());
    }

    /// A secret value: replaced wherever it appears, in every encoding it may take. Values under
    /// four bytes are ignored, since replacing them would shred unrelated text.
    pub fn secret(&mut self, value: &str) {
        if value.len() >= 4 {
            self.secrets.add(value);
        }
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        self.scrub(&mut out);
        out
    }

    /// [`Redactor::text`] in place: `text` is rewritten only where a secret appears in it.
    pub fn scrub(&self, text: &mut String) {
        self.secrets.scrub(text);
        self.learned.read().unwrap_or_else(|e| e.into_inner()).scrub(text);
    }

    /// How many forms of sensitive values it has learned so far: a result redacted when this was
    /// lower may hold one it has learned since.
    pub fn learned_count(&self) -> usize {
        self.learned.read().unwrap_or_else(|e| e.into_inner()).count
    }

    #[cfg(test)]
    pub(crate) fn learn_for_test(&self, value: &str) {
        self.learn(value);
    }

    /// Remember a sensitive value so free text never shows it (short values would shred text).
    fn learn(&self, value: &str) {
        if value.len() < 4 || value == REDACTED {
            return;
        }
        if self.learned.read().unwrap_or_else(|e| e.into_inner()).values.contains(value) {
            return;
        }
        self.learned.write().unwrap_or_else(|e| e.into_inner()).add(value);
    }

    /// Headers as recorded: the sensitive ones masked, secrets removed from the rest.
    pub fn headers(&self, headers: &[Pair]) -> Vec<Pair> {
        headers.iter().map(|h| self.header_pair(h.clone())).collect()
    }

    /// Whether a header's name is one of the sensitive ones (the set holds them lower-cased).
    fn sensitive_header(&self, name: &str) -> bool {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.headers.contains(&name.to_ascii_lowercase())
        } else {
            self.headers.contains(name)
        }
    }

    /// A header as recorded: a sensitive one masked (its value learned), any other redacted.
    fn header_pair(&self, mut h: Pair) -> Pair {
        let sensitive = self.sensitive_header(&h.name);
        if sensitive {
            self.learn(h.value.strip_prefix("Bearer ").unwrap_or(&h.value));
            h.value = REDACTED.to_string();
        } else {
            self.scrub(&mut h.value);
        }
        h
    }

    fn json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.fields.contains(k) {
                        match &*v {
                            serde_json::Value::String(s) => self.learn(s),
                            serde_json::Value::Object(_)
                            | serde_json::Value::Array(_)
                            | serde_json::Value::Null => {}
                            other => self.learn(&other.to_string()),
                        }
                        *v = serde_json::Value::String(REDACTED.into());
                    } else {
                        self.json(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    pub fn body(&self, body: &[u8]) -> Option<String> {
        self.body_owned(body.to_vec())
    }

    /// [`Redactor::body`] of a body it may keep (as text, when it is UTF-8 and has no
    /// sensitive field: no copy is made).
    fn body_owned(&self, body: Vec<u8>) -> Option<String> {
        if body.is_empty() {
            return None;
        }
        if !self.fields.is_empty() {
            if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) {
                self.json(&mut value);
                return Some(self.text(&value.to_string()));
            }
            // JSON a `Value` cannot hold (a number beyond 64 bits): its fields are masked all the same.
            if let Ok(mut exact) =
                std::str::from_utf8(&body).map_err(drop).and_then(|t| Exact::parse(t).map_err(drop))
            {
                self.exact(&mut exact);
                return Some(self.text(&exact.to_string()));
            }
        }
        let mut text = match String::from_utf8(body) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        self.scrub(&mut text);
        Some(text)
    }

    fn exact(&self, value: &mut Exact) {
        match value {
            Exact::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.fields.contains(k) {
                        match &*v {
                            Exact::String(s) => self.learn(s),
                            Exact::Number(n) => self.learn(n),
                            Exact::Bool(b) => self.learn(&b.to_string()),
                            _ => {}
                        }
                        *v = Exact::String(REDACTED.into());
                    } else {
                        self.exact(v);
                    }
                }
            }
            Exact::Array(items) => items.iter_mut().for_each(|v| self.exact(v)),
            _ => {}
        }
    }

    /// A writer that redacts what passes through it a line at a time: for text with no secret
    /// across a line break, which JSON is (a string never holds a raw newline, and no encoded
    /// form of a secret has one), this is [`Redactor::text`] of the whole, in bounded memory.
    pub fn lines<W: std::io::Write>(&self, out: W) -> RedactLines<'_, W> {
        RedactLines { redactor: self, out, line: Vec::new() }
    }

    /// The record of a passing step's request when its headers and body are not kept: method
    /// and URL. What a full record would have taught the redactor (a sensitive header's value)
    /// it learns all the same.
    pub fn request_brief(&self, r: &Outgoing) -> RequestRecord {
        self.learn_headers(&r.headers);
        RequestRecord {
            method: r.method.as_str().to_string(),
            url: self.text(r.url.as_str()),
            headers: Vec::new(),
            body: None,
        }
    }

    /// The record of a passing step's response when its headers and body are not kept: status
    /// and latency; what is sensitive in them is learned as for a full record.
    pub fn response_brief(&self, r: &Incoming) -> ResponseRecord {
        self.learn_headers(&r.headers);
        if !self.fields.is_empty() && !r.body.is_empty() {
            if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&r.body) {
                self.json(&mut value);
            } else if let Ok(mut exact) =
                std::str::from_utf8(&r.body).map_err(drop).and_then(|t| Exact::parse(t).map_err(drop))
            {
                self.exact(&mut exact);
            }
        }
        ResponseRecord {
            status: r.status,
            headers: Vec::new(),
            body: None,
            latency_ms: r.latency.as_millis() as u64,
            body_bytes: None,
            truncated: false,
        }
    }

    fn learn_headers(&self, headers: &[Pair]) {
        for h in headers {
            if self.sensitive_header(&h.name) {
                self.learn(h.value.strip_prefix("Bearer ").unwrap_or(&h.value));
            }
        }
    }

    pub fn request(&self, r: &Outgoing) -> RequestRecord {
        RequestRecord {
            method: r.method.as_str().to_string(),
            url: self.text(r.url.as_str()),
            headers: self.headers(&r.headers),
            body: self.body(&r.body),
        }
    }

    pub fn response(&self, r: &Incoming) -> ResponseRecord {
        self.response_record(r, r.headers.clone(), r.body.clone())
    }

    /// [`Redactor::response`] of a response no longer needed: its headers and body are kept as
    /// they are wherever nothing in them is secret.
    pub fn response_owned(&self, mut r: Incoming) -> ResponseRecord {
        let (headers, body) = (std::mem::take(&mut r.headers), std::mem::take(&mut r.body));
        self.response_record(&r, headers, body)
    }

    fn response_record(&self, r: &Incoming, headers: Vec<Pair>, body: Vec<u8>) -> ResponseRecord {
        let size = body.len();
        // Redacted whole, then cut: a cut never leaves half a secret to escape redaction.
        let (body, clipped) = match self.body_owned(body) {
            Some(text) => {
                let (text, clipped) = clip(text, RECORDED_BODY_BYTES);
                (Some(text), clipped)
            }
            None => (None, false),
        };
        let truncated = clipped || r.oversize.is_some();
        let body_bytes = match &r.oversize {
            Some(o) => o.declared,
            None if clipped => Some(size as u64),
            None => None,
        };
        ResponseRecord {
            status: r.status,
            headers: headers.into_iter().map(|h| self.header_pair(h)).collect(),
            body,
            latency_ms: r.latency.as_millis() as u64,
            body_bytes,
            truncated,
        }
    }
}

/// See [`Redactor::lines`].
pub struct RedactLines<'a, W: std::io::Write> {
    redactor: &'a Redactor,
    out: W,
    line: Vec<u8>,
}

impl<W: std::io::Write> RedactLines<'_, W> {
    fn emit(&mut self) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(&self.line);
        let shown = self.redactor.text(&text);
        self.out.write_all(shown.as_bytes())?;
        self.line.clear();
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for RedactLines<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..=at]);
            self.emit()?;
            rest = &rest[at + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(bytes.len())
    }

    /// Flushing writes the line so far: call it only at the end.
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            self.emit()?;
        }
        self.out.flush()
    }
}

/// The forms a secret may take in what smoke writes: as is, percent-encoded (path and form
/// style), JSON-escaped, and base64 (standard and URL-safe, alone or inside a longer encoded
/// text such as `user:secret`, where only the characters that depend on the secret alone are
/// certain). Forms shorter than 6 characters, other than the value itself, are left out: they
/// would shred unrelated text.
fn forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut out = vec![value.to_string()];
    for encoded in [
        percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string(),
        percent_encoding::utf8_percent_encode(value, super::PATH_SEGMENT).to_string(),
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
    ] {
        // Lower-case hex too, as some services write it.
        out.push(lower_hex_escapes(&encoded, '%'));
        out.push(encoded);
    }
    if let Ok(json) = serde_json::to_string(value) {
        out.push(json[1..json.len() - 1].to_string());
    }
    out.extend(json_forms(value));
    out.extend(html_forms(value));
    for engine in [&STANDARD, &URL_SAFE] {
        out.push(engine.encode(value));
    }
    // Inside a longer base64 text the secret starts at byte offset 0, 1 or 2 of a 3-byte group.
    for offset in 0..3usize {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(value.as_bytes());
        let start = (8 * offset).div_ceil(6);
        let end = 8 * (offset + value.len()) / 6;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&bytes);
            if let Some(core) = encoded.get(start..end) {
                out.push(core.to_string());
            }
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|f| (f == value || f.len() >= 6) && seen.insert(f.clone()));
    out
}

/// `%2F` as `%2f` (and likewise for another escape character).
fn lower_hex_escapes(text: &str, escape: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == escape {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}

/// The JSON string escapes services write besides serde's: every non-ASCII character as
/// `\uXXXX` (Python's `json.dumps`, PHP), in lower or upper hex; `<`, `>` and `&` as
/// `\u003c`... (Go's HTML-safe encoder); `/` as `\/` (PHP).
fn json_forms(value: &str) -> Vec<String> {
    let escape = |ascii: bool, html: bool, slash: bool, upper: bool| {
        let mut out = String::with_capacity(value.len() + 8);
        let unit = |u: u16, out: &mut String| match upper {
            true => {
                let _ = write!(out, "\\u{u:04X}");
            }
            false => {
                let _ = write!(out, "\\u{u:04x}");
            }
        };
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '/' if slash => out.push_str("\\/"),
                '<' | '>' | '&' if html => unit(c as u16, &mut out),
                '\u{2028}' | '\u{2029}' if html => unit(c as u16, &mut out),
                c if (c as u32) < 0x20 => unit(c as u16, &mut out),
                c if ascii && !c.is_ascii() => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        unit(*u, &mut out);
                    }
                }
                c => out.push(c),
            }
        }
        out
    };
    let mut out = Vec::new();
    for ascii in [false, true] {
        for html in [false, true] {
            for slash in [false, true] {
                for upper in [false, true] {
                    out.push(escape(ascii, html, slash, upper));
                }
            }
        }
    }
    out
}

/// The value as HTML writes it: `&amp;`, `&lt;`, `&gt;`, `&quot;`, and `'` as `&#39;` or
/// `&#x27;`.
fn html_forms(value: &str) -> Vec<String> {
    let entity = |apostrophe: &str| {
        let mut out = String::with_capacity(value.len() + 8);
        for c in value.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str(apostrophe),
                c => out.push(c),
            }
        }
        out
    };
    vec![entity("&#39;"), entity("&#x27;")]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model;

    #[test]
    fn a_secret_is_found_in_the_encodings_services_write() {
        let mut r = Redactor::new();
        let secret = "p\u{e4}<ss/w&rd+Xy";
        r.secret(secret);
        for shown in [
            "p\\u00e4<ss/w&rd+Xy",            // Python's json.dumps
            "p\u{e4}\\u003css/w\\u0026rd+Xy", // Go's HTML-safe JSON
            "p\\u00e4<ss\\/w&rd+Xy",          // PHP
            "p%c3%a4%3css%2fw%26rd%2bXy",     // percent-encoding, lower-case hex
            "p\u{e4}&lt;ss/w&amp;rd+Xy",      // HTML
        ] {
            let text = format!("said: {shown} (end)");
            assert_eq!(r.text(&text), "said: [REDACTED] (end)", "{shown}");
        }
    }

    #[test]
    fn many_learned_values_are_all_found_and_the_longest_form_wins() {
        let r = Redactor::new();
        for i in 0..20_000 {
            r.learn_for_test(&format!("cookie-value-{i:06}"));
        }
        r.learn_for_test("cookie-value-000001-and-more");
        let text = "a cookie-value-000001-and-more b cookie-value-019999 c cookie-value-9".repeat(200);
        let shown = r.text(&text);
        assert!(shown.starts_with("a [REDACTED] b [REDACTED] c cookie-value-9"), "{}", &shown[..80]);
        assert_eq!(shown.matches("[REDACTED]").count(), 400, "every learned value, every time");
        assert!(!shown.contains("cookie-value-0"), "{}", &shown[..200]);
    }

    #[test]
    fn redaction_covers_headers_fields_and_secret_values() {
        let mut r = Redactor::new();
        r.field("ssn");
        r.secret("s3cr3t-token");
        let record = r.request(&Outgoing {
            method: model::Method::Post,
            url: "http://h/x?token=s3cr3t-token".into(),
            path_at: 8,
            headers: vec![Pair { name: "Authorization".into(), value: "Bearer s3cr3t-token".into() }],
            body: br#"{"ssn":"123-45-6789","name":"Ann"}"#.to_vec(),
            timeout: None,
        });
        let text = serde_json::to_string(&record).unwrap();
        assert!(!text.contains("s3cr3t-token"), "{text}");
        assert!(!text.contains("123-45-6789"), "{text}");
        assert!(text.contains("Ann"));
    }

    #[test]
    fn sensitive_fields_are_masked_in_json_a_value_cannot_hold() {
        let mut r = Redactor::new();
        r.field("ssn");
        let shown = r.body(br#"{"ssn": "123-45-6789", "big": 1e400, "n": [{"ssn": 123456789}]}"#).unwrap();
        assert!(!shown.contains("123-45-6789") && !shown.contains("123456789"), "{shown}");
        assert!(shown.contains("1e400"), "{shown}");
        assert_eq!(r.text("later: 123-45-6789"), "later: [REDACTED]");
    }

    #[test]
    fn secrets_are_redacted_in_every_encoding() {
        use base64::Engine as _;
        let secret = "p@ss w/rd\"42";
        let mut r = Redactor::new();
        r.secret(secret);
        let b64 = base64::engine::general_purpose::STANDARD;
        let texts = [
            secret.to_string(),
            percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC).to_string(),
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            percent_encoding::utf8_percent_encode(secret, crate::http::PATH_SEGMENT).to_string(),
            serde_json::to_string(secret).unwrap(),
            b64.encode(secret),
            b64.encode(format!("ann:{secret}")),
            b64.encode(format!("an:{secret}")),
            b64.encode(format!("a:{secret}!")),
        ];
        for text in texts {
            let out = r.text(&format!("before {text} after"));
            assert!(out.contains(REDACTED), "{text} -> {out}");
            assert!(!out.contains(&text), "{text} -> {out}");
        }
        assert_eq!(r.text("nothing secret here"), "nothing secret here");
    }
}
