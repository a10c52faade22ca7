//! Plan validation: refuse plans that cannot mean what they say before anything is sent.
//!
//! Unique ids, dependencies that exist, no cycles, a non-empty status set on every step, valid
//! capture names, and nothing this host cannot yet execute.

use super::model::{Plan, Step, StepMode};
use std::collections::{BTreeMap, BTreeSet};

/// Every problem found, each naming where it is. Empty means the plan is valid.
pub fn validate(plan: &Plan) -> Vec<String> {
    let mut errors = Vec::new();

    let mut seed_owner: BTreeMap<&str, &str> = BTreeMap::new();
    for s in &plan.seeds {
        if let Some(other) = seed_owner.insert(&s.id, &s.plugin) {
            errors.push(format!("seed id {:?} is used twice (plugins {other} and {})", s.id, s.plugin));
        }
        check_step(&format!("seed {:?}", s.id), &s.step, &mut errors);
    }
    for s in &plan.seeds {
        for d in &s.depends_on {
            if !seed_owner.contains_key(d.as_str()) {
                errors.push(format!("seed {:?} depends on {d:?}, which is not a seed in the plan", s.id));
            }
        }
    }
    let seed_edges: Vec<(&str, Vec<&str>)> = plan
        .seeds
        .iter()
        .map(|s| (s.id.as_str(), s.depends_on.iter().map(String::as_str).collect()))
        .collect();
    if let Some(cycle) = find_cycle(&seed_edges) {
        errors.push(format!("seed dependencies form a cycle: {}", cycle.join(" -> ")));
    }

    let mut scenario_owner: BTreeMap<&str, &str> = BTreeMap::new();
    for s in &plan.scenarios {
        if let Some(other) = scenario_owner.insert(&s.id, &s.plugin) {
            errors.push(format!("scenario id {:?} is used twice (plugins {other} and {})", s.id, s.plugin));
        }
        if s.id.is_empty() {
            errors.push(format!("a scenario of plugin {} has an empty id", s.plugin));
        }
        if s.steps.is_empty() {
            errors.push(format!("scenario {:?} has no steps", s.id));
        }
        for (i, step) in s.steps.iter().enumerate() {
            check_step(
                &format!("scenario {:?}, step {} ({})", s.id, i + 1, step.display_name()),
                step,
                &mut errors,
            );
        }
    }
    for s in &plan.scenarios {
        for d in &s.depends_on {
            if !scenario_owner.contains_key(d.as_str()) {
                errors.push(format!(
                    "scenario {:?} depends on {d:?}, which is not a scenario in the plan",
                    s.id
                ));
            }
        }
    }
    let edges: Vec<(&str, Vec<&str>)> = plan
        .scenarios
        .iter()
        .map(|s| (s.id.as_str(), s.depends_on.iter().map(String::as_str).collect()))
        .collect();
    if let Some(cycle) = find_cycle(&edges) {
        errors.push(format!("scenario dependencies form a cycle: {}", cycle.join(" -> ")));
    }
    errors
}

fn check_step(at: &str, step: &Step, errors: &mut Vec<String>) {
    if step.expect.status.is_empty() {
        errors
            .push(format!("{at}: the expectation accepts no status; list the statuses that count as a pass"));
    }
    if !step.request.path.starts_with('/') {
        errors.push(format!("{at}: the path {:?} must start with '/'", step.request.path));
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
    if step.expect.schema.is_some() {
        errors.push(format!("{at}: JSON Schema expectations are not supported by this smoke version yet"));
    }
    if !matches!(step.mode, StepMode::Once) {
        errors.push(format!("{at}: poll and burst steps are not supported by this smoke version yet"));
    }
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
    fn a_diamond_is_not_a_cycle() {
        let edges = vec![("a", vec![]), ("b", vec!["a"]), ("c", vec!["a"]), ("d", vec!["b", "c"])];
        assert_eq!(find_cycle(&edges), None);
    }
}
