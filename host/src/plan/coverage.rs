//! Coverage: the API surface a plugin declares against the scenarios it planned. Every endpoint
//! needs a happy path; one with path parameters a not-found; one with a constrained body a
//! validation error. Gaps are warnings, or errors with `--strict-plan`.

use super::model::{Plan, ScenarioKind};
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
    let mut c = Coverage::default();
    for e in &plan.surface {
        let exercising = || plan.scenarios.iter().filter(|s| s.plugin == e.plugin && s.endpoint == e.id);
        let count = |kind: ScenarioKind| exercising().filter(|s| s.kind == kind).count();
        let row = Row {
            endpoint: e.id.clone(),
            plugin: e.plugin.clone(),
            happy: count(ScenarioKind::HappyPath),
            not_found: count(ScenarioKind::NotFound),
            validation: count(ScenarioKind::ValidationError),
            other: exercising()
                .filter(|s| {
                    !matches!(
                        s.kind,
                        ScenarioKind::HappyPath | ScenarioKind::NotFound | ScenarioKind::ValidationError
                    )
                })
                .count(),
        };
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
    for s in &plan.scenarios {
        let declared = plan.surface.iter().any(|e| e.plugin == s.plugin && e.id == s.endpoint);
        let plugin_declares = plan.surface.iter().any(|e| e.plugin == s.plugin);
        if plugin_declares && !declared {
            c.gaps.push(format!(
                "scenario {} exercises {}, which plugin {} does not declare in its surface",
                s.id, s.endpoint, s.plugin
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
            ],
            surface: vec![endpoint("GET /items/{id}", true, false), endpoint("POST /items", false, true)],
            digest: String::new(),
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
