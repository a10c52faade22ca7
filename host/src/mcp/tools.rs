//! The server's tool list: every page of `tools/list` within bounds, each entry read on its own (an
//! entry that is not a tool, or a name listed twice, names itself and spoils no other), and each
//! tool kept once, as the JSON text listed, its schemas compiled at its first call.

use rmcp::model::{ClientRequest, ListToolsRequest, PaginatedRequestParams, ServerResult};
use rmcp::service::{RoleClient, ServiceError};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Most pages and tools read from `tools/list`: past either, the session is not opened.
pub const MAX_TOOL_PAGES: usize = 100;
pub const MAX_TOOLS: usize = 10_000;
/// Most JSON text of tools kept, all pages together.
pub const MAX_LISTED_BYTES: usize = 32 << 20;

/// Entries that cannot be called at all, named one by one; the rest are counted.
const NAMED: usize = 10;

/// Why the tool list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{}", super::service_words(.0))]
    Request(ServiceError),
    #[error("the answer to page {page} is not a tools/list result: {why}")]
    NotAPage { page: usize, why: &'static str },
    #[error("the server lists more than {MAX_TOOLS} tools (smoke reads at most {MAX_TOOLS})")]
    TooMany,
    #[error("the server repeats the page cursor {0:?}: its tool list never ends")]
    RepeatedCursor(String),
    #[error("the server's tools take more than {} MiB of JSON (smoke keeps at most that)", MAX_LISTED_BYTES >> 20)]
    TooLarge,
    #[error("the server's tool list goes on past {MAX_TOOL_PAGES} pages")]
    TooManyPages,
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(std::time::Duration),
}

/// A tool as the server lists it.
pub struct Tool {
    /// The entry as JSON text, as listed (as the SDK reads a tool, when the SDK read the page).
    listed: Box<RawValue>,
    /// Why no call of it is sent: the entry is not a tool MCP allows, or its name is listed more
    /// than once.
    pub problem: Option<String>,
    /// Where it is (first) listed: 1 for the first entry of the first page.
    position: usize,
    /// Its schemas, compiled at its first call (and kept, within [`KEPT_SCHEMA_BYTES`]).
    schemas: OnceLock<Arc<Schemas>>,
}

/// A tool's schemas, compiled, or why one cannot be.
pub struct Schemas {
    pub input: Result<jsonschema::Validator, SchemaProblem>,
    /// `None` when it declares no `outputSchema`.
    pub output: Option<Result<jsonschema::Validator, SchemaProblem>>,
}

/// The largest schema compiled, as JSON text: a compiled schema takes about twenty times its
/// text, and no agent reads a tool whose schema is larger than this.
pub const MAX_SCHEMA_BYTES: usize = 1 << 20;

/// How much schema text the compiled schemas kept for later calls may come from; past it, a
/// schema is compiled for each call and dropped after it.
const KEPT_SCHEMA_BYTES: usize = 4 << 20;

/// Why a tool's schema cannot be held to.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SchemaProblem {
    #[error("is not a valid JSON Schema ({0})")]
    Invalid(String),
    #[error(
        "is {:.1} MiB of JSON, more than the {} MiB smoke compiles (no agent reads a schema that large)",
        *.0 as f64 / (1u64 << 20) as f64,
        MAX_SCHEMA_BYTES >> 20
    )]
    TooLarge(usize),
}

/// The schemas of a listed tool, left as text.
#[derive(Deserialize)]
struct Declared<'a> {
    #[serde(borrow, rename = "inputSchema")]
    input: Option<&'a RawValue>,
    #[serde(borrow, rename = "outputSchema")]
    output: Option<&'a RawValue>,
}

/// A schema's text, compiled (within [`MAX_SCHEMA_BYTES`]).
fn compile(schema: &RawValue) -> Result<jsonschema::Validator, SchemaProblem> {
    if schema.get().len() > MAX_SCHEMA_BYTES {
        return Err(SchemaProblem::TooLarge(schema.get().len()));
    }
    let value: Value =
        serde_json::from_str(schema.get()).map_err(|e| SchemaProblem::Invalid(e.to_string()))?;
    jsonschema::validator_for(&value).map_err(|e| SchemaProblem::Invalid(e.to_string()))
}

impl Tool {
    /// The entry as listed, as JSON.
    pub fn listed(&self) -> &RawValue {
        &self.listed
    }

    /// The text of its schemas.
    fn declared(&self) -> Declared<'_> {
        serde_json::from_str(self.listed.get()).unwrap_or(Declared { input: None, output: None })
    }

    /// Whether the server says it only reads (`annotations.readOnlyHint: true`).
    pub fn read_only(&self) -> bool {
        #[derive(Deserialize)]
        struct Hints {
            #[serde(rename = "readOnlyHint")]
            read_only: Option<bool>,
        }
        #[derive(Deserialize)]
        struct Listed {
            annotations: Option<Hints>,
        }
        serde_json::from_str::<Listed>(self.listed.get())
            .ok()
            .and_then(|l| l.annotations)
            .and_then(|h| h.read_only)
            == Some(true)
    }

    /// Whether it declares an `outputSchema` (read without compiling it).
    pub fn declares_output(&self) -> bool {
        self.declared().output.is_some_and(|o| o.get() != "null")
    }
}

/// The tools a server lists, by name, and what was wrong with the list.
#[derive(Default)]
pub struct Tools {
    pub by_name: BTreeMap<String, Tool>,
    /// Entries that cannot be called at all (not an object, no name): where, and why; the first
    /// [`NAMED`] of them.
    nameless: Vec<String>,
    nameless_count: usize,
    /// Names listed more than once.
    repeated: BTreeMap<String, Repeated>,
    /// Entries read so far, for positions and the bound.
    read: usize,
    /// The JSON text kept of every tool, for its bound.
    bytes: usize,
    /// The schema text of the compiled schemas kept.
    kept: AtomicUsize,
}

impl Tools {
    /// Every name the server lists, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// What is wrong with the list, entry by entry, and how many more entries that cannot be
    /// called at all are not named.
    pub fn problems(&self) -> (impl Iterator<Item = &str>, usize) {
        let named = self.by_name.values().filter_map(|t| t.problem.as_deref());
        (named.chain(self.nameless.iter().map(String::as_str)), self.nameless_count - self.nameless.len())
    }

    /// A tool's schemas, compiled at its first call: kept for the next while the schemas kept
    /// come from less than [`KEPT_SCHEMA_BYTES`] of text, else compiled again each time.
    pub fn schemas(&self, tool: &Tool) -> Arc<Schemas> {
        if let Some(kept) = tool.schemas.get() {
            return kept.clone();
        }
        let declared = tool.declared();
        let input = declared.input.unwrap_or(RawValue::NULL);
        let output = declared.output.filter(|o| o.get() != "null");
        let schemas = Arc::new(Schemas { input: compile(input), output: output.map(compile) });
        let size = input.get().len() + output.map_or(0, |o| o.get().len());
        if self.kept.fetch_add(size, Ordering::AcqRel) + size <= KEPT_SCHEMA_BYTES {
            return tool.schemas.get_or_init(|| schemas).clone();
        }
        self.kept.fetch_sub(size, Ordering::AcqRel);
        schemas
    }

    /// Refuse a page that would take the list past [`MAX_TOOLS`], before reading any of it.
    fn fits(&self, entries: usize) -> Result<(), ListError> {
        match self.read + entries > MAX_TOOLS {
            true => Err(ListError::TooMany),
            false => Ok(()),
        }
    }

    /// Add one entry, read on its own; refuse it past [`MAX_LISTED_BYTES`].
    fn add(&mut self, entry: Entry) -> Result<(), ListError> {
        self.read += 1;
        self.bytes += match &entry {
            Entry::Tool(_, listed) | Entry::Broken { listed, .. } => listed.get().len(),
        };
        if self.bytes > MAX_LISTED_BYTES {
            return Err(ListError::TooLarge);
        }
        let position = self.read;
        let tool = |listed, problem| Tool { listed, problem, position, schemas: OnceLock::new() };
        let (name, tool) = match entry {
            Entry::Tool(name, listed) => (name, tool(listed, None)),
            Entry::Broken { name: Some(name), listed, why } => {
                let problem = format!(
                    "the server lists tool {name:?} (tools/list entry {position}), which {why}: not a tool \
                     MCP allows, so no call of it is sent"
                );
                (name, tool(listed, Some(problem)))
            }
            Entry::Broken { name: None, why, .. } => {
                self.nameless_count += 1;
                if self.nameless.len() < NAMED {
                    self.nameless.push(format!("tools/list entry {position} {why}: it cannot be called"));
                }
                return Ok(());
            }
        };
        match self.by_name.get_mut(&name) {
            None => {
                self.by_name.insert(name, tool);
            }
            Some(first) => {
                let repeated = self
                    .repeated
                    .entry(name.clone())
                    .or_insert_with(|| Repeated { positions: vec![first.position], differ: false });
                repeated.positions.push(position);
                repeated.differ |= first.listed.get() != tool.listed.get();
                first.problem = Some(repeated.problem(&name));
            }
        }
        Ok(())
    }
}

/// A name listed more than once: where, and whether the listings differ.
struct Repeated {
    positions: Vec<usize>,
    differ: bool,
}

impl Repeated {
    /// Why a name listed more than once is never called.
    fn problem(&self, name: &str) -> String {
        let at: Vec<String> = self.positions.iter().take(NAMED).map(usize::to_string).collect();
        let more = if self.positions.len() > NAMED { ", …" } else { "" };
        format!(
            "the server lists tool {name:?} {} times (tools/list entries {}{more}){}: a tool's name must be \
             unique, and an agent cannot tell which one a call reaches, so no call of it is sent",
            self.positions.len(),
            at.join(", "),
            if self.differ { ", with different definitions" } else { ", each time the same" },
        )
    }
}

/// One entry of a page, read on its own.
enum Entry {
    Tool(String, Box<RawValue>),
    /// Not a tool MCP allows: its name if it has one, the entry as listed, and what is wrong
    /// (`has no name`, `has inputSchema true, not a JSON object`).
    Broken {
        name: Option<String>,
        listed: Box<RawValue>,
        why: String,
    },
}

/// A JSON object, its members skipped: checks a value is an object without holding it.
struct Object;

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Object, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Object;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(Object)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The JSON text of a value, cut for a message.
fn clip(raw: &RawValue) -> String {
    let text = raw.get();
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

impl Entry {
    /// A tool as the SDK read it.
    fn typed(tool: rmcp::model::Tool) -> Entry {
        match serde_json::value::to_raw_value(&tool) {
            Ok(listed) => Entry::Tool(tool.name.into_owned(), listed),
            Err(e) => Entry::Broken {
                name: Some(tool.name.into_owned()),
                listed: empty(),
                why: format!("has a definition that cannot be written as JSON ({e})"),
            },
        }
    }

    /// An entry as listed, read as a tool by the rules of the SDK's `Tool` (each member of the
    /// type it must have), without building its schemas.
    fn raw(listed: Box<RawValue>) -> Entry {
        match read_entry(&listed) {
            Ok(name) => Entry::Tool(name, listed),
            Err((name, why)) => Entry::Broken { name, listed, why },
        }
    }
}

/// An entry's name, or (its name if it has one, and) what is wrong with it.
fn read_entry(listed: &RawValue) -> Result<String, (Option<String>, String)> {
    let members: BTreeMap<Cow<'_, str>, &RawValue> = serde_json::from_str(listed.get())
        .map_err(|_| (None, format!("is {}, not a tool object", clip(listed))))?;
    let name = match members.get("name") {
        None => return Err((None, "has no name".into())),
        Some(raw) => match serde_json::from_str::<String>(raw.get()) {
            Ok(name) if !name.is_empty() => name,
            _ => return Err((None, format!("has name {}, not a non-empty string", clip(raw)))),
        },
    };
    match wrong_member(&members) {
        None => Ok(name),
        Some(why) => Err((Some(name), why)),
    }
}

/// The first member of a tool entry that is missing or of the wrong type, in words.
fn wrong_member(members: &BTreeMap<Cow<'_, str>, &RawValue>) -> Option<String> {
    let Some(input) = members.get("inputSchema") else { return Some("has no inputSchema".into()) };
    let check = |member: &str, raw: &RawValue, what: &str| -> Option<String> {
        let read = match member {
            "inputSchema" => serde_json::from_str::<Object>(raw.get()).map(drop),
            "outputSchema" | "_meta" => serde_json::from_str::<Option<Object>>(raw.get()).map(drop),
            "title" | "description" => serde_json::from_str::<Option<Cow<'_, str>>>(raw.get()).map(drop),
            "annotations" => {
                serde_json::from_str::<Option<rmcp::model::ToolAnnotations>>(raw.get()).map(drop)
            }
            "icons" => serde_json::from_str::<Option<Vec<rmcp::model::Icon>>>(raw.get()).map(drop),
            _ => Ok(()),
        };
        read.err().map(|e| match what {
            "a JSON object" | "a string" => format!("has {member} {}, not {what}", clip(raw)),
            _ => format!("has {member} {}, not {what} ({e})", clip(raw)),
        })
    };
    check("inputSchema", input, "a JSON object").or_else(|| {
        [
            ("outputSchema", "a JSON object"),
            ("title", "a string"),
            ("description", "a string"),
            ("annotations", "MCP's tool annotations"),
            ("icons", "a list of icons"),
            ("_meta", "a JSON object"),
        ]
        .into_iter()
        .find_map(|(member, what)| members.get(member).and_then(|raw| check(member, raw, what)))
    })
}

fn empty() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// Pages of `tools/list` taken off the wire before the SDK reads them (it would hold a large page
/// as several trees at once): while the session lists its tools, an answer whose result holds a
/// `tools` array is kept here as the JSON text of each entry, and the SDK is handed the page
/// without them.
#[derive(Default)]
pub struct Pages {
    listing: AtomicBool,
    taken: Mutex<Option<Page>>,
}

/// A page of `tools/list` as listed.
struct Page {
    /// Each entry's JSON text; empty when there were too many to keep.
    entries: Vec<Box<RawValue>>,
    /// How many entries the page has.
    count: usize,
    next: Option<String>,
}

/// A JSON-RPC answer, its parts left as text.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    id: &'a RawValue,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
}

/// A `tools/list` result, its entries left as text.
#[derive(Deserialize)]
struct ListedPage<'a> {
    #[serde(borrow)]
    tools: Vec<&'a RawValue>,
    #[serde(rename = "nextCursor")]
    next: Option<String>,
}

impl Pages {
    /// The message to pass on in place of `message` from the server: `None` to pass it on as it
    /// is; for a page of `tools/list` while listing, the same answer without its entries (kept
    /// here, each as its own JSON text).
    pub fn take_page(&self, message: &str) -> Option<String> {
        if !self.listing() {
            return None;
        }
        let answer: Answer<'_> = serde_json::from_str(message).ok()?;
        let page: ListedPage<'_> = serde_json::from_str(answer.result?.get()).ok()?;
        let count = page.tools.len();
        // Past the bound nothing is kept: the list is refused whole.
        let entries = match count > MAX_TOOLS {
            true => Vec::new(),
            false => page.tools.iter().map(|e| (*e).to_owned()).collect(),
        };
        let result = serde_json::json!({ "tools": [], "nextCursor": page.next });
        let slim = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, answer.id.get());
        *self.taken.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Page { entries, count, next: page.next });
        Some(slim)
    }

    /// Whether the session is listing its tools now.
    pub fn listing(&self) -> bool {
        self.listing.load(Ordering::Acquire)
    }

    fn take(&self) -> Option<Page> {
        self.taken.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Listing, until dropped.
struct Listing<'a>(&'a Pages);

impl Drop for Listing<'_> {
    fn drop(&mut self) {
        self.0.listing.store(false, Ordering::Release);
        self.0.take();
    }
}

/// Every page of `tools/list`, bounded in pages and tools, stopping at a repeated cursor.
pub async fn list(peer: &rmcp::Peer<RoleClient>, pages: &Pages) -> Result<Tools, ListError> {
    pages.listing.store(true, Ordering::Release);
    let _listing = Listing(pages);
    let mut tools = Tools::default();
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for page in 1..=MAX_TOOL_PAGES {
        let params = cursor.take().map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
        let request = ListToolsRequest { method: Default::default(), params, extensions: Default::default() };
        let answer =
            peer.send_request(ClientRequest::ListToolsRequest(request)).await.map_err(ListError::Request)?;
        let next = match pages.take() {
            Some(taken) => read_taken(taken, &mut tools)?,
            None => read_page(answer, page, &mut tools)?,
        };
        match next {
            Some(next) if seen.insert(next.clone()) => cursor = Some(next),
            Some(next) => return Err(ListError::RepeatedCursor(next)),
            None => return Ok(tools),
        }
    }
    Err(ListError::TooManyPages)
}

/// Add a page taken off the wire to `tools`, returning the next cursor.
fn read_taken(page: Page, tools: &mut Tools) -> Result<Option<String>, ListError> {
    tools.fits(page.count)?;
    for entry in page.entries {
        tools.add(Entry::raw(entry))?;
    }
    Ok(page.next)
}

/// Add a page the SDK read to `tools` (refusing past [`MAX_TOOLS`] before reading any),
/// returning the next cursor. A page the SDK reads whole gives typed tools; one it cannot (an
/// entry that is not a tool) comes as JSON, and each entry is read on its own.
fn read_page(answer: ServerResult, page: usize, tools: &mut Tools) -> Result<Option<String>, ListError> {
    match answer {
        ServerResult::ListToolsResult(result) => {
            tools.fits(result.tools.len())?;
            for tool in result.tools {
                tools.add(Entry::typed(tool))?;
            }
            Ok(result.next_cursor)
        }
        ServerResult::CustomResult(rmcp::model::CustomResult(mut value)) => {
            let Value::Array(entries) = value["tools"].take() else {
                return Err(ListError::NotAPage { page, why: "it has no array `tools`" });
            };
            let next = match value.get("nextCursor") {
                None | Some(Value::Null) => None,
                Some(Value::String(next)) => Some(next.clone()),
                Some(_) => return Err(ListError::NotAPage { page, why: "its `nextCursor` is not a string" }),
            };
            tools.fits(entries.len())?;
            for entry in entries {
                tools.add(Entry::raw(serde_json::value::to_raw_value(&entry).unwrap_or_else(|_| empty())))?;
            }
            Ok(next)
        }
        _ => Err(ListError::NotAPage { page, why: "it has no array `tools`" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    fn why(text: &str) -> (Option<String>, String) {
        match Entry::raw(raw(text)) {
            Entry::Tool(name, _) => panic!("{text} read as tool {name}"),
            Entry::Broken { name, why, .. } => (name, why),
        }
    }

    #[test]
    fn each_entry_is_read_on_its_own_and_says_what_is_wrong() {
        for ok in [
            r#"{"name":"ok","inputSchema":{"type":"object"}}"#,
            r#"{"name":"ok","inputSchema":{},"outputSchema":null,"annotations":{"readOnlyHint":true},"x":1}"#,
        ] {
            assert!(matches!(Entry::raw(raw(ok)), Entry::Tool(name, _) if name == "ok"), "{ok}");
        }
        let named = |n: &str| Some(n.to_string());
        assert_eq!(
            why(r#"{"name":"b","inputSchema":true}"#),
            (named("b"), "has inputSchema true, not a JSON object".into())
        );
        assert_eq!(why(r#"{"name":"b"}"#), (named("b"), "has no inputSchema".into()));
        assert_eq!(
            why(r#"{"name":"b","inputSchema":{},"outputSchema":[1]}"#),
            (named("b"), "has outputSchema [1], not a JSON object".into())
        );
        assert_eq!(why(r#"{"inputSchema":{}}"#), (None, "has no name".into()));
        assert_eq!(
            why(r#"{"name":"","inputSchema":{}}"#),
            (None, r#"has name "", not a non-empty string"#.into())
        );
        assert_eq!(why("5"), (None, "is 5, not a tool object".into()));
        let (name, annotations) =
            why(r#"{"name":"a","inputSchema":{},"annotations":{"readOnlyHint":"yes"}}"#);
        assert_eq!(name, named("a"));
        assert!(
            annotations
                .starts_with(r#"has annotations {"readOnlyHint":"yes"}, not MCP's tool annotations ("#)
        );
    }

    #[test]
    fn a_name_listed_twice_is_named_where_and_its_first_listing_kept() {
        let mut tools = Tools::default();
        for text in [
            r#"{"name":"echo","inputSchema":{}}"#,
            r#"{"name":"count","inputSchema":{}}"#,
            r#"{"name":"echo","inputSchema":{"type":"object"}}"#,
            r#"{"inputSchema":{}}"#,
        ] {
            tools.add(Entry::raw(raw(text))).unwrap();
        }
        assert_eq!(tools.names().collect::<Vec<_>>(), ["count", "echo"]);
        assert_eq!(tools.by_name["echo"].listed().get(), r#"{"name":"echo","inputSchema":{}}"#);
        let (problems, unnamed) = tools.problems();
        let problems: Vec<&str> = problems.collect();
        assert_eq!(unnamed, 0);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with(
            r#"the server lists tool "echo" 2 times (tools/list entries 1, 3), with different definitions"#
        ));
        assert_eq!(problems[1], "tools/list entry 4 has no name: it cannot be called");
    }

    #[test]
    fn lists_past_their_bounds_are_refused() {
        let mut tools = Tools::default();
        assert!(tools.fits(MAX_TOOLS).is_ok());
        assert!(matches!(tools.fits(MAX_TOOLS + 1), Err(ListError::TooMany)));
        let big =
            format!(r#"{{"name":"big","inputSchema":{{"description":"{}"}}}}"#, "x".repeat(MAX_LISTED_BYTES));
        assert!(matches!(tools.add(Entry::raw(raw(&big))), Err(ListError::TooLarge)));
    }

    #[test]
    fn schemas_are_compiled_within_their_bound_and_say_why_not() {
        let mut tools = Tools::default();
        let huge = format!(r#"{{"type":"object","description":"{}"}}"#, "x".repeat(MAX_SCHEMA_BYTES));
        for text in [
            r#"{"name":"plain","inputSchema":{"type":"object"},"outputSchema":null}"#.to_string(),
            r#"{"name":"wrong","inputSchema":{"type":"object","minProperties":"two"},"outputSchema":{}}"#
                .into(),
            format!(r#"{{"name":"huge","inputSchema":{huge}}}"#),
        ] {
            tools.add(Entry::raw(raw(&text))).unwrap();
        }
        let plain = tools.schemas(&tools.by_name["plain"]);
        assert!(plain.input.is_ok() && plain.output.is_none());
        assert!(!tools.by_name["plain"].declares_output() && tools.by_name["wrong"].declares_output());
        let wrong = tools.schemas(&tools.by_name["wrong"]);
        assert!(matches!(&wrong.input, Err(SchemaProblem::Invalid(_))));
        assert!(matches!(&wrong.output, Some(Ok(_))));
        let huge = tools.schemas(&tools.by_name["huge"]);
        match &huge.input {
            Err(e @ SchemaProblem::TooLarge(_)) => {
                assert_eq!(
                    e.to_string(),
                    "is 1.0 MiB of JSON, more than the 1 MiB smoke compiles (no agent reads a schema that large)"
                )
            }
            _ => panic!("a schema past the bound is not compiled"),
        }
    }

    #[test]
    fn pages_are_taken_off_the_wire_only_while_listing() {
        let pages = Pages::default();
        let page = r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a","inputSchema":{}},5],"nextCursor":"n"}}"#;
        assert_eq!(pages.take_page(page), None, "not while the session does not list");
        pages.listing.store(true, Ordering::Release);
        let error = r#"{"jsonrpc":"2.0","id":8,"error":{"code":-32601,"message":"no"}}"#;
        assert_eq!(pages.take_page(error), None, "an error goes on as it is");
        let slim = pages.take_page(page).expect("a page is taken");
        assert_eq!(slim, r#"{"jsonrpc":"2.0","id":7,"result":{"nextCursor":"n","tools":[]}}"#);
        let taken = pages.take().expect("kept");
        assert_eq!((taken.count, taken.next.as_deref()), (2, Some("n")));
        let entries: Vec<&str> = taken.entries.iter().map(|e| e.get()).collect();
        assert_eq!(entries, [r#"{"name":"a","inputSchema":{}}"#, "5"]);
    }
}
