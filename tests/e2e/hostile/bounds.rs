//! Memory and time stay bounded whatever a service, a schema or a plugin throws at smoke: a big
//! body judged by one assertion, a schema pattern that is slow on a big body, a plugin's verdict
//! of tens of megabytes, a report read back with a string no smoke writes, a service that prints
//! without end. Peaks are smoke's own high-water mark (VmHWM), read while it runs.

use super::server::{Hostile, Reply};
use super::{find, plan_file, read_report, run_measured, run_plan, scenario};
use crate::support::{self, plugin, smoke};
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_16_mib_body_judged_by_one_assertion_costs_a_small_multiple_of_it() {
    // 15 MiB of `[{"a":0},...]` (within the default body limit of 16 MiB).
    let body = format!("[{}]", vec![r#"{"a":0}"#; (15 << 20) / 8].join(","));
    let target = Hostile::start(move |_| Reply::json(200, &body));
    let dir = tempfile::tempdir().unwrap();
    let mut s = scenario("big", "GET", "/big", 200);
    s["steps"][0]["expect"]["body"] = json!([{"pointer": "/1000/a", "test": "equals", "value": 0}]);
    s["steps"][0]["captures"] = json!([{"name": "a", "source": {"from": "body", "path": "/0/a"}}]);
    let plan = plan_file(dir.path(), vec![], vec![s]);
    let (r, peak_mib) = run_measured(run_plan(dir.path(), &plan, &target.url, &[]));
    assert_eq!(r.code, 0, "{r}");
    // The body itself, its record, and the run's own: well under a tree of it (1.4 GiB once).
    assert!(peak_mib < 120, "peak {peak_mib} MiB for a 15 MiB body");
}

/// A 4 MiB JSON string that `a[ab]{999}[^ab]` takes tens of seconds to refuse.
fn slow_for_the_pattern() -> (Hostile, serde_json::Value) {
    // A's and b's in no order (a regular expression engine's cache of states never settles).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let text: String = (0..4 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x & 1 == 0 { 'a' } else { 'b' }
        })
        .collect();
    let body = format!("\"{text}\"");
    let target = Hostile::start(move |_| Reply::json(200, &body));
    let mut s = scenario("slow", "GET", "/slow", 200);
    s["steps"][0]["expect"]["schema"] = json!({"type": "string", "pattern": "a[ab]{999}[^ab]"});
    (target, s)
}

#[test]
fn a_schema_pattern_slow_on_a_big_body_fails_its_step_in_time() {
    let (target, slow) = slow_for_the_pattern();
    let dir = tempfile::tempdir().unwrap();
    let mut again = slow.clone();
    again["id"] = json!("slow-again");
    again["depends_on"] = json!([]);
    let quick = scenario("quick", "GET", "/quick", 200);
    let plan = plan_file(dir.path(), vec![], vec![slow, again, quick]);
    let started = Instant::now();
    let r =
        support::run(run_plan(dir.path(), &plan, &target.url, &["--request-timeout", "2s", "--jobs", "1"]));
    assert_eq!(r.code, 1, "{r}");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    let report = read_report(dir.path());
    for id in ["slow", "slow-again"] {
        let s = find(&report, id);
        assert_eq!(
            s["failure"]["kind"],
            "timeout",
            "{id}: {}",
            &s["reason"].to_string()[..200.min(s["reason"].to_string().len())]
        );
    }
    assert_eq!(find(&report, "quick")["outcome"], "passed");
}

#[test]
fn a_schema_check_in_progress_never_delays_a_signal() {
    let (target, slow) = slow_for_the_pattern();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path(), vec![], vec![slow]);
    let mut c = run_plan(dir.path(), &plan, &target.url, &["--request-timeout", "60s"]);
    let mut child = c.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Once the body is in, the check is running.
    let deadline = Instant::now() + Duration::from_secs(20);
    while target.seen().is_empty() {
        assert!(Instant::now() < deadline, "the request never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let sent = Instant::now();
    nix_kill(child.id(), libc::SIGTERM);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(sent.elapsed() < Duration::from_secs(5), "SIGTERM was not acted on within 5 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(143));
    let report = read_report(dir.path());
    assert_eq!(report["interrupted"], "SIGTERM");
}

fn nix_kill(pid: u32, signal: i32) {
    // SAFETY: kill(2) on a child this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
}

#[test]
fn a_plugins_verdict_of_tens_of_megabytes_is_kept_once_and_clipped() {
    let target = Hostile::start(|_| Reply::json(200, r#"{"status": "ok"}"#));
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("misbehave")).args(["--plugin-config", "mode=huge-verdict"]);
    c.args(["--base-url", &target.url, "--plugin-memory-mib", "512"]);
    support::every_report(&mut c, &dir.path().join("run"));
    let (r, peak_mib) = run_measured(c);
    assert_eq!(r.code, 1, "{r}");
    assert!(
        r.to_string().len() < 200_000,
        "the console shows a clipped reason: {} bytes",
        r.to_string().len()
    );
    for name in ["report.json", "r.json", "r.xml", "r.html"] {
        let size = std::fs::metadata(dir.path().join("run").join(name)).unwrap().len();
        assert!(size < 2 << 20, "{name} is {size} bytes");
    }
    let report = read_report(dir.path());
    let reason = find(&report, "misbehave.judged")["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains("clipped: 50331648 bytes in all"),
        "{}",
        &reason[reason.len().saturating_sub(200)..]
    );
    // The plugin's own memory (its 48 MB, copied out once) and little more.
    assert!(peak_mib < 300, "{peak_mib} MiB");
}

#[test]
fn a_report_holding_a_string_no_smoke_writes_is_refused_before_it_is_held() {
    let target = Hostile::start(|_| Reply::json(500, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let plan =
        plan_file(dir.path(), vec![], (0..4).map(|i| scenario(&format!("s{i}"), "GET", "/a", 200)).collect());
    let mut parts = Vec::new();
    for i in 1..=2 {
        let part = dir.path().join(format!("part-{i}.json"));
        let mut c = smoke(dir.path());
        c.arg("run").arg("--plan").arg(&plan).args(["--base-url", &target.url, "--shard", &format!("{i}/2")]);
        c.arg("--report-json").arg(&part);
        assert_eq!(support::run(c).code, 1);
        parts.push(part);
    }
    // A 64 MB reason, where smoke clips every reason to a few kilobytes.
    let mut forged: serde_json::Value = serde_json::from_slice(&std::fs::read(&parts[1]).unwrap()).unwrap();
    forged["scenarios"][0]["reason"] = json!("x".repeat(64 << 20));
    std::fs::write(&parts[1], forged.to_string()).unwrap();
    drop(forged);
    let mut c = smoke(dir.path());
    c.args(["report", "merge"]).args(&parts);
    let (r, peak_mib) = run_measured(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("longer than any smoke writes"), "{r}");
    assert!(peak_mib < 60, "{peak_mib} MiB");
}

#[test]
fn a_service_printing_without_end_leaves_a_log_of_its_head_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    // 60 MB of output, then the service exits before it was ever healthy.
    let script = "head -c 60000000 /dev/zero | tr '\\0' x; echo; echo the-last-line; exit 1";
    let config = dir.path().join("smoke.toml");
    std::fs::write(
        &config,
        format!(
            "[target]\ncommand = \"sh\"\nargs = [\"-c\", {script:?}]\nstartup-timeout = \"30s\"\n\n[[plugins]]\npath = {:?}\n",
            plugin("guide-example").display().to_string()
        ),
    )
    .unwrap();
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config).arg("--artifacts").arg(dir.path().join("run"));
    let (r, peak_mib) = run_measured(c);
    assert_eq!(r.code, 3, "{r}");
    let logs: Vec<_> = std::fs::read_dir(dir.path().join("run"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .collect();
    assert!(!logs.is_empty(), "the service has a log");
    let log = logs.iter().map(|e| e.path()).max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap();
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size <= (16 << 20) + (4 << 20) + 200, "{}: {size} bytes", log.display());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("bytes of output dropped here"), "the log says what it dropped");
    assert!(text.trim_end().ends_with("the-last-line"), "and keeps the tail");
    assert!(peak_mib < 100, "{peak_mib} MiB");
}
