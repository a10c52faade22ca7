//! Coverage: the API surface a plugin declares against the scenarios it planned. Every endpoint
//! needs a happy path; one with path parameters a not-found; one with a constrained body a
//! validation error. Gaps are warnings, or errors with `--strict-plan`.

use super::Plan;
use super::model::ScenarioKind;
use std::fmt::Write;

/// One declared endpoint and how many scenarios of each kind exercise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub endpoint: String,
    pub plugin: String,
    pub happy: usize,
    pub not_found: usize,
    pub validation: usize,
    pub other: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub rows: Vec<Row>,
    /// What is missing, one sentence each.
    pub gaps: Vec<String>,
}

pub fn coverage(plan: &Plan) -> Coverage {
    use std::collections::{HashMap, HashSet};
    let scenarios = &plan.scenarios;
    // Scenarios by (plugin, endpoint), as the plan numbers them: how many of each kind. One
    // pass, whatever the plan's size.
    let mut counts: HashMap<(u32, u32), [usize; 4]> = HashMap::new();
    for i in 0..scenarios.len() {
        let column = match scenarios.kind(i) {
            ScenarioKind::HappyPath => 0,
            ScenarioKind::NotFound => 1,
            ScenarioKind::ValidationError => 2,
            _ => 3,
        };
        counts.entry(scenarios.name_numbers(i)).or_default()[column] += 1;
    }
    let counts: HashMap<(&str, &str), [usize; 4]> =
        counts.into_iter().map(|((p, e), n)| ((scenarios.name(p), scenarios.name(e)), n)).collect();
    let mut c = Coverage::default();
    for e in &plan.surface {
        let [happy, not_found, validation, other] =
            counts.get(&(e.plugin.as_str(), e.id.as_str())).copied().unwrap_or_default();
        let row =
            Row { endpoint: e.id.clone(), plugin: e.plugin.clone(), happy, not_found, validation, other };
        if row.happy == 0 {
            c.gaps.push(format!("{} ({}): no happy-path scenario", e.id, e.plugin));
        }
        if e.has_path_params && row.not_found == 0 {
            c.gaps.push(format!("{} ({}): has path parameters but no not-found scenario", e.id, e.plugin));
        }
        if e.has_constrained_body && row.validation == 0 {
            c.gaps.push(format!(
                "{} ({}): has a constrained body but no validation-error scenario",
                e.id, e.plugin
            ));
        }
        c.rows.push(row);
    }
    let declared: HashSet<(&str, &str)> =
        plan.surface.iter().map(|e| (e.plugin.as_str(), e.id.as_str())).collect();
    let declaring: HashSet<&str> = plan.surface.iter().map(|e| e.plugin.as_str()).collect();
    // Whether each (plugin, endpoint) pair is declared, worked out once per pair.
    let mut undeclared: HashMap<(u32, u32), bool> = HashMap::new();
    for i in 0..scenarios.len() {
        let numbers = scenarios.name_numbers(i);
        let missing = *undeclared.entry(numbers).or_insert_with(|| {
            let (plugin, endpoint) = (scenarios.name(numbers.0), scenarios.name(numbers.1));
            declaring.contains(plugin) && !declared.contains(&(plugin, endpoint))
        });
        if missing {
            c.gaps.push(format!(
                "scenario {} exercises {}, which plugin {} does not declare in its surface",
                scenarios.id(i),
                scenarios.endpoint(i),
                scenarios.plugin(i)
            ));
        }
    }
    c
}

/// The coverage table, for `smoke plan`'s stderr.
pub fn table(c: &Coverage) -> String {
    let mut out = String::new();
    if c.rows.is_empty() {
        out.push_str("coverage: no plugin declares its API surface\n");
        return out;
    }
    let width = c.rows.iter().map(|r| r.endpoint.len()).max().unwrap_or(8).max(8);
    let _ = writeln!(out, "{:width$}  happy  not-found  validation  other", "endpoint");
    for r in &c.rows {
        let _ = writeln!(
            out,
            "{:width$}  {:>5}  {:>9}  {:>10}  {:>5}",
            r.endpoint, r.happy, r.not_found, r.validation, r.other
        );
    }
    for g in &c.gaps {
        let _ = writeln!(out, "warning: coverage: {g}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{Endpoint, Scenario};

    fn scenario(id: &str, endpoint: &str, kind: ScenarioKind) -> Scenario {
        Scenario {
            id: id.into(),
            plugin: "p".into(),
            endpoint: endpoint.into(),
            kind,
            description: String::new(),
            depends_on: vec![],
            tags: vec![],
            steps: vec![],
            dependency_only: false,
        }
    }

    fn endpoint(id: &str, params: bool, body: bool) -> Endpoint {
        Endpoint { id: id.into(), plugin: "p".into(), has_path_params: params, has_constrained_body: body }
    }

    #[test]
    fn gaps_name_the_endpoint_and_what_is_missing() {
        let plan = Plan {
            plugins: vec![],
            seeds: vec![],
            scenarios: vec![
                scenario("a", "GET /items/{id}", ScenarioKind::HappyPath),
                scenario("b", "POST /items", ScenarioKind::ValidationError),
                scenario("c", "DELETE /items/{id}", ScenarioKind::HappyPath),
            ]
            .into(),
            surface: vec![endpoint("GET /items/{id}", true, false), endpoint("POST /items", false, true)],
            digest: String::new(),
            split: None,
            shard_ids: None,
        };
        let c = coverage(&plan);
        assert_eq!(
            c.gaps,
            vec![
                "GET /items/{id} (p): has path parameters but no not-found scenario".to_string(),
                "POST /items (p): no happy-path scenario".to_string(),
                "scenario c exercises DELETE /items/{id}, which plugin p does not declare in its surface"
                    .to_string(),
            ]
        );
        assert_eq!(c.rows[0].happy, 1);
    }
}
