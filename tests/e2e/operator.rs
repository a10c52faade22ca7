//! Operator-grade runs: reset/migrate/seed commands, artifacts, signals, ports, workdirs and the
//! clean-git check. Every test also checks that nothing smoke started outlives it.

use crate::support::{self, Ledger, Run, ledger_api, plugin, root, run, smoke};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LEDGER_CONFIG: &str = "examples/ledger-api/smoke.toml";

/// A ledger config in `dir` with absolute paths. `workdir` is a TOML value line or empty;
/// `hooks` is extra TOML for `[target.*]` tables; `extra` is appended (e.g. `[checks]`).
fn ledger_config(dir: &Path, target_args: &str, workdir: &str, hooks: &str, extra: &str) -> PathBuf {
    let api = ledger_api().display().to_string();
    let text = format!(
        "[target]\ncommand = {api:?}\nargs = {target_args}\n{workdir}\nstop-grace = \"2s\"\n\n{hooks}\n\
         [[plugins]]\npath = {:?}\n\n{extra}\n",
        plugin("ledger").display().to_string()
    );
    let path = dir.join("smoke.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A `[target.NAME]` table running ledger-api's maintenance command NAME on `db`.
fn maintenance(name: &str, db: &str, before_start: bool) -> String {
    let command = if name == "seed" { "seed-chart" } else { name };
    format!(
        "[target.{name}]\ncommand = {:?}\nargs = [{command:?}, \"--db\", {db:?}]\nbefore-start = {before_start}\n\n",
        ledger_api().display().to_string()
    )
}

/// The pid smoke logged for the service it started (`-v`).
fn service_pid(stderr: &str) -> u32 {
    let at = stderr.find("(pid ").unwrap_or_else(|| panic!("no service pid logged:\n{stderr}")) + 5;
    stderr[at..].split(')').next().unwrap().parse().unwrap()
}

fn assert_gone(pid: u32) {
    let left = support::wait_gone(&[pid], Duration::from_secs(5));
    assert!(left.is_empty(), "the service (pid {pid}) outlived the run");
}

fn report(dir: &Path) -> Value {
    let text =
        std::fs::read_to_string(dir.join("report.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn reset_runs_before_seeding_so_a_second_run_starts_from_a_clean_database() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let args = "[\"--port\", \"{port}\", \"--db\", \"ledger.db\"]";
    let workdir = format!("workdir = {:?}", work.display().to_string());
    let hooks = [maintenance("reset", "ledger.db", true), maintenance("migrate", "ledger.db", true)].concat();
    let config = ledger_config(dir.path(), args, &workdir, &hooks, "");
    for attempt in 1..=2 {
        let artifacts = dir.path().join(format!("run-{attempt}"));
        let mut c = smoke(dir.path());
        c.arg("run").arg("--config").arg(&config).arg("--artifacts").arg(&artifacts).arg("-v");
        let r = run(c);
        assert_eq!(r.code, 0, "run {attempt}:\n{r}");
        assert_gone(service_pid(&r.stderr));
        // Artifacts: the service log, each command's output, the report.
        let reset_log = std::fs::read_to_string(artifacts.join("commands/reset.log")).unwrap();
        assert!(reset_log.contains("dropped 5 tables"), "{reset_log}");
        assert!(artifacts.join("commands/migrate.log").is_file());
        assert!(std::fs::read_to_string(artifacts.join("service.log")).unwrap().contains("listening on"));
        assert_eq!(report(&artifacts)["summary"]["passed"], 33);
        assert!(r.stdout.contains(&format!("artifacts: {}", artifacts.display())), "{r}");
    }
    // The same database without the reset is not clean, and the plugin notices: the proof that
    // the passes above needed the reset.
    let config = ledger_config(dir.path(), args, &workdir, &maintenance("migrate", "ledger.db", true), "");
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 1, "a dirty database went unnoticed:\n{r}");
}

#[test]
fn a_failing_seed_command_exits_5_naming_it_with_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = "[target.seed]\ncommand = \"sh\"\nargs = [\"-c\", \"echo 'chart import failed: duplicate key' >&2; exit 3\"]\n";
    let config = ledger_config(dir.path(), "[\"--port\", \"{port}\"]", "", hooks, "");
    let mut c = smoke(dir.path());
    let artifacts = dir.path().join("run");
    c.arg("run").arg("--config").arg(&config).arg("-v").arg("--artifacts").arg(&artifacts);
    c.arg("--report-junit").arg(artifacts.join("r.xml"));
    let r = run(c);
    assert_eq!(r.code, 5, "{r}");
    assert!(r.stderr.contains("seed: `sh -c echo 'chart import failed"), "{r}");
    assert!(r.stderr.contains("failed (exit status: 3)"), "{r}");
    assert!(r.stderr.contains("| chart import failed: duplicate key"), "{r}");
    assert_gone(service_pid(&r.stderr));
    // The reports are written all the same, saying which stage failed.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["stage_failure"]["stage"], "seed", "{report}");
    assert!(report["scenarios"].as_array().unwrap().iter().all(|s| s["failure"]["kind"] == "target-failed"));
    assert!(artifacts.join("r.xml").is_file());
}

#[test]
fn a_command_that_hangs_is_killed_at_its_timeout_and_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = "[target.reset]\ncommand = \"sh\"\nargs = [\"-c\", \"echo resetting; sleep 60\"]\ntimeout = \"500ms\"\nbefore-start = true\n";
    let config = ledger_config(dir.path(), "[\"--port\", \"{port}\"]", "", hooks, "");
    let started = Instant::now();
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 5, "{r}");
    assert!(
        r.stderr.contains("reset: `sh -c echo resetting; sleep 60` timed out after 500ms and was killed"),
        "{r}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "the hung command held the run");
}

#[test]
fn a_service_that_crashes_mid_run_fails_the_remaining_scenarios_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "-v"]).env("FAULTS", "crash-on-snapshot");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("the service under test exited (exit status: 101)"), "{r}");
    assert_gone(service_pid(&r.stderr));
}

/// Start a run that takes several seconds (every obligation read hangs until its 3 s step
/// timeout, one scenario at a time), signal it once a few scenarios finished, and return what it
/// did.
fn interrupt(signal: nix::sys::signal::Signal) -> (Run, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "-v", "--jobs", "1", "--artifacts"]).arg(&artifacts);
    c.env("FAULTS", "obligations-hang").stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let (stdout, stderr): (Arc<Mutex<String>>, Arc<Mutex<String>>) = Default::default();
    let readers: Vec<_> = [
        (Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, stdout.clone()),
        (Box::new(child.stderr.take().unwrap()), stderr.clone()),
    ]
    .into_iter()
    .map(|(stream, sink)| {
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        })
    })
    .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while stdout.lock().unwrap().matches("PASS").count() < 3 {
        assert!(Instant::now() < deadline, "the run did not get going:\n{}", stdout.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "smoke did not stop within 20 s of {signal}");
        std::thread::sleep(Duration::from_millis(20));
    };
    for r in readers {
        r.join().unwrap();
    }
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.lock().unwrap().clone(),
        stderr: stderr.lock().unwrap().clone(),
    };
    (run, artifacts, dir)
}

fn assert_interrupted(signal: nix::sys::signal::Signal, code: i32, name: &str) {
    let (r, artifacts, _dir) = interrupt(signal);
    assert_eq!(r.code, code, "{r}");
    assert!(r.stderr.contains(&format!("interrupted by {name}")), "{r}");
    assert_gone(service_pid(&r.stderr));
    let report = report(&artifacts);
    support::assert_valid_report(&report);
    assert_eq!(report["interrupted"], name);
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 33, "every planned scenario is in the partial report");
    let passed = scenarios.iter().filter(|s| s["outcome"] == "passed").count();
    let not_run = scenarios
        .iter()
        .filter(|s| s["reason"].as_str().is_some_and(|r| r.contains(&format!("interrupted by {name}"))))
        .count();
    assert!(passed >= 3, "what finished is reported: {passed} passed");
    assert!(not_run >= 1, "what did not run is marked so");
}

#[test]
fn sigint_mid_run_exits_130_with_a_partial_report_and_the_service_gone() {
    assert_interrupted(nix::sys::signal::Signal::SIGINT, 130, "SIGINT");
}

#[test]
fn sigterm_mid_run_exits_143_with_a_partial_report_and_the_service_gone() {
    assert_interrupted(nix::sys::signal::Signal::SIGTERM, 143, "SIGTERM");
}

#[test]
fn the_whole_run_timeout_stops_the_run_and_fails_what_did_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts");
    let started = Instant::now();
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "-v", "--jobs", "1", "--timeout", "1500ms", "--artifacts"]);
    c.arg(&artifacts).env("FAULTS", "obligations-hang");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    assert!(started.elapsed() < Duration::from_secs(15), "the run outlived its timeout");
    assert!(r.stderr.contains("the run's --timeout of 1s 500ms expired"), "{r}");
    assert_gone(service_pid(&r.stderr));
    let report = report(&artifacts);
    assert_eq!(report["interrupted"], "timeout");
    let unfinished = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "failed" && s["reason"].as_str().is_some_and(|r| r.contains("--timeout")))
        .count();
    assert!(unfinished >= 1, "unfinished scenarios count as failed");
}

#[test]
fn a_busy_fixed_port_exits_3_naming_it_before_starting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let holder = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = holder.local_addr().unwrap().port();
    let marker = dir.path().join("started");
    let config = dir.path().join("smoke.toml");
    let text = format!(
        "[target]\ncommand = \"sh\"\nargs = [\"-c\", \"touch {}; sleep 30\"]\nport = {port}\n\n\
         [[plugins]]\npath = {:?}\n",
        marker.display(),
        plugin("guide-example").display().to_string()
    );
    std::fs::write(&config, text).unwrap();
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains(&format!("port {port} is already in use")), "{r}");
    assert!(!marker.exists(), "the command was started although its port was taken");
    // Nothing smoke did not start was touched.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(), "the holder of the port is gone");
}

fn workdir_of(stderr: &str) -> PathBuf {
    let at = stderr.find("target: workdir ").unwrap_or_else(|| panic!("no workdir logged:\n{stderr}")) + 16;
    PathBuf::from(stderr[at..].lines().next().unwrap().trim())
}

#[test]
fn a_temporary_workdir_is_removed_after_the_run_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "-v"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let workdir = workdir_of(&r.stderr);
    assert!(!workdir.exists(), "{} is still there", workdir.display());
    assert_gone(service_pid(&r.stderr));

    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "-v", "--keep-workdir"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let kept = workdir_of(&r.stderr);
    assert!(kept.join("ledger.db").is_file(), "the kept workdir has the service's database");
    std::fs::remove_dir_all(kept).unwrap();
}

#[test]
fn a_run_that_dirties_the_checkout_fails_under_clean_git() {
    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("checkout");
    std::fs::create_dir(&checkout).unwrap();
    let git = std::process::Command::new("git").args(["init", "-q"]).current_dir(&checkout).status().unwrap();
    assert!(git.success());
    let args = "[\"--port\", \"{port}\", \"--db\", \"ledger.db\"]";
    let hooks = maintenance("migrate", "ledger.db", true);
    // The service's database lands in the checkout (the config's directory).
    let config = ledger_config(&checkout, args, "", &hooks, "[checks]\nclean-git = true\n");
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config).arg("--artifacts").arg(dir.path().join("a1")).arg("-v");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    assert_gone(service_pid(&r.stderr));
    assert!(r.stdout.contains("checks.clean-git"), "{r}");
    assert!(r.stdout.contains("ledger.db"), "the changed path is named:\n{r}");
    support::assert_valid_report(&report(&dir.path().join("a1")));
    let failed = report(&dir.path().join("a1"))["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "checks.clean-git" && s["outcome"] == "failed");
    assert!(failed, "the finding is in the report");

    // The same run in a temporary workdir leaves the checkout alone and passes.
    std::fs::remove_file(checkout.join("ledger.db")).unwrap();
    let config = ledger_config(&checkout, args, "workdir = \"temp\"", &hooks, "[checks]\nclean-git = true\n");
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn doctor_checks_what_a_run_needs_without_running_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["doctor", "--config", LEDGER_CONFIG]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    for expected in [
        "ok    plugin ledger",
        "ok    plan: 5 seed(s), 33 scenario(s), valid",
        "ok    reset:",
        "doctor: ready to run",
    ] {
        assert!(r.stdout.contains(expected), "missing {expected:?}:\n{r}");
    }
    let config = ledger_config(dir.path(), "[]", "", "", "");
    let text =
        std::fs::read_to_string(&config).unwrap().replace(&ledger_api().display().to_string(), "./not-built");
    std::fs::write(&config, text).unwrap();
    let mut c = smoke(dir.path());
    c.arg("doctor").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 3, "{r}");
    assert!(
        r.stdout.contains("FAIL  target: start command:") && r.stdout.contains("not-built does not exist"),
        "{r}"
    );
    let _ = root();
}

#[test]
fn old_run_directories_beyond_keep_runs_are_pruned_and_nothing_else() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("state/runs");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let mut made = Vec::new();
    for day in 1..=4 {
        let d = runs.join(format!("2026-01-0{day}T000000Z-1{day}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("report.json"), "{}").unwrap();
        std::fs::File::open(&d).unwrap().set_modified(old).unwrap();
        made.push(d);
    }
    // Not a run directory: never touched.
    std::fs::create_dir_all(runs.join("notes")).unwrap();
    // A run directory changed a minute ago may belong to a run in progress: kept.
    let busy = runs.join("2025-12-31T000000Z-99");
    std::fs::create_dir_all(&busy).unwrap();
    let config = dir.path().join("smoke.toml");
    std::fs::write(
        &config,
        format!(
            "[run]\nbase-url = \"{}\"\nkeep-runs = 3\n\n[[plugins]]\npath = \"{}\"\n",
            ledger.url,
            plugin("guide-example").display()
        ),
    )
    .unwrap();
    let mut c = smoke(dir.path());
    c.args(["run", "--config"]).arg(&config);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let mut left: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 5, "{left:?}");
    assert!(
        left.contains(&"notes".to_string()) && left.contains(&"2025-12-31T000000Z-99".to_string()),
        "{left:?}"
    );
    assert!(!made[0].exists() && !made[1].exists(), "the two oldest runs went: {left:?}");
    assert!(made[2].exists() && made[3].exists(), "{left:?}");
}
