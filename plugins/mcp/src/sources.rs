//! Where a valid call's ids come from: a generated `account_id` names no account, and a server
//! rightly answers "no such account". An argument that names a record (`id`, `*_id`, `*Id`, and
//! `key` or `slug` of a tool that reads one thing) takes the id that a list tool of the same
//! server returned (`list_accounts` → `/items/0/id`), or else one a create tool returned
//! (`create_or_update_obligation` → `/key`), as its `outputSchema` says where. Those calls go
//! first in the scenario and capture what they return; they are judged as the valid call is (an
//! error answer, or nothing to take, is "not tested", never a pass).

use serde_json::{Map, Value};
use smoke_plugin::Step;

/// A tool as the sources see it: its name, input and output schemas, and whether it may be
/// called (listed, not skipped, not destructive unless allowed).
pub struct Callable<'a> {
    pub name: &'a str,
    pub output: &'a Value,
    pub read_only: bool,
    /// Valid arguments, when they can be made.
    pub arguments: Option<Map<String, Value>>,
    /// The names of its required arguments.
    pub required: Vec<String>,
}

/// Verbs that start a tool's name before the thing it works on (`get_account`).
const VERBS: &[&str] = &[
    "get", "read", "fetch", "show", "describe", "find", "lookup", "update", "delete", "remove", "list",
    "search", "create", "add", "new", "record", "register", "upsert", "put", "set",
];

/// Verbs of a tool that makes a record.
const MAKERS: &[&str] = &["create", "add", "new", "record", "register", "upsert", "put"];

/// Verbs of a tool that reads one thing by what names it.
const READERS: &[&str] = &["get", "read", "fetch", "show", "describe", "find", "lookup"];

/// The words of a name: `list_account_transactions`, `listAccountTransactions` and
/// `list-account-transactions` all give `list account transactions`.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut last_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            last_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && last_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        last_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn plural(noun: &str) -> Vec<String> {
    let mut out = vec![format!("{noun}s"), format!("{noun}es")];
    if let Some(stem) = noun.strip_suffix('y') {
        out.push(format!("{stem}ies"));
    }
    out
}

/// The thing argument `key` of tool `tool` names, if it names one: `account` for `account_id`,
/// `accountId` or `id` of `get_account`; `obligation` for `key` of `get_obligation`.
pub fn names_a_record(tool: &str, key: &str) -> Option<String> {
    let words_of_key = words(key);
    let last = words_of_key.last()?;
    if last == "id" && words_of_key.len() > 1 {
        return Some(words_of_key[..words_of_key.len() - 1].join("_"));
    }
    let tool_words = words(tool);
    let verb = tool_words.first()?;
    let thing = || tool_words.get(1..).filter(|w| !w.is_empty()).map(|w| w.join("_"));
    match key {
        "id" if VERBS.contains(&verb.as_str()) => thing(),
        "key" | "slug" if READERS.contains(&verb.as_str()) => thing(),
        _ => None,
    }
}

/// The properties of an object schema, `allOf` parts merged (one level).
fn properties(schema: &Value) -> Map<String, Value> {
    let mut out = schema["properties"].as_object().cloned().unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        if let Some(more) = part["properties"].as_object() {
            out.extend(more.clone());
        }
    }
    out
}

/// The field of a record that holds what argument `key` names: its `id` for `id` and `*_id`
/// (or a field named as the argument), the field of the same name for `key` or `slug`.
fn field(props: &Map<String, Value>, key: &str) -> Option<String> {
    let id_like = key == "id" || words(key).last().is_some_and(|w| w == "id");
    if id_like && props.contains_key("id") {
        return Some("id".into());
    }
    props.contains_key(key).then(|| key.to_string())
}

/// Where a tool's result holds the id of a record named by `key`, by its `outputSchema`: for a
/// list, the first item's (`/items/0/id`); for a record, its own (`/id`, or `/key`).
fn pointer(tool: &Callable<'_>, key: &str, list: bool) -> Option<String> {
    let props = properties(tool.output);
    if !list {
        return field(&props, key).map(|f| format!("/{f}"));
    }
    props.iter().filter(|(_, p)| p["type"] == "array").find_map(|(name, p)| {
        let f = field(&properties(&p["items"]), key)?;
        Some(format!("/{name}/0/{f}"))
    })
}

/// The tool to take a `noun`'s id from, and where in its result: one that makes such a record
/// where a tool of `all` deletes it (the scenario then has its own, deleted at its end, never
/// one another scenario is deleting meanwhile), else a list tool taking no required argument,
/// else one that makes such a record, else a list tool that needs arguments.
fn source<'t>(
    tools: &'t [Callable<'t>],
    all: &[Callable<'_>],
    asking: &str,
    noun: &str,
    key: &str,
) -> Option<(&'t Callable<'t>, String)> {
    let plurals = plural(noun);
    let candidates = tools.iter().filter(|t| t.name != asking && t.arguments.is_some());
    let lists = |needs: bool| -> Vec<&'t Callable<'t>> {
        candidates
            .clone()
            .filter(|t| {
                let w = words(t.name);
                let mentions = w.iter().any(|x| plurals.contains(x));
                let lists =
                    w.first().is_some_and(|v| ["list", "search", "find", "all"].contains(&v.as_str()));
                mentions && lists && t.read_only && t.required.is_empty() != needs
            })
            .collect()
    };
    let makers = candidates.clone().filter(|t| {
        let w = words(t.name);
        let joined = w.join("_");
        w.first().is_some_and(|v| MAKERS.contains(&v.as_str())) && (joined.contains(noun))
    });
    let own = makers.clone().filter(|t| deleter(all, t.name).is_some());
    own.clone()
        .find_map(|t| Some((t, pointer(t, key, false)?)))
        .or_else(|| lists(false).into_iter().find_map(|t| Some((t, pointer(t, key, true)?))))
        .or_else(|| makers.clone().find_map(|t| Some((t, pointer(t, key, false)?))))
        .or_else(|| lists(true).into_iter().find_map(|t| Some((t, pointer(t, key, true)?))))
}

/// What the calls before a valid call found, and made.
#[derive(Default)]
pub struct Found {
    /// Each record's noun and the variable holding the id taken for it.
    taken: Vec<(String, String)>,
    /// The records made, in order: each deleted at the scenario's end (unless `keep_data`).
    pub made: Vec<Made>,
}

/// A record a call made, and how to delete it: the tool, the argument naming the record, and
/// the variable holding its id.
pub struct Made {
    pub deleter: String,
    pub argument: String,
    pub var: String,
    pub maker: String,
}

/// The tool that deletes what tool `maker` makes (`delete_note` or `remove_note` for
/// `create_note`: the same thing after the verb) by one required argument naming the record,
/// and where `maker`'s result holds that id (a field its `outputSchema` requires, so a result
/// without it fails already): the deleter's name, its argument and the pointer.
fn deleter<'t>(all: &'t [Callable<'_>], maker: &str) -> Option<(&'t str, String, String)> {
    let maker = all.iter().find(|t| t.name == maker)?;
    let w = words(maker.name);
    let (verb, thing) = w.split_first()?;
    if !MAKERS.contains(&verb.as_str()) || thing.is_empty() {
        return None;
    }
    let thing = thing.join("_");
    all.iter().find_map(|d| {
        let dw = words(d.name);
        let (verb, what) = dw.split_first()?;
        if !["delete", "remove"].contains(&verb.as_str()) || what.join("_") != thing {
            return None;
        }
        let [argument] = d.required.as_slice() else { return None };
        if names_a_record(d.name, argument)? != thing {
            return None;
        }
        let at = pointer(maker, argument, false)?;
        let required = maker.output["required"].as_array()?;
        required.iter().any(|r| r.as_str() == Some(&at[1..])).then(|| (d.name, argument.clone(), at))
    })
}

/// `step`, a call of tool `maker`, capturing the id of what it makes where a tool of `all`
/// deletes such records (noted in `found.made`, to delete at the scenario's end).
pub fn made_by(all: &[Callable<'_>], maker: &str, step: Step, found: &mut Found) -> Step {
    let Some((deleter, argument, at)) = deleter(all, maker) else { return step };
    let var = format!("made_{}", found.made.len() + 1);
    found.made.push(Made {
        deleter: deleter.to_string(),
        argument,
        var: var.clone(),
        maker: maker.to_string(),
    });
    step.capture(&var, &at)
}

/// The calls that go before tool `tool`'s valid call, and its arguments with each record's id
/// taken from them (`{{NAME}}` templates the host resolves). `depth`: how many calls deep the
/// ids of those calls are themselves taken (one more, at most). `all`: every tool that may be
/// called to delete what one of them made.
pub fn before(
    tools: &[Callable<'_>],
    all: &[Callable<'_>],
    tool: &str,
    mut arguments: Value,
    found: &mut Found,
    depth: usize,
) -> (Vec<Step>, Value) {
    let mut steps = Vec::new();
    let mut keys = Vec::new();
    collect_keys(&arguments, &mut keys);
    for key in keys {
        let Some(noun) = names_a_record(tool, &key) else { continue };
        let var = match found.taken.iter().find(|(n, _)| n == &noun) {
            Some((_, var)) => var.clone(),
            None => {
                let Some((from, at)) = source(tools, all, tool, &noun, &key) else { continue };
                if depth >= 2 {
                    continue;
                }
                let var = format!("taken_{}", noun.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
                let given = Value::Object(from.arguments.clone().unwrap_or_default());
                let (first, given) = before(tools, all, from.name, given, found, depth + 1);
                steps.extend(first);
                let step = Step::tool_call(from.name, given)
                    .named(&format!("{noun} from {}", from.name))
                    .expect_answer()
                    .capture(&var, &at);
                steps.push(made_by(all, from.name, step, found));
                found.taken.push((noun.clone(), var.clone()));
                var
            }
        };
        replace(&mut arguments, &key, &format!("{{{{{var}}}}}"));
    }
    (steps, arguments)
}

/// The object keys in `value`, each once, in the order first met.
fn collect_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if v.is_string() && !out.contains(k) {
                    out.push(k.clone());
                }
                collect_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_keys(i, out)),
        _ => {}
    }
}

/// Every string value under object key `key` in `value` set to `to`.
fn replace(value: &mut Value, key: &str, to: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == key && v.is_string() {
                    *v = Value::String(to.to_string());
                } else {
                    replace(v, key, to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| replace(i, key, to)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_that_name_a_record_say_which() {
        assert_eq!(names_a_record("get_account", "account_id").as_deref(), Some("account"));
        assert_eq!(names_a_record("getAccount", "accountId").as_deref(), Some("account"));
        assert_eq!(names_a_record("get_account", "id").as_deref(), Some("account"));
        assert_eq!(names_a_record("get_obligation", "key").as_deref(), Some("obligation"));
        // A key a create tool is given is the caller's to choose.
        assert_eq!(names_a_record("create_or_update_obligation", "key"), None);
        assert_eq!(names_a_record("echo", "text"), None);
        assert_eq!(words("listAccountTransactions"), ["list", "account", "transactions"]);
    }
}
