//! Step 3 of a run: the plan. Merge what each plugin planned, validate it, print it.
//!
//! The printed plan is a pure function of the plugins and their inputs: no time, no paths.

pub mod model;
pub mod validate;

use crate::plugin::bindings::Converted;
use model::{Plan, PluginRef};

/// Merge plugins' plans in the order the plugins were given.
pub fn merge(parts: Vec<(PluginRef, Converted)>) -> Plan {
    let mut plan =
        Plan { plugins: Vec::new(), seeds: Vec::new(), scenarios: Vec::new(), surface: Vec::new() };
    for (plugin, part) in parts {
        plan.plugins.push(plugin);
        plan.seeds.extend(part.seeds);
        plan.scenarios.extend(part.scenarios);
        plan.surface.extend(part.surface);
    }
    plan
}

/// The plan as pretty JSON with a trailing newline; byte-identical for the same plan.
pub fn to_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("the plan model always serializes");
    text.push('\n');
    text
}

/// Keep the scenarios whose id matches `pattern` (`*`, `?` globs) and, transitively, the
/// scenarios they depend on, in plan order.
pub fn select(mut plan: Plan, pattern: &str) -> Plan {
    let glob = wildmatch::WildMatch::new(pattern);
    let mut keep: std::collections::BTreeSet<String> =
        plan.scenarios.iter().filter(|s| glob.matches(&s.id)).map(|s| s.id.clone()).collect();
    loop {
        let before = keep.len();
        for s in &plan.scenarios {
            if keep.contains(&s.id) {
                keep.extend(s.depends_on.iter().cloned());
            }
        }
        if keep.len() == before {
            break;
        }
    }
    plan.scenarios.retain(|s| keep.contains(&s.id));
    plan
}
