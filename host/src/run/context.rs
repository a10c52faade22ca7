//! What every step of a run shares: the HTTP client, the plugins and their config, the
//! redactor, the service's exit watch, the transcript and compiled schemas.

use super::expect;
use crate::http::{Client, Redactor};
use crate::plan::Plan;
use crate::plan::model::Pair;
use crate::plugin::Plugin;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Everything a step needs besides its own data. Shared by all scenarios of a run.
pub struct Context {
    /// The HTTP client to the service under test; none when the run has no HTTP service (an MCP
    /// server over stdio alone), and then no step sends HTTP (the plan was refused otherwise).
    pub client: Option<Client>,
    /// The run's time limit of one request or call.
    pub request_timeout: std::time::Duration,
    /// Loaded plugins by name, for `check`.
    pub plugins: BTreeMap<String, Arc<Plugin>>,
    /// Each plugin's resolved config, handed to `check`.
    pub plugin_config: BTreeMap<String, Vec<Pair>>,
    pub redactor: Redactor,
    /// Holds `Some(exit status)` once a service smoke started has exited.
    pub service_exit: Option<tokio::sync::watch::Receiver<Option<String>>>,
    /// When the run started: scenario times are offsets from it.
    pub epoch: Instant,
    /// The plan, to explain an undefined variable by what captures it (worked out only then).
    pub plan: Arc<Plan>,
    pub captured_by: std::sync::OnceLock<BTreeMap<String, Vec<String>>>,
    /// Every exchange, when `--transcript` asks for it.
    pub transcript: Option<Arc<crate::run::transcript::Transcript>>,
    /// Response schemas, compiled once.
    pub schemas: expect::Schemas,
    /// The MCP session, when the run has an MCP target.
    pub mcp: Option<Arc<crate::mcp::Session>>,
    /// Holds `Some(exit status)` once the MCP server has exited (the stdio server smoke started,
    /// or the service serving the MCP url).
    pub mcp_exit: Option<tokio::sync::watch::Receiver<Option<String>>>,
    /// Whether a passing step's record keeps its request and response headers and bodies
    /// (`--exchanges all`); a failing step's always does.
    pub keep_passing_exchanges: bool,
    /// (connection, scenario) of every answer that came over smoke's own connections: the
    /// verdicts to doubt if the service turns out to be out of step on one.
    pub reused: std::sync::Mutex<Vec<(u64, u32)>>,
    /// `--read-only`: no step that may write is sent (a scenario with one is skipped, naming it).
    pub read_only: bool,
    /// A tool result or resource read that holds what looks like a credential fails its step
    /// (`lint`): on unless `--no-protocol-checks` or `protocol_checks = false`.
    pub lint_secrets: bool,
    /// `--record-checks DIR`: each input a plugin's `check` is handed, and its verdict, saved
    /// there for the SDKs' testing modules to replay (`fixture.rs`).
    pub record_checks: Option<std::path::PathBuf>,
}

impl Context {
    /// Remember which connections scenario `i`'s answers came over (the first answer on a
    /// connection too: a server may answer before it is asked).
    pub fn note_connections(&self, i: usize, result: &super::results::ScenarioResult) {
        let carried = result.steps.iter().filter_map(|s| s.connection);
        let mut noted = self.reused.lock().unwrap_or_else(|e| e.into_inner());
        noted.extend(carried.map(|(id, _)| (id, u32::try_from(i).unwrap_or(u32::MAX))));
    }

    /// Scenarios (plan indices, in order) whose answers came over a connection the service was
    /// found out of step on: their verdicts cannot be trusted.
    pub fn out_of_step_verdicts(&self) -> Vec<usize> {
        let Some(client) = &self.client else { return Vec::new() };
        let bad = client.out_of_step();
        if bad.is_empty() {
            return Vec::new();
        }
        let noted = self.reused.lock().unwrap_or_else(|e| e.into_inner());
        let mut scenarios: Vec<usize> =
            noted.iter().filter(|(id, _)| bad.contains(id)).map(|&(_, i)| i as usize).collect();
        scenarios.sort_unstable();
        scenarios.dedup();
        scenarios
    }

    /// Index the plan's captures: variable name to the seeds and steps that capture it.
    pub fn index_captures(plan: &Plan) -> BTreeMap<String, Vec<String>> {
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &plan.seeds {
            for c in &s.step.captures {
                by.entry(c.name.clone()).or_default().push(format!("seed {}", s.id));
            }
        }
        for s in plan.scenarios.iter().flatten() {
            for (i, step) in s.steps.iter().enumerate() {
                for c in &step.captures {
                    by.entry(c.name.clone()).or_default().push(format!("scenario {}, step {}", s.id, i + 1));
                }
            }
        }
        by
    }

    /// Where an undefined variable was expected to come from, and what to do.
    pub(super) fn explain_undefined(&self, name: &str, scenario_id: &str) -> String {
        let captured_by = self.captured_by.get_or_init(|| Self::index_captures(&self.plan));
        match captured_by.get(name) {
            None if name.starts_with("config.") => {
                format!("the plugin has no config key {:?}", name.trim_start_matches("config."))
            }
            None => "nothing in the plan captures it".to_string(),
            Some(sources) => format!(
                "it is captured by {}; {scenario_id} sees only seeds, its own earlier steps and the \
                 scenarios it depends on (add one to depends_on), and only once they passed",
                sources.join(", ")
            ),
        }
    }

    /// `Some(status)` if the MCP server has exited.
    pub fn mcp_exited(&self) -> Option<String> {
        self.mcp_exit.as_ref().and_then(|w| w.borrow().clone())
    }

    /// `Some(status)` if the service under test has exited.
    pub fn service_exited(&self) -> Option<String> {
        self.service_exit.as_ref().and_then(|w| w.borrow().clone())
    }

    /// A plugin's config as `config.KEY` variables, visible to that plugin's steps only, so a
    /// plan can say `Bearer {{config.token}}` and never carry the secret itself.
    pub fn config_vars(&self, plugin: &str) -> impl Iterator<Item = (String, serde_json::Value)> + '_ {
        let pairs =
            self.plugin_config.get(plugin).into_iter().flatten().map(|p| (p.name.as_str(), p.value.as_str()));
        crate::plan::model::config_variables(pairs)
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
    }
}
