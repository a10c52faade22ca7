//! What smoke prints and writes, under attack: strings from a plan or a service that try to pose
//! as smoke's own lines (or as commands a CI system obeys), secrets the environment hands the
//! config, links planted where reports go, a directory two runs share, a closed stderr, and files
//! that are not files.

use super::server::{Hostile, Reply};
use super::{find, plan_file, read_report, run_measured, run_plan, scenario};
use crate::support::{self, plugin, smoke};
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Whether a line is one a CI system would obey (GitHub Actions, Azure Pipelines).
fn command_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("::") || t.starts_with("##[") || t.starts_with("##vso[")
}

#[test]
fn strings_from_a_plan_or_a_service_never_forge_an_output_line_or_a_ci_command() {
    let forged = "\nPASS  forged.scenario  (1 ms)\n42 passed, 0 failed\n::error file=x::pwned\n::add-mask::x\n##vso[task.complete]";
    let body = format!("{{\"error\": \"{}\"}}", forged.replace('\n', "\\n"));
    let target = Hostile::start(move |_| Reply::json(500, &body));
    let dir = tempfile::tempdir().unwrap();
    let hostile = |n: usize| {
        json!({
            "id": format!("s{n}{forged}"), "endpoint": format!("GET /x{forged}"), "kind": "happy-path",
            "description": format!("what{forged}"),
            "steps": [{"name": format!("step{forged}"), "request": {"method": "GET", "path": "/x"},
                       "expect": {"status": [200]}}]
        })
    };
    let plan = plan_file(dir.path(), vec![], (0..3).map(hostile).collect());
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &["--no-progress", "-v"]));
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("Failures:") && r.stdout.contains("Triage:"), "both blocks are shown: {r}");
    let junit = std::fs::read_to_string(dir.path().join("run/r.xml")).unwrap();
    for (place, text) in [("stdout", &r.stdout), ("stderr", &r.stderr), ("JUnit", &junit)] {
        for line in text.lines() {
            assert!(!command_line(line), "{place} has a line a CI system obeys: {line:?}\n{text}");
            assert!(!line.trim_start().starts_with("PASS  forged"), "{place} has a forged line: {line:?}");
            assert!(!line.trim_start().starts_with("42 passed"), "{place} has a forged summary: {line:?}");
        }
    }
    assert!(r.stdout.lines().last().unwrap().starts_with("0 passed, 3 failed"), "{r}");
}

#[test]
fn secrets_the_environment_gives_the_config_are_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "pw-from-env-7f3a9c";
    // The service prints its arguments, then exits before it is healthy: the start failure names
    // the command line and shows the service's last lines.
    let config = dir.path().join("smoke.toml");
    std::fs::write(
        &config,
        format!(
            "[target]\ncommand = \"sh\"\nargs = [\"-c\", \"echo started with $0; exit 1\", \"--password=${{DB_PASSWORD}}\"]\n\
             startup-timeout = \"2s\"\n\n[[plugins]]\npath = {:?}\n",
            plugin("guide-example").display().to_string()
        ),
    )
    .unwrap();
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config).arg("-v").env("DB_PASSWORD", secret);
    support::every_report(&mut c, &dir.path().join("run"));
    let r = support::run(c);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("--password=[REDACTED]"), "the command line is shown, redacted: {r}");
    let report = read_report(dir.path());
    assert!(report["stage_failure"]["message"].as_str().unwrap().contains("[REDACTED]"), "{report}");
    // Everything smoke wrote; the service's own log is the service's words, not smoke's.
    for (place, text) in support::everything_written(&[&r], &[dir.path().join("run")]) {
        if !place.ends_with(".log") {
            assert!(!text.contains(secret), "{place} holds the secret");
        }
    }
}

#[test]
fn links_planted_where_reports_go_are_replaced_and_never_written_through() {
    let target = Hostile::start(|_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let victims = dir.path().join("victims");
    std::fs::create_dir(&victims).unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let plan = plan_file(dir.path(), vec![], vec![scenario("a", "GET", "/a", 200)]);
    let names = [
        "report.json",
        "report.html",
        "report.xml",
        "transcript.jsonl",
        "r.json",
        "r.xml",
        "r.html",
        "t.jsonl",
    ];
    for name in names {
        std::fs::write(victims.join(name), "precious").unwrap();
        std::os::unix::fs::symlink(victims.join(name), run.join(name)).unwrap();
    }
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &[]));
    assert_eq!(r.code, 0, "{r}");
    for name in names {
        assert_eq!(
            std::fs::read_to_string(victims.join(name)).unwrap(),
            "precious",
            "{name} was written through"
        );
        let meta = std::fs::symlink_metadata(run.join(name)).unwrap();
        assert!(meta.is_file(), "{name} is a report of its own now");
    }
    read_report(dir.path());
}

#[test]
fn two_runs_sharing_an_artifacts_directory_never_interleave_their_reports() {
    // Each request takes a while: the first run holds the directory while the second tries it.
    let target = Hostile::start(|_| {
        std::thread::sleep(Duration::from_millis(400));
        Reply::json(200, "{}")
    });
    let dir = tempfile::tempdir().unwrap();
    let plan =
        plan_file(dir.path(), vec![], (0..5).map(|i| scenario(&format!("s{i}"), "GET", "/a", 200)).collect());
    let mut first = run_plan(dir.path(), &plan, &target.url, &["--jobs", "1"]);
    let mut first = first.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let lock = dir.path().join("run/.smoke-run.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| !t.is_empty()) {
        assert!(Instant::now() < deadline, "the first run never took the directory");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = support::run(run_plan(dir.path(), &plan, &target.url, &[]));
    assert_eq!(second.code, 2, "{second}");
    assert!(second.stderr.contains(&format!("in use by another smoke run (pid {})", first.id())), "{second}");
    assert!(first.wait().unwrap().success());
    let report = read_report(dir.path());
    assert_eq!(report["summary"]["passed"], 5, "the first run's report, whole");
}

#[test]
fn a_closed_stderr_never_stops_a_run_or_its_reports() {
    let target = Hostile::start(|_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let plan =
        plan_file(dir.path(), vec![], vec![scenario("a", "GET", "/a", 200), scenario("b", "GET", "/b", 404)]);
    // `smoke -v ... 2>&1 | head -1`: both streams closed after the first line is read.
    let mut c = run_plan(dir.path(), &plan, &target.url, &["-v", "--jobs", "1"]);
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stderr.take());
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "exit by the verdicts (b failed), not a panic: {status:?}");
    let report = read_report(dir.path());
    assert_eq!(find(&report, "b")["outcome"], "failed");
}

#[test]
fn files_that_are_not_regular_files_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let fifo = fifo.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", "--config", "/dev/zero"],
        vec!["run", "--config", fifo],
        vec!["run", "--plan", "/dev/urandom", "--base-url", "http://127.0.0.1:9"],
        vec!["run", "--plan", fifo, "--base-url", "http://127.0.0.1:9"],
        vec!["run", "--plan", "/dev/zero", "--base-url", "https://127.0.0.1:9", "--cacert", "/dev/zero"],
    ];
    for args in cases {
        let started = Instant::now();
        let mut c = smoke(dir.path());
        c.args(&args);
        let (r, peak_mib) = run_measured(c);
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert!(
            r.stderr.contains("is a device") || r.stderr.contains("is a FIFO"),
            "{args:?} says what the file is: {r}"
        );
        assert!(started.elapsed() < Duration::from_secs(10) && peak_mib < 100, "{args:?}: {peak_mib} MiB");
    }
}

#[test]
fn a_failure_to_rerun_that_is_no_longer_planned_is_refused_naming_it() {
    let target = Hostile::start(|_| Reply::json(500, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path(), vec![], vec![scenario("old-name", "GET", "/a", 200)]);
    assert_eq!(support::run(run_plan(dir.path(), &plan, &target.url, &[])).code, 1);
    let failed = dir.path().join("failed.json");
    std::fs::copy(dir.path().join("run/report.json"), &failed).unwrap();
    // The scenario was renamed since: rerunning "what failed" must not pass by running nothing.
    let renamed = plan_file(dir.path(), vec![], vec![scenario("new-name", "GET", "/a", 200)]);
    let mut c = run_plan(dir.path(), &renamed, &target.url, &[]);
    c.arg("--rerun-failed").arg(&failed);
    let r = support::run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("are not in the plan") && r.stderr.contains("old-name"), "{r}");
}

#[test]
fn a_shard_whose_scenario_was_renamed_does_not_merge() {
    let target = Hostile::start(|_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let plan =
        plan_file(dir.path(), vec![], (0..6).map(|i| scenario(&format!("s{i}"), "GET", "/a", 200)).collect());
    let mut parts = Vec::new();
    for i in 1..=2 {
        let part = dir.path().join(format!("part-{i}.json"));
        let mut c = smoke(dir.path());
        c.arg("run").arg("--plan").arg(&plan).args(["--base-url", &target.url, "--shard", &format!("{i}/2")]);
        c.arg("--report-json").arg(&part);
        assert_eq!(support::run(c).code, 0);
        parts.push(part);
    }
    let mut forged: serde_json::Value = serde_json::from_slice(&std::fs::read(&parts[1]).unwrap()).unwrap();
    forged["scenarios"][0]["id"] = json!("never-planned");
    std::fs::write(&parts[1], forged.to_string()).unwrap();
    let mut c = smoke(dir.path());
    c.args(["report", "merge"]).args(&parts);
    let r = support::run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("holds other scenarios than its split gave it"), "{r}");
}

/// Lines a string must never become: smoke's own, or a CI system's commands.
fn forged_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("PASS  forged")
        || t.starts_with("42 passed")
        || command_line(line)
        || line.contains("##vso[")
}

#[test]
fn a_plans_errors_never_forge_a_line() {
    let target = Hostile::start(|_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let forged = "\nPASS  forged.scenario  (1 ms)\n42 passed, 0 failed, 0 skipped\n::error::pwned\nsee ##vso[task.complete]";
    let with = |mut s: serde_json::Value, field: &str, value: serde_json::Value| {
        s[field] = value;
        s
    };
    let variants = [
        // A step name in a problem's place (an off-target path).
        vec![json!({"id": "a", "endpoint": "GET /x", "kind": "happy-path",
            "steps": [{"name": format!("n{forged}"), "request": {"method": "GET", "path": "//evil/x"}, "expect": {"status": [200]}}]})],
        // Plugin names beside a duplicate id.
        vec![
            with(scenario("d", "GET", "/x", 200), "plugin", json!(format!("p{forged}"))),
            scenario("d", "GET", "/x", 200),
        ],
        // The ids of a cycle.
        vec![
            with(scenario(&format!("a{forged}"), "GET", "/x", 200), "depends_on", json!(["b"])),
            with(scenario("b", "GET", "/x", 200), "depends_on", json!([format!("a{forged}")])),
        ],
    ];
    for scenarios in variants {
        let plan = plan_file(dir.path(), vec![], scenarios);
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &[]));
        assert_eq!(r.code, 4, "{r}");
        for line in r.stdout.lines().chain(r.stderr.lines()) {
            assert!(!forged_line(line), "a forged line: {line:?}\n{r}");
        }
    }
    assert!(target.seen().is_empty());
}

#[test]
fn smoke_plan_and_doctor_keep_the_environments_secrets() {
    let secret = "doc-token-5e2c9a";
    // The document's URL carries the secret and answers 404: the error names the URL.
    let target = Hostile::start(|_| Reply::json(404, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("smoke.toml");
    std::fs::write(
        &config,
        format!(
            "[run]\nbase-url = {:?}\n\n[[plugins]]\npath = {:?}\n[plugins.config]\nspec = \"{}/openapi.json?access_token=${{DOC_TOKEN}}\"\n",
            target.url,
            plugin("openapi").display().to_string(),
            target.url
        ),
    )
    .unwrap();
    for command in ["plan", "doctor", "run"] {
        let mut c = smoke(dir.path());
        c.arg(command).arg("--config").arg(&config).env("DOC_TOKEN", secret);
        let r = support::run(c);
        assert_ne!(r.code, 0, "{command}: {r}");
        assert!(!r.to_string().contains(secret), "{command} shows the secret: {r}");
        assert!(r.to_string().contains("[REDACTED]"), "{command} names the URL, redacted: {r}");
    }
}

#[test]
fn a_carriage_return_in_a_services_line_never_ends_the_line() {
    let dir = tempfile::tempdir().unwrap();
    // The service's last lines are shown when it fails to start; one holds a bare CR.
    let config = dir.path().join("smoke.toml");
    std::fs::write(
        &config,
        format!(
            "[target]\ncommand = \"sh\"\nargs = [\"-c\", \"printf 'started\\\\r::error title=forged::pwned\\\\n'; exit 1\"]\n\
             startup-timeout = \"2s\"\n\n[[plugins]]\npath = {:?}\n",
            plugin("guide-example").display().to_string()
        ),
    )
    .unwrap();
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config).arg("-v");
    let r = support::run(c);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("started"), "the service's line is shown: {r}");
    assert!(!r.stderr.contains('\r'), "a raw CR on stderr: {:?}", r.stderr);
    for line in r.stderr.lines() {
        assert!(!command_line(line), "{line:?}");
    }
}

#[test]
fn a_link_planted_for_the_commands_folder_is_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::os::unix::fs::symlink(&elsewhere, run.join("commands")).unwrap();
    let config = dir.path().join("smoke.toml");
    std::fs::write(
        &config,
        format!(
            "[target]\ncommand = \"sh\"\nargs = [\"-c\", \"exit 1\"]\nstartup-timeout = \"2s\"\n\n[target.reset]\ncommand = \"sh\"\nargs = [\"-c\", \"echo resetting\"]\nbefore-start = true\n\n[[plugins]]\npath = {:?}\n",
            plugin("guide-example").display().to_string()
        ),
    )
    .unwrap();
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config).arg("--artifacts").arg(&run);
    let r = support::run(c);
    assert_eq!(r.code, 3, "{r}");
    assert!(std::fs::read_dir(&elsewhere).unwrap().next().is_none(), "nothing was written through the link");
    assert!(run.join("commands/reset.log").is_file(), "the log is in the run's own folder");
}

#[test]
fn a_report_that_cannot_be_written_is_said_after_the_verdict() {
    let target = Hostile::start(|_| Reply::json(500, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path(), vec![], vec![scenario("a", "GET", "/a", 200)]);
    let mut c = smoke(dir.path());
    // The HTML report is asked for where a directory is.
    c.arg("run")
        .arg("--plan")
        .arg(&plan)
        .args(["--base-url", &target.url])
        .arg("--report-html")
        .arg(dir.path());
    let r = support::run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stdout.contains("Failures:") && r.stdout.contains("0 passed, 1 failed"),
        "the verdict is shown: {r}"
    );
    assert!(r.stderr.contains("cannot write the HTML report"), "{r}");
}

#[test]
fn the_runs_timeout_holds_while_documents_load() {
    // The document's server takes the connection and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("run").arg("--plugin").arg(plugin("openapi"));
    c.args(["--plugin-config", &format!("spec=http://127.0.0.1:{port}/openapi.json")]);
    c.args(["--base-url", &format!("http://127.0.0.1:{port}"), "--timeout", "2s"]);
    let started = Instant::now();
    let r = support::run(c);
    drop(listener);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("--timeout of 2s expired"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn limits_of_nothing_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value, says) in [
        ("--plugin-memory-mib", "0", "at least 1 MiB"),
        ("--request-timeout", "0s", "more than 0"),
        ("--plugin-timeout", "0s", "more than 0"),
    ] {
        let mut c = smoke(dir.path());
        c.arg("run").arg("--plugin").arg(plugin("guide-example")).args([
            "--base-url",
            "http://127.0.0.1:9",
            flag,
            value,
        ]);
        let r = support::run(c);
        assert_eq!(r.code, 2, "{flag}: {r}");
        assert!(r.stderr.contains(says), "{flag}: {r}");
    }
}
