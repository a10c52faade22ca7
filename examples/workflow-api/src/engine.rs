//! The workflow engine: run steps in dependency order, resolve `{{steps.ID.output}}` templates,
//! pause at APPROVAL_REQUIRED steps until a decision arrives.

use crate::App;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// What agents can do with their input.
pub const KINDS: [&str; 4] = ["echo", "uppercase", "reverse", "count"];

fn perform(kind: &str, input: &str) -> String {
    match kind {
        "uppercase" => input.to_uppercase(),
        "reverse" => input.chars().rev().collect(),
        "count" => input.split_whitespace().count().to_string(),
        _ => input.to_string(),
    }
}

fn deps(step: &Value) -> Vec<String> {
    step["depends_on"]
        .as_array()
        .map(|d| d.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// Unique ids, known dependencies, no cycle.
pub fn check_graph(steps: &[Value]) -> Result<(), String> {
    let mut ids = BTreeSet::new();
    for s in steps {
        let id = s["id"].as_str().unwrap_or_default();
        if !ids.insert(id) {
            return Err(format!("step id {id:?} is used twice"));
        }
    }
    for s in steps {
        for d in deps(s) {
            if !ids.contains(d.as_str()) {
                return Err(format!("step {} depends on {d:?}, which is not a step", s["id"]));
            }
        }
    }
    if order(steps).len() < steps.len() {
        return Err("the steps' dependencies form a cycle".into());
    }
    Ok(())
}

/// A topological order (ties in declaration order); shorter than `steps` if there is a cycle.
fn order(steps: &[Value]) -> Vec<usize> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < steps.len() {
        let next =
            (0..steps.len()).find(|&i| !out.contains(&i) && deps(&steps[i]).iter().all(|d| done.contains(d)));
        let Some(i) = next else { break };
        done.insert(steps[i]["id"].as_str().unwrap_or_default().to_string());
        out.push(i);
    }
    out
}

/// Replace `{{steps.ID.output}}` with earlier outputs; an unknown reference is an error.
fn resolve(input: &str, outputs: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = input;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| format!("unclosed template in {input:?}"))?;
        let reference = after[..end].trim();
        let id = reference.strip_prefix("steps.").and_then(|r| r.strip_suffix(".output"));
        match id.and_then(|id| outputs.get(id)) {
            Some(value) => out.push_str(value),
            None => return Err(format!("{{{{{reference}}}}} does not name the output of an earlier step")),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn update(app: &App, run_id: &str, change: impl FnOnce(&mut Value)) {
    if let Some(mut run) = app.store.get("runs", run_id) {
        change(&mut run);
        app.store.put("runs", run_id, &run);
    }
}

fn set_step(run: &mut Value, step_id: &str, status: &str, output: Option<&str>) {
    if let Some(steps) = run["steps"].as_array_mut() {
        for s in steps.iter_mut().filter(|s| s["id"] == step_id) {
            s["status"] = json!(status);
            if let Some(o) = output {
                s["output"] = json!(o);
            }
        }
    }
}

/// Run a workflow to completion, failure or rejection, updating the stored run as it goes.
pub async fn execute(app: Arc<App>, run_id: String, workflow: Value) {
    let steps: Vec<Value> = workflow["steps"].as_array().cloned().unwrap_or_default();
    let sequence: Vec<usize> =
        if app.faults.on("diamond-order-broken") { (0..steps.len()).rev().collect() } else { order(&steps) };
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();
    for i in sequence {
        let step = &steps[i];
        let step_id = step["id"].as_str().unwrap_or_default().to_string();
        let agent =
            app.store.get("agents", step["agent_id"].as_str().unwrap_or_default()).unwrap_or(Value::Null);
        if agent["mode"] == "APPROVAL_REQUIRED" && !app.faults.on("approval-skipped") {
            let approval_id = uuid::Uuid::new_v4().to_string();
            let waiter = Arc::new(tokio::sync::Notify::new());
            example_support::lock(&app.decisions).insert(approval_id.clone(), waiter.clone());
            let approval =
                json!({"id": approval_id, "run_id": run_id, "step_id": step_id, "status": "PENDING"});
            app.store.put("approvals", &approval_id, &approval);
            update(&app, &run_id, |run| {
                run["status"] = json!("WAITING_APPROVAL");
                run["approval_id"] = json!(approval_id);
                set_step(run, &step_id, "WAITING_APPROVAL", None);
            });
            waiter.notified().await;
            let decided = app.store.get("approvals", &approval_id).unwrap_or(Value::Null);
            if decided["status"] == "REJECTED" {
                update(&app, &run_id, |run| {
                    run["status"] = json!("REJECTED");
                    set_step(run, &step_id, "REJECTED", None);
                });
                return;
            }
            update(&app, &run_id, |run| run["status"] = json!("RUNNING"));
        }
        update(&app, &run_id, |run| set_step(run, &step_id, "RUNNING", None));
        let input = step["input"].as_str().unwrap_or_default();
        let resolved = if app.faults.on("template-not-resolved") {
            Ok(input.to_string())
        } else {
            resolve(input, &outputs)
        };
        let input = match resolved {
            Ok(i) => i,
            Err(problem) => {
                update(&app, &run_id, |run| {
                    run["status"] = json!("FAILED");
                    run["error"] = json!(problem);
                    set_step(run, &step_id, "FAILED", None);
                });
                return;
            }
        };
        // The agent's work takes a moment.
        tokio::time::sleep(Duration::from_millis(10)).await;
        let output = perform(agent["kind"].as_str().unwrap_or("echo"), &input);
        update(&app, &run_id, |run| {
            set_step(run, &step_id, "COMPLETED", Some(&output));
            if let Some(order) = run["completion_order"].as_array_mut() {
                order.push(json!(step_id));
            }
        });
        outputs.insert(step_id, output);
    }
    update(&app, &run_id, |run| run["status"] = json!("COMPLETED"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, deps: &[&str]) -> Value {
        json!({"id": id, "depends_on": deps})
    }

    #[test]
    fn a_diamond_runs_in_topological_order() {
        let steps = [step("d", &["b", "c"]), step("b", &["a"]), step("c", &["a"]), step("a", &[])];
        let ids: Vec<&str> = order(&steps).iter().map(|&i| steps[i]["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        assert!(check_graph(&[step("x", &["y"]), step("y", &["x"])]).unwrap_err().contains("cycle"));
    }

    #[test]
    fn templates_take_earlier_outputs_and_refuse_unknown_ones() {
        let outputs = BTreeMap::from([("a".to_string(), "hi".to_string())]);
        assert_eq!(resolve("{{steps.a.output}} there", &outputs).unwrap(), "hi there");
        assert!(resolve("{{steps.z.output}}", &outputs).is_err());
    }
}
