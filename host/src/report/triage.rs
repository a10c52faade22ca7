//! Triage: what the failures of a run have in common, computed by rules over the results (never
//! guessed). Each finding names the scenarios it covers and a next step. Silent on a passing run.

use crate::plan::model::ScenarioKind;
pub use crate::run::results::Finding;
use crate::run::results::{FailureKind, Outcome, RunReport};
use crate::run::spool::Spool;
use std::collections::{BTreeMap, HashSet};

/// What a failed scenario's failing step saw.
struct Failed<'a> {
    id: &'a str,
    plugin: &'a str,
    endpoint: &'a str,
    scenario_kind: Option<ScenarioKind>,
    method: &'a str,
    /// The tool, for a tool call.
    tool: Option<&'a str>,
    status: Option<u16>,
    kind: Option<FailureKind>,
}

/// `/orders` for `GET /orders/{id}`; `/api/agents` for `POST /api/agents` (skips `api`, `v1`).
fn prefix(endpoint: &str) -> String {
    let path = endpoint.split_whitespace().last().unwrap_or(endpoint);
    let mut out = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(segment);
        let generic = segment == "api"
            || (segment.starts_with('v') && segment[1..].chars().all(|c| c.is_ascii_digit()));
        if !generic {
            break;
        }
    }
    if out.is_empty() { "/".into() } else { out }
}

fn ids(items: &[&Failed<'_>]) -> Vec<String> {
    items.iter().map(|f| f.id.to_string()).collect()
}

/// What the failures of a run have in common, from each scenario's brief: the rules of
/// [`Triage`], in order, each over what the ones before left unexplained.
pub fn triage(report: &RunReport<Spool>) -> Vec<Finding> {
    let spool = &report.scenarios;
    let failed: Vec<Failed<'_>> = (0..spool.len())
        .filter(|&i| spool.brief(i).outcome == Outcome::Failed)
        .filter_map(|i| {
            let b = spool.brief(i);
            // A failure outside any step (a post-run check, a run cut short) has nothing for these rules.
            if !b.failed_in_step {
                return None;
            }
            Some(Failed {
                id: spool.id(i),
                plugin: spool.plugin(i),
                endpoint: spool.endpoint(i),
                scenario_kind: b.kind,
                method: b.failed_method.map_or("", |m| spool.name(m)),
                tool: b.failed_tool.map(|t| spool.name(t)),
                status: b.failed_status,
                kind: b.failure,
            })
        })
        .collect();
    if failed.is_empty() {
        return Vec::new();
    }
    let mut t = Triage { report, failed: &failed, findings: Vec::new(), covered: HashSet::new() };
    if t.service_down() {
        return t.findings;
    }
    t.plugin_faults();
    t.happy_paths_404();
    t.auth();
    t.server_errors();
    t.mcp();
    t.timeouts();
    t.same_status();
    t.findings
}

/// The rules, over a run's failures: what each found, and the scenarios explained so far.
struct Triage<'r, 'f> {
    report: &'r RunReport<Spool>,
    failed: &'f [Failed<'r>],
    findings: Vec<Finding>,
    covered: HashSet<&'r str>,
}

impl<'r> Triage<'r, '_> {
    fn found(&mut self, finding: Finding, hits: &[&Failed<'r>]) {
        self.covered.extend(hits.iter().map(|f| f.id));
        self.findings.push(finding);
    }

    /// The service is down: nothing answered at all. Nothing else is worth saying then.
    fn service_down(&mut self) -> bool {
        let unreachable: Vec<&Failed<'_>> = self
            .failed
            .iter()
            .filter(|f| {
                f.status.is_none()
                    && matches!(f.kind, Some(FailureKind::Connect | FailureKind::ServiceExited))
            })
            .collect();
        if unreachable.is_empty() || unreachable.len() != self.failed.len() || self.report.summary.passed != 0
        {
            return false;
        }
        self.findings.push(Finding {
            rule: "service-down",
            summary: format!(
                "every request failed to connect ({} scenario(s)): the service is down or not at the base URL",
                unreachable.len()
            ),
            scenarios: ids(&unreachable),
            next_step: format!(
                "check that the service runs at {} (where smoke started it, the run directory's service.log has its output)",
                self.report.base_url
            ),
        });
        true
    }

    /// Every happy path under one prefix got 404: seed data missing, or the base path is wrong.
    fn happy_paths_404(&mut self) {
        let spool = &self.report.scenarios;
        let mut happy: BTreeMap<String, (usize, Vec<&Failed<'r>>)> = BTreeMap::new();
        for i in 0..spool.len() {
            let b = spool.brief(i);
            if b.kind == Some(ScenarioKind::HappyPath) && b.outcome != Outcome::Skipped {
                happy.entry(prefix(spool.endpoint(i))).or_default().0 += 1;
            }
        }
        for f in self
            .failed
            .iter()
            .filter(|f| f.scenario_kind == Some(ScenarioKind::HappyPath) && f.status == Some(404))
        {
            if let Some(entry) = happy.get_mut(&prefix(f.endpoint)) {
                entry.1.push(f);
            }
        }
        let all_404: Vec<(String, Vec<&Failed<'r>>)> = happy
            .iter()
            .filter(|(_, (total, hits))| *total >= 2 && hits.len() == *total)
            .map(|(p, (_, hits))| (p.clone(), hits.clone()))
            .collect();
        if all_404.is_empty() || all_404.len() != happy.len() {
            for (p, hits) in all_404 {
                let finding = Finding {
                    rule: "happy-paths-404",
                    summary: format!("all {} happy paths on {p} got 404: seed data missing?", hits.len()),
                    scenarios: ids(&hits),
                    next_step: format!(
                        "check that the records under {p} exist: the seed step or seed command may not have run"
                    ),
                };
                self.found(finding, &hits);
            }
            return;
        }
        let hits: Vec<&Failed<'r>> = all_404.iter().flat_map(|(_, h)| h.iter().copied()).collect();
        let mut next_step = format!(
            "check the base URL ({}): does it need or not need a path prefix such as /api?",
            self.report.base_url
        );
        // The OpenAPI plugin adds the document's server path unless the base URL has one.
        if hits.iter().any(|f| f.plugin == "openapi") {
            next_step.push_str(
                " The openapi plugin adds the document's server path when the base URL has none; its \
                 `base_path` config key sets the prefix (`none`, `document`, or a path such as /v2)",
            );
        }
        let finding = Finding {
            rule: "happy-paths-404",
            summary: format!(
                "every happy path got 404 ({} scenario(s)): the base URL's path is probably wrong",
                hits.len()
            ),
            scenarios: ids(&hits),
            next_step,
        };
        self.found(finding, &hits);
    }

    /// Writes refused as unauthorized (not in scenarios that test auth on purpose).
    fn auth(&mut self) {
        let writes: Vec<&Failed<'r>> = self
            .failed
            .iter()
            .filter(|f| {
                matches!(f.method, "POST" | "PUT" | "PATCH" | "DELETE")
                    && f.scenario_kind != Some(ScenarioKind::Auth)
            })
            .collect();
        let refused: Vec<&Failed<'r>> =
            writes.iter().copied().filter(|f| matches!(f.status, Some(401 | 403))).collect();
        if refused.len() >= 2 && refused.len() == writes.len() {
            let finding = Finding {
                rule: "auth",
                summary: format!(
                    "all {} failing writes got 401/403: the credentials are missing, wrong or lack permission",
                    refused.len()
                ),
                scenarios: ids(&refused),
                next_step: "check the token the plugin sends (its secret config key) against the service's"
                    .into(),
            };
            self.found(finding, &refused);
        }
    }

    /// Server errors, grouped by endpoint prefix.
    fn server_errors(&mut self) {
        let mut errors: BTreeMap<String, Vec<&Failed<'r>>> = BTreeMap::new();
        for f in self.failed.iter().filter(|f| f.status.is_some_and(|s| s >= 500)) {
            errors.entry(prefix(f.endpoint)).or_default().push(f);
        }
        for (p, hits) in errors {
            let statuses: std::collections::BTreeSet<u16> = hits.iter().filter_map(|f| f.status).collect();
            let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
            let finding = Finding {
                rule: "server-errors",
                summary: format!("{} scenario(s) on {p} got a server error ({})", hits.len(), statuses.join(", ")),
                scenarios: ids(&hits),
                next_step: "a server error is never a client's fault: read the service's log (service.log in the run directory, where smoke started it)".into(),
            };
            self.found(finding, &hits);
        }
    }

    /// The failures of one kind.
    fn of_kind(&self, kind: FailureKind) -> Vec<&'_ Failed<'r>> {
        self.failed.iter().filter(|f| f.kind == Some(kind)).collect()
    }

    /// Failures inside a plugin's own code (an exception, a trap, a limit): the plugin's author's
    /// to fix, whatever the service did.
    fn plugin_faults(&mut self) {
        let hits: Vec<&Failed<'r>> = self
            .failed
            .iter()
            .filter(|f| {
                matches!(
                    f.kind,
                    Some(FailureKind::PluginFault | FailureKind::PluginLimit | FailureKind::PluginError)
                )
            })
            .collect();
        if hits.is_empty() {
            return;
        }
        let mut plugins: Vec<&str> = hits.iter().map(|f| f.plugin).collect();
        plugins.sort_unstable();
        plugins.dedup();
        let finding = Finding {
            rule: "plugin-fault",
            summary: format!(
                "{} scenario(s) failed inside the code of plugin {}, not in the service",
                hits.len(),
                plugins.join(", ")
            ),
            scenarios: ids(&hits),
            next_step: "fix the plugin: each failure names what it threw and the source file and line (or the limit it hit); `smoke dev` reruns it at every edit".into(),
        };
        self.found(finding, &hits);
    }

    /// Tool calls that do not fit the server's own tool list (the plan, or the server's
    /// version), arguments the tool's schema refuses, and calls with no valid MCP answer.
    fn mcp(&mut self) {
        let unknown = self.of_kind(FailureKind::UnknownTool);
        if !unknown.is_empty() {
            let mut tools: Vec<&str> = unknown.iter().filter_map(|f| f.tool).collect();
            tools.sort();
            tools.dedup();
            let finding = Finding {
                rule: "mcp-unknown-tool",
                summary: format!("{} scenario(s) call tools the MCP server does not list ({})", unknown.len(), tools.join(", ")),
                scenarios: ids(&unknown),
                next_step: "check that smoke reached the right server and version: report.json's `mcp.tools` lists what it offers".into(),
            };
            let ids: Vec<&'r str> = unknown.iter().map(|f| f.id).collect();
            self.findings.push(finding);
            self.covered.extend(ids);
        }
        let invalid = self.of_kind(FailureKind::InvalidArguments);
        if !invalid.is_empty() {
            let finding = Finding {
                rule: "mcp-invalid-arguments",
                summary: format!("{} scenario(s) built tool arguments the tool's inputSchema refuses: nothing was sent", invalid.len()),
                scenarios: ids(&invalid),
                next_step: "a plan bug, or a tool whose inputSchema changed: compare the plugin's arguments with the schema in report.json's failure".into(),
            };
            let ids: Vec<&'r str> = invalid.iter().map(|f| f.id).collect();
            self.findings.push(finding);
            self.covered.extend(ids);
        }
        let broken = self.of_kind(FailureKind::McpProtocol);
        if !broken.is_empty() {
            let finding = Finding {
                rule: "mcp-protocol",
                summary: format!("{} tool call(s) got no valid MCP answer (a protocol error or a closed session)", broken.len()),
                scenarios: ids(&broken),
                next_step: "read the server's log (service.log or mcp-server.log in the run directory, where smoke started it): a server that prints to stdout or crashes breaks its session".into(),
            };
            let ids: Vec<&'r str> = broken.iter().map(|f| f.id).collect();
            self.findings.push(finding);
            self.covered.extend(ids);
        }
    }

    /// Scenarios that got no response in time.
    fn timeouts(&mut self) {
        let slow = self.of_kind(FailureKind::Timeout);
        if slow.len() >= 2 {
            let finding = Finding {
                rule: "timeouts",
                summary: format!("{} scenario(s) got no response in time: the service hangs or is overloaded", slow.len()),
                scenarios: ids(&slow),
                next_step: "find what they share (an endpoint, a lock, a downstream call); raise --request-timeout only if slowness is expected".into(),
            };
            let ids: Vec<&'r str> = slow.iter().map(|f| f.id).collect();
            self.findings.push(finding);
            self.covered.extend(ids);
        }
    }

    /// Anything else sharing a status and an endpoint prefix.
    fn same_status(&mut self) {
        let mut shared: BTreeMap<(String, u16), Vec<&Failed<'r>>> = BTreeMap::new();
        for f in self.failed.iter().filter(|f| !self.covered.contains(f.id)) {
            if let Some(status) = f.status {
                shared.entry((prefix(f.endpoint), status)).or_default().push(f);
            }
        }
        for ((p, status), hits) in shared.into_iter().filter(|(_, hits)| hits.len() >= 2) {
            self.findings.push(Finding {
                rule: "same-status",
                summary: format!("{} failures on {p} all got status {status}", hits.len()),
                scenarios: ids(&hits),
                next_step: format!(
                    "look at one of them first: the others likely share its cause ({})",
                    hits[0].id
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{RequestRecord, ResponseRecord};
    use crate::run::results::{Failure, ScenarioResult, StepResult, Summary};

    /// The kind a test failure message stands for, as the runner would have typed it.
    fn kind_of(message: &str) -> FailureKind {
        if message.starts_with("status") {
            FailureKind::Status
        } else if message.starts_with("could not connect") {
            FailureKind::Connect
        } else if message.starts_with("no response within") {
            FailureKind::Timeout
        } else {
            FailureKind::Assertion
        }
    }
    use std::collections::BTreeMap as Map;

    fn step(method: &str, status: Option<u16>, failure: &str) -> StepResult {
        StepResult {
            index: 0,
            name: "s".into(),
            outcome: if failure.is_empty() { Outcome::Passed } else { Outcome::Failed },
            expected: String::new(),
            request: Some(RequestRecord {
                method: method.into(),
                url: "http://h/x".into(),
                headers: vec![],
                body: None,
            }),
            tool_call: None,
            response: status.map(|s| ResponseRecord {
                status: s,
                headers: vec![],
                body: None,
                latency_ms: 1,
                body_bytes: None,
                truncated: false,
            }),
            failures: if failure.is_empty() { vec![] } else { vec![Failure::new(kind_of(failure), failure)] },
            verdict: None,
            captured: Map::new(),
            attempts: 1,
            burst: None,
            duration_ms: 1,
            trimmed: false,
            connection: None,
        }
    }

    fn scenario(
        id: &str,
        kind: ScenarioKind,
        endpoint: &str,
        method: &str,
        status: Option<u16>,
        failure: &str,
    ) -> ScenarioResult {
        let failed = !failure.is_empty();
        ScenarioResult {
            id: id.into(),
            plugin: "p".into(),
            endpoint: endpoint.into(),
            kind,
            description: String::new(),
            tags: vec![],
            outcome: if failed { Outcome::Failed } else { Outcome::Passed },
            reason: failed.then(|| failure.to_string()),
            failure: failed.then(|| Failure::new(kind_of(failure), failure)),
            failed_step: failed.then_some(0),
            dependency_only: false,
            ready_ms: 0,
            started_ms: 0,
            finished_ms: 1,
            duration_ms: 1,
            steps: vec![step(method, status, failure)],
        }
    }

    fn report(scenarios: Vec<ScenarioResult>) -> RunReport<Spool> {
        RunReport { summary: Summary::of(&scenarios), ..RunReport::of_scenarios(scenarios) }.into_spooled()
    }

    use ScenarioKind::*;

    #[test]
    fn silent_on_a_passing_run() {
        let r = report(vec![scenario("a", HappyPath, "GET /orders", "GET", Some(200), "")]);
        assert!(triage(&r).is_empty());
    }

    #[test]
    fn service_down_when_nothing_connects() {
        let f = "could not connect to http://h/x: refused (is the service running?)";
        let r = report(vec![
            scenario("a", HappyPath, "GET /a", "GET", None, f),
            scenario("b", NotFound, "GET /b", "GET", None, f),
        ]);
        let found = triage(&r);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "service-down");
        assert_eq!(found[0].scenarios, ["a", "b"]);
    }

    #[test]
    fn happy_paths_404_on_one_prefix_suggests_missing_seed_data() {
        let f = "status 404 is not an accepted status (expected 200)";
        let r = report(vec![
            scenario("o1", HappyPath, "GET /orders/{id}", "GET", Some(404), f),
            scenario("o2", HappyPath, "POST /orders", "POST", Some(404), f),
            scenario("p1", HappyPath, "GET /products", "GET", Some(200), ""),
            scenario("p2", HappyPath, "GET /products/{id}", "GET", Some(200), ""),
        ]);
        let found = triage(&r);
        assert_eq!(found[0].rule, "happy-paths-404");
        assert_eq!(found[0].summary, "all 2 happy paths on /orders got 404: seed data missing?");
    }

    #[test]
    fn every_happy_path_404_suggests_a_wrong_base_path() {
        let f = "status 404 is not an accepted status (expected 200)";
        let list = vec![
            scenario("o1", HappyPath, "GET /api/orders", "GET", Some(404), f),
            scenario("o2", HappyPath, "GET /api/orders/{id}", "GET", Some(404), f),
        ];
        let found = triage(&report(list.clone()));
        assert_eq!(found[0].rule, "happy-paths-404");
        assert!(found[0].summary.contains("base URL's path"), "{}", found[0].summary);
        assert!(!found[0].next_step.contains("base_path"), "{}", found[0].next_step);

        // Planned by the OpenAPI plugin: the hint names its config key.
        let mut scenarios = list;
        for s in &mut scenarios {
            s.plugin = "openapi".into();
        }
        let found = triage(&report(scenarios));
        assert!(found[0].next_step.contains("`base_path` config key"), "{}", found[0].next_step);
    }

    #[test]
    fn writes_refused_with_401_point_at_credentials_but_auth_scenarios_do_not() {
        let f = "status 401 is not an accepted status (expected 201)";
        let r = report(vec![
            scenario("w1", HappyPath, "POST /a", "POST", Some(401), f),
            scenario("w2", BusinessRule, "PUT /b", "PUT", Some(403), f),
            scenario(
                "x",
                Auth,
                "POST /c",
                "POST",
                Some(200),
                "status 200 is not an accepted status (expected 401)",
            ),
        ]);
        let found = triage(&r);
        assert_eq!(found[0].rule, "auth");
        assert_eq!(found[0].scenarios, ["w1", "w2"]);
    }

    #[test]
    fn server_errors_cluster_by_prefix() {
        let f = "status 500 is not an accepted status (expected 201)";
        let r = report(vec![
            scenario("a", HappyPath, "POST /tools/x", "POST", Some(500), f),
            scenario(
                "b",
                ValidationError,
                "POST /tools/y",
                "POST",
                Some(503),
                "status 503 is not an accepted status (expected 422)",
            ),
        ]);
        let found = triage(&r);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].summary, "2 scenario(s) on /tools got a server error (500, 503)");
    }

    #[test]
    fn timeouts_and_shared_statuses_are_grouped() {
        let t = "no response within 3s (timed out)";
        let s = "status 409 is not an accepted status (expected 201)";
        let r = report(vec![
            scenario("t1", HappyPath, "GET /slow", "GET", None, t),
            scenario("t2", HappyPath, "GET /slow/{id}", "GET", None, t),
            scenario("c1", BusinessRule, "POST /items", "POST", Some(409), s),
            scenario("c2", HappyPath, "POST /items/{id}/copy", "POST", Some(409), s),
            scenario("ok", HappyPath, "GET /fine", "GET", Some(200), ""),
        ]);
        let rules: Vec<&str> = triage(&r).iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["timeouts", "same-status"]);
    }

    #[test]
    fn prefixes_skip_generic_segments() {
        assert_eq!(prefix("GET /api/v2/orders/{id}"), "/api/v2/orders");
        assert_eq!(prefix("POST /tools/record"), "/tools");
        assert_eq!(prefix("GET /"), "/");
    }
}
