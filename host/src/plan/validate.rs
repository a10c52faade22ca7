//! Plan validation: refuse plans that cannot mean what they say before anything is sent.
//!
//! Unique ids, dependencies that exist, no cycles, a non-empty status set on every step, valid
//! capture names, and nothing this host cannot yet execute.

use super::model::{Plan, Step, StepMode};
use std::collections::{BTreeMap, BTreeSet};

/// Every problem found, each naming where it is. Empty means the plan is valid.
pub fn validate(plan: &Plan) -> Vec<String> {
    let mut errors = Vec::new();
    for s in &plan.seeds {
        check_step(&format!("seed {:?}", s.id), &s.step, &mut errors);
    }
    let seeds: Vec<Node> =
        plan.seeds.iter().map(|s| Node { id: &s.id, plugin: &s.plugin, deps: &s.depends_on }).collect();
    check_graph("seed", &seeds, &mut errors);

    for s in &plan.scenarios {
        if s.steps.is_empty() {
            errors.push(format!("scenario {:?} has no steps", s.id));
        }
        for (i, step) in s.steps.iter().enumerate() {
            let at = format!("scenario {:?}, step {} ({})", s.id, i + 1, step.display_name());
            check_step(&at, step, &mut errors);
        }
    }
    let scenarios: Vec<Node> =
        plan.scenarios.iter().map(|s| Node { id: &s.id, plugin: &s.plugin, deps: &s.depends_on }).collect();
    check_graph("scenario", &scenarios, &mut errors);
    errors
}

/// A seed or a scenario, as far as the dependency graph is concerned.
struct Node<'a> {
    id: &'a str,
    plugin: &'a str,
    deps: &'a [String],
}

/// Ids non-empty and unique, dependencies known, no cycle.
fn check_graph(kind: &str, nodes: &[Node<'_>], errors: &mut Vec<String>) {
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for n in nodes {
        if n.id.is_empty() {
            errors.push(format!("a {kind} of plugin {} has an empty id", n.plugin));
        }
        if let Some(other) = owner.insert(n.id, n.plugin) {
            errors.push(format!("{kind} id {:?} is used twice (plugins {other} and {})", n.id, n.plugin));
        }
    }
    for n in nodes {
        for d in n.deps {
            if !owner.contains_key(d.as_str()) {
                errors.push(format!("{kind} {:?} depends on {d:?}, which is not a {kind} in the plan", n.id));
            }
        }
    }
    let edges: Vec<(&str, Vec<&str>)> =
        nodes.iter().map(|n| (n.id, n.deps.iter().map(String::as_str).collect())).collect();
    if let Some(cycle) = find_cycle(&edges) {
        errors.push(format!("{kind} dependencies form a cycle: {}", cycle.join(" -> ")));
    }
}

fn check_step(at: &str, step: &Step, errors: &mut Vec<String>) {
    if step.expect.status.is_empty() {
        errors
            .push(format!("{at}: the expectation accepts no status; list the statuses that count as a pass"));
    }
    if let Some(reason) = off_target(&step.request.path) {
        errors.push(format!("{at}: the path {:?} {reason}", step.request.path));
    }
    for c in &step.captures {
        let valid = !c.name.is_empty()
            && c.name.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'));
        if !valid {
            errors.push(format!(
                "{at}: capture name {:?} may only hold letters, digits, '_', '.' and '-'",
                c.name
            ));
        }
        if c.name.starts_with("config.") {
            errors.push(format!(
                "{at}: capture name {:?} is reserved: `config.*` names the plugin's config",
                c.name
            ));
        }
    }
    if let Some(schema) = &step.expect.schema
        && let Err(e) = jsonschema::validator_for(schema)
    {
        errors.push(format!("{at}: the response schema is not a valid JSON Schema: {e}"));
    }
    match &step.mode {
        StepMode::Once => {}
        StepMode::Poll { interval_ms, timeout_ms } => {
            if *interval_ms == 0 || *timeout_ms < *interval_ms {
                errors.push(format!(
                    "{at}: a poll needs an interval above 0 and a timeout of at least one interval \
                     (interval {interval_ms} ms, timeout {timeout_ms} ms)"
                ));
            }
        }
        StepMode::Burst { count, concurrency, mix } => {
            if *count == 0 || *concurrency == 0 || *count > 100_000 {
                errors.push(format!(
                    "{at}: a burst needs 1 to 100000 requests and a concurrency above 0 (count {count}, \
                     concurrency {concurrency})"
                ));
            }
            for bound in mix {
                if let crate::plan::model::StatusMatch::Class(class) = bound.status
                    && !(1..=5).contains(&class)
                {
                    errors.push(format!("{at}: status class {class} does not exist (1 to 5)"));
                }
            }
        }
    }
}

/// Why a request path (a template, before variables are filled in) could leave the base URL's
/// origin or base path, or `None` when it cannot. Values filled in later are percent-encoded as
/// one segment, so only the template's own text matters. The host refuses such a path twice: here,
/// before anything is sent, and again when the URL is built.
pub fn off_target(path: &str) -> Option<&'static str> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if !path.starts_with('/') {
        return Some("must start with '/'");
    }
    if path.starts_with("//") {
        return Some("starts with '//', which names another host; a path must stay on the base URL");
    }
    if path.contains('\\') {
        return Some("holds a backslash, which URL parsers read as '/'; a path must stay on the base URL");
    }
    if path.contains("://") {
        return Some("holds an absolute URL ('://'); a path must stay on the base URL");
    }
    if path.chars().any(|c| c.is_control() || c == ' ') {
        return Some("holds a space or a control character; percent-encode it");
    }
    let dot = |segment: &str| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    };
    if path.split('/').any(dot) {
        return Some("holds a '.' or '..' segment, which could climb out of the base path");
    }
    None
}

/// A dependency cycle, as the ids along it (first id repeated at the end), if there is one.
fn find_cycle<'a>(edges: &[(&'a str, Vec<&'a str>)]) -> Option<Vec<&'a str>> {
    let graph: BTreeMap<&str, &Vec<&str>> = edges.iter().map(|(id, deps)| (*id, deps)).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for (start, _) in edges {
        let mut path: Vec<&str> = Vec::new();
        if visit(start, &graph, &mut path, &mut done) {
            return Some(path);
        }
    }
    None
}

fn visit<'a>(
    id: &'a str,
    graph: &BTreeMap<&'a str, &Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
) -> bool {
    if let Some(pos) = path.iter().position(|p| *p == id) {
        path.drain(..pos);
        path.push(id);
        return true;
    }
    if done.contains(id) {
        return false;
    }
    path.push(id);
    for dep in graph.get(id).map(|d| d.as_slice()).unwrap_or(&[]) {
        if visit(dep, graph, path, done) {
            return true;
        }
    }
    path.pop();
    done.insert(id);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cycle_and_names_it() {
        let edges = vec![("a", vec![]), ("b", vec!["a", "d"]), ("c", vec!["b"]), ("d", vec!["c"])];
        assert_eq!(find_cycle(&edges), Some(vec!["b", "d", "c", "b"]));
    }

    #[test]
    fn paths_that_could_leave_the_target_are_named() {
        for bad in
            ["//evil/x", "/\\\\evil/x", "/http://other:8080/x", "/a/../admin", "/a/%2E%2e/b", "x", "/a b"]
        {
            assert!(off_target(bad).is_some(), "{bad}");
        }
        for good in ["/users:search", "/v1/things/{{id}}", "/a?x=1", "/", "/a..b/c"] {
            assert_eq!(off_target(good), None, "{good}");
        }
    }

    #[test]
    fn a_diamond_is_not_a_cycle() {
        let edges = vec![("a", vec![]), ("b", vec!["a"]), ("c", vec!["a"]), ("d", vec!["b", "c"])];
        assert_eq!(find_cycle(&edges), None);
    }
}
