//! The "not tested" ledger: for each endpoint or tool, the kinds of check it did not get, and
//! why, in words a user can act on. A green run says what it did not look at.
//!
//! Its entries come from the plan and the results, never guessed:
//! - a plugin's word: a scenario tagged `not-planned:KIND:REASON` says its endpoint gets no
//!   check of that kind, and why (the OpenAPI plugin: "it declares no 404");
//! - scenarios planned as skipped (`skip:REASON`), with their reasons;
//! - scenarios not tested at run time (`not-tested`: a tool answered an error to a call whose
//!   outcome the plan could not know), with the tool's words;
//! - the plugin's declared surface against what it planned (an endpoint with path parameters and
//!   no not-found scenario, ...).
//!
//! A kind some scenario of the endpoint did test (it ran, passed or failed) is never listed.

use crate::plan::Plan;
use crate::plan::model::ScenarioKind;
use crate::run::results::{FailureKind, NotTested, Outcome};
use crate::run::spool::Spool;
use std::collections::{BTreeMap, HashSet};

/// The tag prefix by which a plugin says a kind of check was not planned for a scenario's
/// endpoint, and why: `not-planned:KIND:REASON`.
pub const TAG: &str = "not-planned:";

/// How long a reason may be: a plugin's words, kept once and short.
const MAX_REASON: usize = 500;

/// The ledger of a run: what its plan and results say was not tested.
pub fn of_run(plan: &Plan, spool: &Spool) -> Vec<NotTested> {
    let scenarios = &plan.scenarios;
    let mut found: Vec<NotTested> = Vec::new();
    let mut add = |plugin: &str, endpoint: &str, kind: &str, reason: &str| {
        found.push(NotTested {
            plugin: plugin.to_string(),
            endpoint: endpoint.to_string(),
            kind: kind.to_string(),
            reason: crate::http::clip_text(reason.trim().to_string(), MAX_REASON),
        });
    };
    for i in 0..scenarios.len().min(spool.len()) {
        let (plugin, endpoint) = (scenarios.plugin(i), scenarios.endpoint(i));
        for tag in scenarios.tags(i) {
            if let Some((kind, reason)) = tag.strip_prefix(TAG).and_then(|rest| rest.split_once(':')) {
                add(plugin, endpoint, kind.trim(), reason);
            }
        }
        let brief = spool.brief(i);
        if brief.outcome != Outcome::Skipped {
            continue;
        }
        let kind = scenarios.kind(i).as_str();
        match brief.failure {
            Some(FailureKind::PlannedSkip) => {
                // The plugin's reason, or the run's (--read-only).
                let reason = match scenarios.planned_skip(i) {
                    Some(r) => r.to_string(),
                    None => spool.result(i).ok().and_then(|r| r.reason).unwrap_or_default(),
                };
                add(plugin, endpoint, kind, reason.strip_prefix("skipped: ").unwrap_or(&reason));
            }
            Some(FailureKind::NotTested) => {
                let reason = spool.result(i).ok().and_then(|r| r.reason).unwrap_or_default();
                add(plugin, endpoint, kind, reason.strip_prefix("not tested: ").unwrap_or(&reason));
            }
            _ => {}
        }
    }
    for row in crate::plan::coverage::coverage(plan).rows {
        let declared = plan.surface.iter().find(|e| e.id == row.endpoint && e.plugin == row.plugin);
        let Some(e) = declared else { continue };
        if row.happy == 0 {
            add(&row.plugin, &row.endpoint, "happy-path", "the plugin planned no happy path for it");
        }
        if e.has_path_params && row.not_found == 0 {
            add(
                &row.plugin,
                &row.endpoint,
                "not-found",
                "it has path parameters, and no not-found check was planned",
            );
        }
        if e.has_constrained_body && row.validation == 0 {
            add(
                &row.plugin,
                &row.endpoint,
                "validation-error",
                "its body has constraints, and no validation-error check was planned",
            );
        }
    }
    settle(found, spool)
}

/// One entry per endpoint and kind (the first reason given), none for a kind some scenario of
/// the endpoint tested (it ran: passed or failed), in endpoint order.
pub fn settle(entries: Vec<NotTested>, spool: &Spool) -> Vec<NotTested> {
    let mut tested: HashSet<(&str, &str, &str)> = HashSet::new();
    for (i, b) in spool.briefs().iter().enumerate() {
        if matches!(b.outcome, Outcome::Passed | Outcome::Failed)
            && let Some(kind) = b.kind
        {
            tested.insert((spool.plugin(i), spool.endpoint(i), kind.as_str()));
        }
    }
    let mut kept: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for e in entries {
        if tested.contains(&(e.plugin.as_str(), e.endpoint.as_str(), e.kind.as_str())) {
            continue;
        }
        kept.entry((e.plugin, e.endpoint, e.kind)).or_insert(e.reason);
    }
    kept.into_iter()
        .map(|((plugin, endpoint, kind), reason)| NotTested { plugin, endpoint, kind, reason })
        .collect()
}

/// Of the kinds `--require` asks for, the entries that lack one.
pub fn missing<'a>(ledger: &'a [NotTested], required: &[ScenarioKind]) -> Vec<&'a NotTested> {
    ledger.iter().filter(|e| required.iter().any(|k| k.as_str() == e.kind)).collect()
}

/// The console's short account of the ledger: per kind, how many endpoints, and the first's
/// reason. Empty when everything planned was tested.
pub fn summary(ledger: &[NotTested]) -> String {
    if ledger.is_empty() {
        return String::new();
    }
    let mut by_kind: BTreeMap<&str, Vec<&NotTested>> = BTreeMap::new();
    for e in ledger {
        by_kind.entry(e.kind.as_str()).or_default().push(e);
    }
    let endpoints: HashSet<(&str, &str)> =
        ledger.iter().map(|e| (e.plugin.as_str(), e.endpoint.as_str())).collect();
    let mut out = format!(
        "\nNot tested: {} check(s) on {} endpoint(s) (report.json's `not_tested` lists each, with why):\n",
        ledger.len(),
        endpoints.len()
    );
    for (kind, entries) in by_kind {
        let first = entries[0];
        let reason: String = first.reason.chars().take(160).collect();
        let more =
            if entries.len() > 1 { format!(" (and {} more)", entries.len() - 1) } else { String::new() };
        let (kind, endpoint) = (crate::text::escape_line(kind), crate::text::escape_line(&first.endpoint));
        out.push_str(&format!("  {kind:<17} {endpoint}: {}{more}\n", crate::text::escape_line(&reason)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::Scenario;
    use crate::run::results::{Failure, ScenarioResult};

    fn spool(results: &[(&str, &str, ScenarioKind, Outcome)]) -> Spool {
        let mut spool = Spool::default();
        for (id, endpoint, kind, outcome) in results {
            let mut r = ScenarioResult::new(&Scenario::bare(id, "p", endpoint, *kind));
            r.outcome = *outcome;
            if *outcome == Outcome::Skipped {
                r.failure = Some(Failure::new(FailureKind::NotTested, "not tested: no"));
            }
            spool.append(&r);
        }
        spool
    }

    fn entry(endpoint: &str, kind: &str) -> NotTested {
        NotTested { plugin: "p".into(), endpoint: endpoint.into(), kind: kind.into(), reason: "why".into() }
    }

    #[test]
    fn a_kind_tested_anywhere_on_the_endpoint_is_not_listed_and_the_rest_are_once_each() {
        let s = spool(&[
            ("a", "GET /a", ScenarioKind::NotFound, Outcome::Passed),
            ("b", "GET /b", ScenarioKind::NotFound, Outcome::Failed),
        ]);
        let settled = settle(
            vec![
                entry("GET /a", "not-found"),
                entry("GET /a", "auth"),
                entry("GET /a", "auth"),
                entry("GET /b", "not-found"),
            ],
            &s,
        );
        assert_eq!(settled, vec![entry("GET /a", "auth")]);
        assert_eq!(missing(&settled, &[ScenarioKind::Auth]).len(), 1);
        assert!(missing(&settled, &[ScenarioKind::NotFound]).is_empty());
        let text = summary(&settled);
        assert!(
            text.contains("1 check(s) on 1 endpoint(s)")
                && text.contains("auth")
                && text.contains("GET /a: why"),
            "{text}"
        );
        assert!(summary(&[]).is_empty());
    }
}
