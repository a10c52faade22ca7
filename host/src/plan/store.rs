//! A plan's scenarios, of any number: a small head of each in memory (what selection, sharding,
//! the dependency graph, coverage and the reports read), the scenario itself in memory while the
//! plan is small and encoded in a [`Spill`] past that, decoded again when it runs.

use super::model::{Action, Scenario, ScenarioKind, Step};
use super::spill::{Slot, Spill, SpillError};
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::collections::HashMap;
use std::sync::Arc;

/// Scenarios kept decoded in memory, by their estimated size; past it they are encoded, and past
/// [`SPILL_BUDGET`] of encoded bytes they go to a temporary file.
const MEMORY_BUDGET: usize = 32 << 20;
/// Encoded scenarios kept in memory before the rest go to a temporary file.
const SPILL_BUDGET: usize = 8 << 20;

/// What every stage but the run itself reads of a scenario.
#[derive(Debug, Clone, PartialEq)]
struct Head {
    id: Box<str>,
    plugin: u32,
    endpoint: u32,
    kind: ScenarioKind,
    dependency_only: bool,
    /// Whether a step talks to the MCP server / sends HTTP.
    mcp: bool,
    http: bool,
    /// Tags and dependencies, for the few scenarios that have any.
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Extra {
    tags: Vec<String>,
    depends_on: Vec<String>,
}

/// Strings that repeat (plugin names, endpoints), each held once and named by a number.
#[derive(Debug, Clone, Default)]
pub struct Names {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    /// The last two numbers given: lists repeat the same plugin and endpoint, run after run.
    recent: [u32; 2],
}

impl Names {
    /// The number of `text`, given it if it is new.
    pub fn add(&mut self, text: &str) -> u32 {
        for n in self.recent {
            if self.names.get(n as usize).is_some_and(|name| **name == *text) {
                return n;
            }
        }
        if let Some(&n) = self.index.get(text) {
            self.recent = [n, self.recent[0]];
            return n;
        }
        let n = self.names.len() as u32;
        self.names.push(text.into());
        self.index.insert(text.into(), n);
        self.recent = [n, self.recent[0]];
        n
    }

    /// How many names it holds.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The text of number `n`.
    pub fn get(&self, n: u32) -> &str {
        &self.names[n as usize]
    }
}

#[derive(Debug)]
enum Stored {
    Here(Arc<Scenario>),
    Encoded(Slot),
}

/// The scenarios of a plan, in plan order.
#[derive(Debug)]
pub struct Scenarios {
    heads: Vec<Head>,
    stored: Vec<Stored>,
    /// Plugin names and endpoints, each once.
    names: Names,
    /// Estimated bytes of the scenarios held decoded.
    held: usize,
    memory_budget: usize,
    spill_budget: usize,
    spill: Spill,
}

impl Default for Scenarios {
    fn default() -> Self {
        Scenarios::with_budget(MEMORY_BUDGET, SPILL_BUDGET)
    }
}

impl Scenarios {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hold up to `memory` estimated bytes decoded and `spill` encoded bytes in memory.
    pub fn with_budget(memory: usize, spill: usize) -> Self {
        Scenarios {
            heads: Vec::new(),
            stored: Vec::new(),
            names: Names::default(),
            held: 0,
            memory_budget: memory,
            spill_budget: spill,
            spill: Spill::new(spill),
        }
    }

    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Add a scenario at the end.
    pub fn push(&mut self, mut scenario: Scenario) {
        compact(&mut scenario);
        let head = Head {
            id: scenario.id.as_str().into(),
            plugin: self.names.add(&scenario.plugin),
            endpoint: self.names.add(&scenario.endpoint),
            kind: scenario.kind,
            dependency_only: scenario.dependency_only,
            mcp: scenario.steps.iter().any(Step::is_mcp),
            http: scenario.steps.iter().any(|s| !s.is_mcp()),
            extra: (!scenario.tags.is_empty() || !scenario.depends_on.is_empty()).then(|| {
                Box::new(Extra { tags: scenario.tags.clone(), depends_on: scenario.depends_on.clone() })
            }),
        };
        let weight = weight(&scenario);
        let stored = if self.held + weight <= self.memory_budget {
            self.held += weight;
            Stored::Here(Arc::new(scenario))
        } else {
            let bytes = serde_json::to_vec(&scenario).expect("a scenario always serializes");
            match self.spill.push(&bytes) {
                Ok(slot) => Stored::Encoded(slot),
                // Over 4 GiB encoded: it stays as it is.
                Err(_) => Stored::Here(Arc::new(scenario)),
            }
        };
        self.heads.push(head);
        self.stored.push(stored);
    }

    /// Scenario `i`, whole. Reading it back from the temporary file can fail (an I/O error).
    pub fn get(&self, i: usize) -> Result<Arc<Scenario>, SpillError> {
        match &self.stored[i] {
            Stored::Here(s) => {
                if s.dependency_only == self.heads[i].dependency_only {
                    Ok(s.clone())
                } else {
                    let mut s = Scenario::clone(s);
                    s.dependency_only = self.heads[i].dependency_only;
                    Ok(Arc::new(s))
                }
            }
            Stored::Encoded(slot) => {
                let bytes = self.spill.get(*slot)?;
                let mut s: Scenario = serde_json::from_slice(&bytes)
                    .map_err(|e| SpillError::Read(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
                s.dependency_only = self.heads[i].dependency_only;
                Ok(Arc::new(s))
            }
        }
    }

    /// Every scenario, whole, in plan order.
    pub fn iter(&self) -> impl Iterator<Item = Result<Arc<Scenario>, SpillError>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    pub fn id(&self, i: usize) -> &str {
        &self.heads[i].id
    }

    pub fn plugin(&self, i: usize) -> &str {
        self.names.get(self.heads[i].plugin)
    }

    pub fn endpoint(&self, i: usize) -> &str {
        self.names.get(self.heads[i].endpoint)
    }

    /// Scenario `i`'s plugin and endpoint as numbers into [`Scenarios::name`]: equal numbers,
    /// equal names.
    pub fn name_numbers(&self, i: usize) -> (u32, u32) {
        (self.heads[i].plugin, self.heads[i].endpoint)
    }

    /// The text of a name number.
    pub fn name(&self, n: u32) -> &str {
        self.names.get(n)
    }

    pub fn kind(&self, i: usize) -> ScenarioKind {
        self.heads[i].kind
    }

    pub fn tags(&self, i: usize) -> &[String] {
        self.heads[i].extra.as_ref().map_or(&[], |e| &e.tags)
    }

    pub fn depends_on(&self, i: usize) -> &[String] {
        self.heads[i].extra.as_ref().map_or(&[], |e| &e.depends_on)
    }

    pub fn dependency_only(&self, i: usize) -> bool {
        self.heads[i].dependency_only
    }

    pub fn set_dependency_only(&mut self, i: usize, value: bool) {
        self.heads[i].dependency_only = value;
    }

    /// Whether scenario `i` has a step that talks to the MCP server, and one that sends HTTP.
    pub fn talks(&self, i: usize) -> (bool, bool) {
        (self.heads[i].mcp, self.heads[i].http)
    }

    /// Keep the scenarios whose entry in `keep` is true, in order.
    pub fn retain(&mut self, keep: &[bool]) {
        let mut i = 0;
        self.heads.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        let mut i = 0;
        self.stored.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }

    /// The planned skip reason of scenario `i`: its tag `skip:REASON` (host feature `tag.skip`).
    /// A tag `skip:` without a reason is no planned skip: the scenario runs.
    pub fn planned_skip(&self, i: usize) -> Option<&str> {
        self.tags(i).iter().find_map(|t| t.strip_prefix("skip:")).map(str::trim).filter(|r| !r.is_empty())
    }
}

/// Give back what lists read from a file hold beyond their items: a list of steps grows to room
/// for four as it is read, some 1.1 KB of nothing for a scenario of one step.
fn compact(s: &mut Scenario) {
    s.steps.shrink_to_fit();
    s.tags.shrink_to_fit();
    s.depends_on.shrink_to_fit();
    for step in &mut s.steps {
        step.captures.shrink_to_fit();
        match &mut step.action {
            Action::Http(call) => {
                call.request.query.shrink_to_fit();
                call.request.headers.shrink_to_fit();
                call.expect.status.shrink_to_fit();
                call.expect.body.shrink_to_fit();
                call.expect.headers.shrink_to_fit();
            }
            Action::ToolCall(call) => call.expect.result.shrink_to_fit(),
            Action::McpRequest(r) => r.expect.result.shrink_to_fit(),
            Action::McpCheck(_) => {}
        }
    }
}

/// A rough count of the heap bytes a scenario holds: enough to bound what stays decoded.
fn weight(s: &Scenario) -> usize {
    fn value(v: &serde_json::Value) -> usize {
        use serde_json::Value;
        32 + match v {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(value).sum(),
            Value::Object(map) => map.iter().map(|(k, v)| 48 + k.len() + value(v)).sum(),
            _ => 0,
        }
    }
    fn pairs(list: &[super::model::Pair]) -> usize {
        list.iter().map(|p| 48 + p.name.len() + p.value.len()).sum()
    }
    let strings = |list: &[String]| list.iter().map(|t| 24 + t.len()).sum::<usize>();
    let mut total = 256 + s.id.len() + s.plugin.len() + s.endpoint.len() + s.description.len();
    total += strings(&s.tags) + strings(&s.depends_on);
    for step in &s.steps {
        total += 320 + step.name.len() + step.captures.iter().map(|c| 80 + c.name.len()).sum::<usize>();
        let (assertions, schema) = match &step.action {
            Action::Http(call) => {
                let r = &call.request;
                total += r.path.len() + pairs(&r.query) + pairs(&r.headers) + pairs(&call.expect.headers);
                total += 16 * call.expect.status.len();
                total += match &r.body {
                    None => 0,
                    Some(super::model::Body::Json(v)) => value(v),
                    Some(super::model::Body::Text(t)) => t.len(),
                    Some(super::model::Body::Form(f)) => pairs(f),
                    Some(super::model::Body::Multipart(parts)) => {
                        parts.iter().map(|p| 128 + p.name.len() + 64).sum()
                    }
                    Some(super::model::Body::Bytes(b)) => b.content.len(),
                };
                (&call.expect.body, &call.expect.schema)
            }
            Action::ToolCall(call) => {
                total += call.tool.len() + value(&call.arguments);
                (&call.expect.result, &call.expect.schema)
            }
            Action::McpRequest(r) => {
                total += r.method.len() + value(&r.params);
                (&r.expect.result, &r.expect.schema)
            }
            Action::McpCheck(c) => {
                total += c.check.len();
                continue;
            }
        };
        for a in assertions {
            total += 64 + a.pointer.len();
            if let super::model::JsonTest::Equals(v) = &a.test {
                total += value(v);
            }
        }
        total += schema.as_ref().map_or(0, value);
    }
    total
}

impl From<Vec<Scenario>> for Scenarios {
    fn from(list: Vec<Scenario>) -> Self {
        let mut out = Scenarios::new();
        for s in list {
            out.push(s);
        }
        out
    }
}

impl Clone for Scenarios {
    /// A copy of its own (decoded scenarios are shared; encoded ones are copied).
    fn clone(&self) -> Self {
        let mut out = Scenarios::with_budget(self.memory_budget, self.spill_budget);
        out.names = self.names.clone();
        out.heads = self.heads.clone();
        out.held = self.held;
        for stored in &self.stored {
            out.stored.push(match stored {
                Stored::Here(s) => Stored::Here(s.clone()),
                Stored::Encoded(slot) => match self.spill.get(*slot).and_then(|b| out.spill.push(&b)) {
                    Ok(slot) => Stored::Encoded(slot),
                    Err(e) => {
                        tracing::error!("cannot copy a scenario held in the temporary file: {e}");
                        Stored::Encoded(*slot)
                    }
                },
            });
        }
        out
    }
}

impl PartialEq for Scenarios {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && (0..self.len()).all(|i| match (self.get(i), other.get(i)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            })
    }
}

impl Serialize for Scenarios {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for s in self.iter() {
            let s = s.map_err(serde::ser::Error::custom)?;
            seq.serialize_element(&*s)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Scenarios {
    /// Read one scenario at a time, so a plan file of any size is never held whole.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Each;
        impl<'de> Visitor<'de> for Each {
            type Value = Scenarios;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of scenarios")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scenarios, A::Error> {
                let mut out = Scenarios::new();
                while let Some(s) = seq.next_element::<Scenario>()? {
                    out.push(s);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_seq(Each)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(i: usize) -> Scenario {
        serde_json::from_value(serde_json::json!({
            "id": format!("s{i}"), "plugin": "p", "endpoint": format!("GET /{}", i % 3), "kind": "happy-path",
            "tags": if i.is_multiple_of(2) { vec!["even"] } else { vec![] },
            "steps": [{"request": {"method": "GET", "path": format!("/x/{i}")}, "expect": {"status": [200],
                "body": [{"pointer": "/n", "test": "equals", "value": i}]}}]
        }))
        .unwrap()
    }

    #[test]
    fn scenarios_past_the_budgets_are_encoded_then_spilled_and_read_back_the_same() {
        let originals: Vec<Scenario> = (0..3000).map(scenario).collect();
        let mut store = Scenarios::with_budget(20_000, 50_000);
        for s in originals.clone() {
            store.push(s);
        }
        assert!(matches!(store.stored[0], Stored::Here(_)));
        assert!(matches!(store.stored[2999], Stored::Encoded(_)));
        assert!(store.spill.spilled(), "past the encoded budget, a file");
        for (i, s) in originals.iter().enumerate() {
            assert_eq!(&*store.get(i).unwrap(), s);
            assert_eq!(
                (store.id(i), store.endpoint(i), store.tags(i)),
                (s.id.as_str(), s.endpoint.as_str(), &s.tags[..])
            );
        }
        store.set_dependency_only(2999, true);
        assert!(store.get(2999).unwrap().dependency_only, "the head's flag wins");
        let keep: Vec<bool> = (0..3000).map(|i| i % 1000 == 0).collect();
        store.retain(&keep);
        let ids: Vec<&str> = (0..store.len()).map(|i| store.id(i)).collect();
        assert_eq!(ids, ["s0", "s1000", "s2000"]);
        assert_eq!(store.get(2).unwrap().id, "s2000");
        let copy = store.clone();
        assert!(copy == store);
    }
}
