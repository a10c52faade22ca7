//! `explain_failure`: one scenario of a run, from its report (redacted as every report is) and the
//! plan the run ran: the failing step's request, response and expectation, the failure, the triage
//! naming it, the scenarios it took down, and a reproduction.
//!
//! The reproduction of an HTTP scenario is a bash script of curl commands: its steps up to the
//! failing one, as sent, against `$BASE_URL`. What an earlier step captured (an id the service
//! made) is captured again from the live answer, so the script works on a fresh service; each
//! step's status is checked, and the failing step's status and body assertions, so the script
//! exits 1 when the failure reproduces, 0 when it does not, and 2 when an earlier step went
//! differently. A tool call's reproduction is its JSON-RPC request.

use super::child::{Project, ToolError, fail};
use serde_json::{Value, json};

/// The most of a body shown.
const MAX_BODY: usize = 8 << 10;

pub(super) fn explain(p: &Project, id: &str, run: Option<&str>) -> Result<Value, ToolError> {
    let runs = p.runs();
    let n = match run {
        Some(r) => r.parse::<u64>().map_err(|_| ToolError(format!("run {r:?} is not a run's number")))?,
        // The last run that has a report, as smoke://runs/last/report.json is.
        None => *runs
            .iter()
            .rev()
            .find(|n| p.report(**n).is_some())
            .ok_or_else(|| ToolError("there is no run with a report yet: call `run` first".into()))?,
    };
    let read = |name: &str| -> Option<Value> {
        let text = p.read_state(&format!("runs/{n}/{name}"), 256 << 20).ok()?;
        serde_json::from_str(&text).ok()
    };
    let Some(report) = read("report.json") else {
        return fail(format!("run {n} has no report (runs kept: {runs:?})"));
    };
    let plan = read("plan.json").unwrap_or(Value::Null);
    let all = report["scenarios"].as_array().cloned().unwrap_or_default();
    let Some(scenario) = all.iter().find(|s| s["id"] == id) else {
        let failed: Vec<&str> = all
            .iter()
            .filter(|s| s["outcome"] == "failed")
            .filter_map(|s| s["id"].as_str())
            .take(20)
            .collect();
        return fail(format!("run {n} has no scenario {id:?}; its failed ones: {}", failed.join(", ")));
    };
    let planned = plan["scenarios"].as_array().and_then(|l| l.iter().find(|s| s["id"] == id)).cloned();
    let failed_step = scenario["failed_step"].as_u64().map(|i| i as usize);
    let step = failed_step.and_then(|i| scenario["steps"].get(i)).map(shown_step);
    let triage: Vec<&Value> = report["triage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["scenarios"].as_array().is_some_and(|l| l.iter().any(|s| s == id)))
        .collect();
    let reproduction = match (failed_step, &planned) {
        (Some(i), Some(planned)) => reproduction(&report, scenario, planned, i),
        _ => Value::Null,
    };
    Ok(json!({
        "run": n.to_string(),
        "scenario": id,
        "endpoint": scenario["endpoint"],
        "kind": scenario["kind"],
        "description": scenario["description"],
        "outcome": scenario["outcome"],
        "reason": scenario["reason"],
        "failed_step": failed_step,
        "step": step,
        "failures": failed_step.and_then(|i| scenario["steps"][i]["failures"].as_array().cloned()).unwrap_or_default(),
        "triage": triage,
        "skipped": skipped_because(&all, &plan, id),
        "reproduction": reproduction,
    }))
}

/// A step as the agent needs it: bodies cut to a readable size.
fn shown_step(step: &Value) -> Value {
    let mut step = step.clone();
    for at in ["/request/body", "/response/body"] {
        if let Some(Value::String(body)) = step.pointer_mut(at)
            && body.len() > MAX_BODY
        {
            *body = crate::http::clip_text(std::mem::take(body), MAX_BODY);
        }
    }
    step
}

/// The scenarios skipped because `id` failed: those depending on it, directly or not, that
/// did not run.
fn skipped_because(all: &[Value], plan: &Value, id: &str) -> Vec<String> {
    let deps: std::collections::HashMap<&str, Vec<&str>> = plan["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let on = s["depends_on"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            (s["id"].as_str().unwrap_or_default(), on)
        })
        .collect();
    let mut down: std::collections::BTreeSet<&str> = [id].into();
    loop {
        let before = down.len();
        for (s, on) in &deps {
            if on.iter().any(|d| down.contains(d)) {
                down.insert(s);
            }
        }
        if down.len() == before {
            break;
        }
    }
    all.iter()
        .filter(|s| s["outcome"] == "skipped")
        .filter_map(|s| s["id"].as_str())
        .filter(|s| *s != id && down.contains(s))
        .map(str::to_string)
        .collect()
}

/// Bash single quotes around `text`.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as a bash word, with each value an earlier step captured (longest first, 4 bytes or
/// more) replaced by its variable.
fn word(text: &str, captured: &[(String, String)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = text;
    'scan: while !rest.is_empty() {
        let mut best: Option<(usize, &(String, String))> = None;
        for c in captured {
            if let Some(at) = rest.find(&c.1)
                && best.is_none_or(|(b, bc)| at < b || (at == b && c.1.len() > bc.1.len()))
            {
                best = Some((at, c));
            }
        }
        match best {
            Some((at, (var, value))) => {
                if at > 0 {
                    parts.push(quoted(&rest[..at]));
                }
                parts.push(format!("\"${{{var}}}\""));
                rest = &rest[at + value.len()..];
            }
            None => {
                parts.push(quoted(rest));
                break 'scan;
            }
        }
    }
    if parts.is_empty() { "''".into() } else { parts.concat() }
}

/// A shell variable's name for a capture.
fn variable(name: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("cap_{clean}")
}

/// The statuses a planned step accepts, as a bash `case` pattern (`200|201|2??`).
fn status_pattern(planned_step: &Value) -> String {
    let each: Vec<String> = planned_step["expect"]["status"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| match s {
            Value::String(class) => format!(
                "{}??",
                class.get(..1).filter(|d| d.bytes().all(|b| b.is_ascii_digit())).unwrap_or("?")
            ),
            Value::Number(n) => n.to_string(),
            _ => "?".to_string(),
        })
        .collect();
    if each.is_empty() { "*".into() } else { each.join("|") }
}

const PRELUDE: &str = r#"set -u
fail() { echo "$1" >&2; exit "${2:-1}"; }
# The value at a JSON pointer of a body on stdin (strings raw, the rest as compact JSON).
pick() {
  python3 -c 'import json, sys
v = json.load(sys.stdin)
for p in sys.argv[1].split("/")[1:]:
    p = p.replace("~1", "/").replace("~0", "~")
    v = v[int(p)] if isinstance(v, list) else v[p]
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":")))' "$1"
}
send() {
  # send METHOD URL [curl options...]: sets status, body and headers.
  local method=$1 url=$2; shift 2
  local out; out=$(mktemp); headers=$(mktemp)
  if [ "$method" = HEAD ]; then set -- --head "$@"; else set -- -X "$method" "$@"; fi
  # -g: brackets and braces in a URL are sent as they are, as smoke sent them.
  status=$(curl -sS -g --max-time 60 -o "$out" -D "$headers" -w '%{http_code}' "$@" "$url") || fail "curl could not reach $url" 2
  body=$(cat "$out"); rm -f "$out"
}
"#;

/// The bash reproduction of an HTTP scenario up to its failing step `failed`.
fn reproduction(report: &Value, scenario: &Value, planned: &Value, failed: usize) -> Value {
    let steps = scenario["steps"].as_array().cloned().unwrap_or_default();
    let Some(last) = steps.get(failed) else { return Value::Null };
    if let Some(call) = last.get("tool_call").filter(|c| c.is_object()) {
        return json!({
            "kind": "json-rpc",
            "request": call["request"],
            "note": "send this tools/call request in a session with the MCP server (after initialize, or with the 2026-07-28 headers); secrets are redacted",
        });
    }
    let base = report["base_url"].as_str().unwrap_or_default().trim_end_matches('/').to_string();
    let mut script = format!(
        "#!/usr/bin/env bash\n# Reproduces {} (step {} of {}): {}\n# Against another instance: BASE_URL=http://HOST:PORT bash this-script. Needs curl and python3.\n# Secrets are redacted in what follows; put them back from your own environment.\n{PRELUDE}[ -n \"${{BASE_URL:-}}\" ] || BASE_URL={}\n",
        crate::text::escape_line(scenario["id"].as_str().unwrap_or_default()),
        failed + 1,
        steps.len(),
        crate::text::escape_line(scenario["reason"].as_str().unwrap_or_default()),
        quoted(&base)
    );
    let mut captured: Vec<(String, String)> = Vec::new();
    for (i, step) in steps.iter().enumerate().take(failed + 1) {
        let request = &step["request"];
        let Some(method) = request["method"].as_str() else {
            script.push_str(&format!("# step {}: not an HTTP request; not reproduced\n", i + 1));
            continue;
        };
        let url = request["url"].as_str().unwrap_or_default();
        let path = url.strip_prefix(&base).unwrap_or(url);
        let mut line = format!(
            "\n# step {}: {}\nsend {} \"$BASE_URL\"{}",
            i + 1,
            crate::text::escape_line(step["name"].as_str().unwrap_or_default()),
            quoted(method),
            word(path, &captured)
        );
        for h in request["headers"].as_array().into_iter().flatten() {
            let name = h["name"].as_str().unwrap_or_default();
            if ["host", "content-length", "connection", "user-agent", "accept-encoding"]
                .contains(&name.to_ascii_lowercase().as_str())
            {
                continue;
            }
            let header = format!("{name}: {}", h["value"].as_str().unwrap_or_default());
            line.push_str(&format!(" -H {}", word(&header, &captured)));
        }
        if let Some(body) = request["body"].as_str() {
            line.push_str(&format!(" --data-raw {}", word(body, &captured)));
        }
        script.push_str(&line);
        script.push('\n');
        let planned_step = &planned["steps"][i];
        let pattern = status_pattern(planned_step);
        let expected = step["expected"].as_str().unwrap_or_default();
        if i < failed {
            let said =
                quoted(&format!("step {}: expected {}, got ", i + 1, crate::text::escape_line(expected)));
            let then = quoted("; the reproduction did not reach the failing step");
            script.push_str(&format!(
                "case \"$status\" in {pattern}) ;; *) fail {said}\"$status: $body\"{then} 2 ;; esac\n"
            ));
            for c in planned_step["captures"].as_array().into_iter().flatten() {
                let (Some(name), Some(from), Some(at)) =
                    (c["name"].as_str(), c["source"]["from"].as_str(), c["source"]["path"].as_str())
                else {
                    continue;
                };
                let var = variable(name);
                let read = match from {
                    "header" => format!(
                        "$(grep -i '^{}:' \"$headers\" | head -n1 | cut -d: -f2- | tr -d '\\r' | sed 's/^ *//')",
                        at.replace('\'', "")
                    ),
                    _ => format!("$(printf '%s' \"$body\" | pick {})", quoted(at)),
                };
                script.push_str(&format!("{var}={read}\n"));
                if let Some(value) = step["captured"][name].as_str().filter(|v| v.len() >= 4) {
                    captured.push((var, value.to_string()));
                }
            }
        } else {
            let said = quoted(&format!(
                "reproduced: step {} expected {}, got ",
                i + 1,
                crate::text::escape_line(expected)
            ));
            script.push_str(&format!(
                "case \"$status\" in {pattern}) ;; *) fail {said}\"$status: $body\" ;; esac\n"
            ));
            for a in planned_step["expect"]["body"].as_array().into_iter().flatten() {
                let (Some(pointer), Some("equals")) = (a["pointer"].as_str(), a["test"].as_str()) else {
                    continue;
                };
                let want = match &a["value"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let said = quoted(&format!(
                    "reproduced: step {} expected {} at {}, got ",
                    i + 1,
                    crate::text::escape_line(&want),
                    crate::text::escape_line(pointer)
                ));
                script.push_str(&format!(
                    "got=$(printf '%s' \"$body\" | pick {}) || got='(absent)'\n[ \"$got\" = {} ] || fail {said}\"$got\"\n",
                    quoted(pointer),
                    word(&want, &captured),
                ));
            }
            script.push_str(&format!(
                "echo \"not reproduced: step {} answered $status as expected (its other checks, such as headers and schemas, are smoke's: run the scenario again)\"\nexit 0\n",
                i + 1
            ));
        }
    }
    json!({
        "kind": "bash",
        "script": script,
        "exit_codes": {"1": "the failure reproduced", "0": "it did not", "2": "an earlier step went differently, or the service could not be reached"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_value_becomes_its_variable_and_quotes_survive() {
        let captured = vec![("cap_id".to_string(), "abcd-1234".to_string())];
        assert_eq!(word("/carts/abcd-1234/items", &captured), r#"'/carts/'"${cap_id}"'/items'"#);
        assert_eq!(word("it's", &[]), r"'it'\''s'");
        assert_eq!(word("abcd-1234", &captured), r#""${cap_id}""#);
    }

    /// A body is sent as written (never a file curl reads, for one starting with `@`), a URL
    /// without curl's globbing, HEAD as curl's `--head` (which does not wait for a body).
    #[test]
    fn bodies_urls_and_head_are_sent_as_smoke_sent_them() {
        let report = json!({"base_url": "http://127.0.0.1:9"});
        let scenario = json!({"id": "s", "reason": "r", "steps": [
            {"name": "a", "expected": "200", "request": {"method": "POST", "url": "http://127.0.0.1:9/a?f[x]={y}", "headers": [], "body": "@/etc/passwd"}},
            {"name": "b", "expected": "200", "request": {"method": "HEAD", "url": "http://127.0.0.1:9/a", "headers": [], "body": null}}
        ]});
        let planned = json!({"steps": [{"expect": {"status": [200]}}, {"expect": {"status": [200]}}]});
        let script = reproduction(&report, &scenario, &planned, 1)["script"].as_str().unwrap().to_string();
        assert!(
            script.contains("--data-raw '@/etc/passwd'") && !script.contains("--data-binary"),
            "{script}"
        );
        assert!(script.contains("curl -sS -g "), "{script}");
        assert!(script.contains("set -- --head"), "{script}");
        assert!(script.contains("send 'HEAD' \"$BASE_URL\"'/a'"), "{script}");
    }

    #[test]
    fn statuses_become_a_case_pattern() {
        assert_eq!(status_pattern(&json!({"expect": {"status": [200, "4xx"]}})), "200|4??");
    }

    /// A reproduction of a plan and report holding shell syntax, run with a fake curl that
    /// answers 500: it says what it must, literally, and runs nothing it was handed.
    #[test]
    fn what_a_plan_or_service_says_is_never_run_by_the_reproduction() {
        let dir = tempfile::tempdir().unwrap();
        let pwned = dir.path().join("pwned");
        let evil = format!("$(touch {}) `touch {}`", pwned.display(), pwned.display());
        let curl = dir.path().join("curl");
        std::fs::write(
            &curl,
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do case $1 in -o) echo '{}' > $2; shift;; -D) : > $2; shift;; esac; shift; done\nprintf 500\n",
        )
        .unwrap();
        std::fs::set_permissions(&curl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let report = json!({"base_url": format!("http://127.0.0.1:9/{evil}")});
        let scenario = json!({"id": evil, "reason": evil, "steps": [
            {"name": evil, "expected": format!("status 200 {evil}"), "request": {"method": "GET", "url": format!("http://127.0.0.1:9/{evil}/x'y"), "headers": [{"name": "X-A", "value": evil}], "body": evil}}
        ]});
        let planned = json!({"steps": [{"expect": {"status": [200], "body": [{"pointer": format!("/{evil}"), "test": "equals", "value": evil}]}}]});
        let script = reproduction(&report, &scenario, &planned, 0)["script"].as_str().unwrap().to_string();
        let path = dir.path().join("repro.sh");
        std::fs::write(&path, &script).unwrap();
        let out = std::process::Command::new("bash")
            .arg(&path)
            .env("PATH", format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default()))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{said}\n{script}");
        assert!(said.contains(&format!("expected status 200 {evil}, got 500")), "{said}");
        assert!(!pwned.exists(), "the script ran what it was handed:\n{script}");
    }
}
