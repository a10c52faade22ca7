//! Hostile services and inputs (docs/architecture.md, "Hostile services and inputs"): a broken or
//! malicious service, plan, document or plugin file must never make smoke crash, hang, leak a
//! secret, send a request elsewhere, grow without bound, or report a failure that is not the
//! service's. Each test names the behaviour it holds smoke to: the exit code, the failure kind,
//! the files written, peak memory, and that nothing is left running.

mod bounds;
mod documents;
mod exchange;
mod mcp;
mod output;
mod registry;
pub(crate) mod server;

use crate::support::{self, Run, plugin, root, smoke};
use serde_json::{Value, json};
use server::{Hostile, Reply};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A scenario of one GET or POST step accepting `status`.
fn scenario(id: &str, method: &str, path: &str, status: u16) -> Value {
    json!({
        "id": id, "endpoint": format!("{method} {path}"), "kind": "happy-path",
        "steps": [{"request": {"method": method, "path": path}, "expect": {"status": [status]}}]
    })
}

/// Write a plan file holding these scenarios (and seeds).
fn plan_file(dir: &Path, seeds: Vec<Value>, scenarios: Vec<Value>) -> PathBuf {
    let path = dir.join("plan.json");
    std::fs::write(&path, json!({"seeds": seeds, "scenarios": scenarios}).to_string()).unwrap();
    path
}

/// `smoke run --plan FILE --base-url URL --artifacts DIR/run` with every report asked for.
fn run_plan(dir: &Path, plan: &Path, base_url: &str, extra: &[&str]) -> Command {
    let mut c = smoke(dir);
    c.arg("run").arg("--plan").arg(plan).args(["--base-url", base_url]).args(extra);
    support::every_report(&mut c, &dir.join("run"));
    c
}

fn read_report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("run/report.json")).expect("report.json is written");
    let value: Value = serde_json::from_str(&text).expect("report.json is JSON");
    support::assert_valid_report(&value);
    value
}

fn find<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

/// Run to completion, returning the output and smoke's own peak resident memory in MiB: the
/// high-water mark of its address space (`VmHWM`), read while it runs. (A child's rusage would
/// count the test process's own memory, which a fork copies before the exec.)
fn run_measured(mut c: Command) -> (Run, u64) {
    use std::io::Read;
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("smoke starts");
    let drain = |mut s: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            buf
        })
    };
    let o = drain(Box::new(child.stdout.take().unwrap()));
    let e = drain(Box::new(child.stderr.take().unwrap()));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "smoke did not finish within 120 s");
        std::thread::sleep(Duration::from_millis(5));
    };
    // Shown with `--nocapture`: the figures the closing notes and the runbook quote.
    eprintln!("smoke {:?}: peak {} MiB", c.get_args().collect::<Vec<_>>(), peak_kib / 1024);
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&e.join().unwrap()).into_owned(),
    };
    (run, peak_kib / 1024)
}

#[test]
fn a_step_path_that_would_leave_the_target_is_refused_before_anything_is_sent() {
    let target = Hostile::start(|_| Reply::json(200, "{}"));
    let elsewhere = Hostile::start(|_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let other = format!("127.0.0.1:{}", elsewhere.port);
    let plan = plan_file(
        dir.path(),
        vec![],
        vec![
            scenario("absolute", "GET", &format!("/http://{other}/steal"), 200),
            scenario("authority", "GET", &format!("//{other}/steal"), 200),
            scenario("backslash", "GET", &format!("/\\\\{other}/steal"), 200),
            scenario("climb", "GET", "/api/../../admin", 200),
            scenario("parameter", "GET", "/..;/admin", 200),
            scenario("encoded", "GET", "/%2e%2e%2fadmin", 200),
            json!({
                "id": "host-header", "endpoint": "GET /x", "kind": "happy-path",
                "steps": [{"request": {"method": "GET", "path": "/x", "headers": [{"name": "Host", "value": other}]},
                           "expect": {"status": [200]}}]
            }),
        ],
    );
    let r = support::run(run_plan(dir.path(), &plan, &format!("{}/api", target.url), &[]));
    assert_eq!(r.code, 4, "{r}");
    for id in ["absolute", "authority", "backslash", "climb", "parameter", "encoded", "host-header"] {
        assert!(r.stderr.contains(&format!("scenario \"{id}\", step 1")), "{id} is named: {r}");
    }
    assert!(r.stderr.contains("must stay on the base URL"), "{r}");
    assert!(target.seen().is_empty() && elsewhere.seen().is_empty(), "nothing was sent anywhere");
}

#[test]
fn a_document_served_by_the_service_cannot_send_the_token_elsewhere() {
    let elsewhere = Hostile::start(|_| Reply::json(200, "{}"));
    let steal = format!("/http://127.0.0.1:{}/steal", elsewhere.port);
    let document = json!({
        "openapi": "3.0.3", "info": {"title": "hostile", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {steal: {"get": {"responses": {"200": {"description": "ok"}}}}}
    })
    .to_string();
    let target = Hostile::start(move |seen| match seen.target.as_str() {
        "/openapi.json" => Reply::json(200, &document),
        _ => Reply::json(200, "{}"),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("openapi"));
    c.args(["--plugin-config", &format!("spec={}/openapi.json", target.url)]);
    c.args(["--plugin-config", "auth=Authorization: Bearer tok-never-elsewhere"]);
    c.args(["--base-url", &target.url]);
    let r = support::run(c);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("must stay on the base URL"), "{r}");
    assert!(elsewhere.seen().is_empty(), "the other host got nothing");
    assert!(target.seen().iter().all(|s| s.target == "/openapi.json"), "only the document was fetched");
    assert!(!r.to_string().contains("tok-never-elsewhere"), "{r}");
}

#[test]
fn a_colon_in_the_first_segment_keeps_the_base_path() {
    let target = Hostile::start(|seen| match seen.target.as_str() {
        "/api/users:search" => Reply::json(200, "{}"),
        _ => Reply::json(404, "{}"),
    });
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path(), vec![], vec![scenario("search", "GET", "/users:search", 200)]);
    let r = support::run(run_plan(dir.path(), &plan, &format!("{}/api", target.url), &[]));
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(target.seen()[0].target, "/api/users:search");
}

#[test]
fn base_url_credentials_are_sent_and_never_shown_in_any_encoding() {
    use base64::Engine as _;
    let password = "pa ss/w0rd+secret";
    let b64 = &base64::engine::general_purpose::STANDARD;
    // The service leaks what it received into a failing response, in several encodings.
    let target = Hostile::start(move |seen| {
        let auth = seen.header("authorization").unwrap_or("").to_string();
        let decoded = auth
            .strip_prefix("Basic ")
            .and_then(|t| b64.decode(t).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let pass = decoded.split_once(':').map(|(_, p)| p.to_string()).unwrap_or_default();
        let body = json!({
            "plain": pass, "header": auth,
            "percent": percent_encoding::utf8_percent_encode(&pass, percent_encoding::NON_ALPHANUMERIC).to_string(),
            "base64": b64.encode(&pass), "escaped": format!("{pass}\"\n"),
        });
        Reply::json(500, &body.to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path(), vec![], vec![scenario("leaky", "GET", "/x", 200)]);
    let encoded =
        percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC).to_string();
    let base = format!("http://ann:{encoded}@127.0.0.1:{}/", target.port);
    let r = support::run(run_plan(dir.path(), &plan, &base, &[]));
    assert_eq!(r.code, 1, "{r}");
    let sent = target.seen()[0].header("authorization").unwrap().to_string();
    assert_eq!(
        sent,
        format!("Basic {}", b64.encode(format!("ann:{password}"))),
        "user info became basic auth"
    );
    let forms = [
        password.to_string(),
        encoded.clone(),
        b64.encode(password),
        b64.encode(format!("ann:{password}")),
        serde_json::to_string(password).unwrap().trim_matches('"').to_string(),
    ];
    for (place, text) in support::everything_written(&[&r], &[dir.path().join("run")]) {
        for form in &forms {
            assert!(!text.contains(form.as_str()), "{place} holds {form:?}");
        }
    }
    assert!(r.stdout.contains("[REDACTED]"), "the leak is shown redacted: {r}");
}

#[test]
fn smoke_plan_prints_a_reference_where_a_plugin_put_a_secret() {
    let document = json!({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {"/things": {"get": {"responses": {"200": {"description": "ok"}, "401": {"description": "no"}}}}}
    })
    .to_string();
    let target = Hostile::start(move |seen| match (seen.target.as_str(), seen.header("x-auth-token")) {
        ("/openapi.json", _) => Reply::json(200, &document),
        (_, Some("tok-plan-secret-42")) => Reply::json(200, r#"{"echo": "tok-plan-secret-42"}"#),
        _ => Reply::json(401, "{}"),
    });
    let dir = tempfile::tempdir().unwrap();
    let args = |c: &mut Command| {
        c.arg("--plugin").arg(plugin("openapi"));
        c.args(["--plugin-config", &format!("spec={}/openapi.json", target.url)]);
        // A header no one marks sensitive: only the secret's value part identifies it.
        c.args(["--plugin-config", "auth=X-Auth-Token: tok-plan-secret-42"]);
    };
    let mut c = smoke(dir.path());
    c.arg("plan");
    args(&mut c);
    let planned = support::run(c);
    assert_eq!(planned.code, 0, "{planned}");
    assert!(!planned.to_string().contains("tok-plan-secret-42"), "{planned}");
    assert!(planned.stdout.contains("{{config.auth.value}}"), "{planned}");
    // The reference is resolved when the request is sent: the service gets the real token.
    let mut c = smoke(dir.path());
    c.arg("run").args(["--base-url", &target.url, "-v"]);
    args(&mut c);
    support::every_report(&mut c, &dir.path().join("run"));
    let r = support::run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(target.seen().iter().any(|s| s.header("x-auth-token") == Some("tok-plan-secret-42")));
    for (place, text) in support::everything_written(&[&r], &[dir.path().join("run")]) {
        assert!(!text.contains("tok-plan-secret-42"), "{place} holds the token");
    }
}

#[test]
fn control_characters_from_a_service_or_plan_reach_neither_the_terminal_nor_the_xml() {
    for tls in [false, true] {
        let target = Hostile::start_tls(tls, |_| Reply::Send {
            status: 200,
            content_type: "text/plain",
            body: b"\x1b]0;pwned\x07\r\x1b[2KPASS  everything (0 ms)\x00\x08\xc2\x9b31m".to_vec(),
        });
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_file(dir.path(), vec![], vec![scenario("esc\u{1b}[31mape", "GET", "/x", 201)]);
        let mut extra = vec!["--no-progress".to_string()];
        extra.extend(target.trust(dir.path()));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        assert_eq!(r.code, 1, "{r}");
        for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            let raw: Vec<char> = text.chars().filter(|c| c.is_control() && *c != '\n').collect();
            assert!(raw.is_empty(), "{stream} holds raw control characters {raw:?}:\n{text}");
        }
        assert!(r.stdout.contains("\\x1b]0;pwned"), "shown escaped: {r}");
        let xml = std::fs::read_to_string(dir.path().join("run/r.xml")).unwrap();
        let mut reader = quick_xml::Reader::from_str(&xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("the JUnit file is not well-formed XML: {e}\n{xml}"),
            }
        }
        let lint = Command::new("xmllint").arg("--noout").arg(dir.path().join("run/r.xml")).output();
        let lint = lint.expect("xmllint is installed by `make test`");
        assert!(lint.status.success(), "xmllint: {}", String::from_utf8_lossy(&lint.stderr));
    }
}

#[test]
fn huge_and_endless_bodies_fail_their_step_with_memory_and_reports_bounded() {
    for tls in [false, true] {
        let target = Hostile::start_tls(tls, |seen| match seen.target.as_str() {
            "/huge" => Reply::Flood { bytes: 200_000_000, chunked: false },
            "/endless" => Reply::Flood { bytes: u64::MAX, chunked: true },
            "/big-but-allowed" => Reply::Flood { bytes: 2_000_000, chunked: true },
            _ => Reply::json(404, "{}"),
        });
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_file(
            dir.path(),
            vec![],
            vec![
                scenario("huge", "GET", "/huge", 200),
                scenario("endless", "GET", "/endless", 200),
                scenario("allowed", "GET", "/big-but-allowed", 200),
            ],
        );
        let started = Instant::now();
        let trust = target.trust(dir.path());
        let trust: Vec<&str> = trust.iter().map(String::as_str).collect();
        let (r, peak_mib) = run_measured(run_plan(dir.path(), &plan, &target.url, &trust));
        assert_eq!(r.code, 1, "{r}");
        assert!(started.elapsed() < Duration::from_secs(60), "bounded in time");
        let report = read_report(dir.path());
        for id in ["huge", "endless"] {
            let s = find(&report, id);
            assert_eq!(s["failure"]["kind"], "body-too-large", "{s}");
            assert_eq!(s["steps"][0]["response"]["truncated"], true, "{s}");
        }
        assert_eq!(find(&report, "huge")["steps"][0]["response"]["body_bytes"], 200_000_000);
        assert_eq!(find(&report, "allowed")["outcome"], "passed");
        let allowed = &find(&report, "allowed")["steps"][0]["response"];
        assert_eq!(
            (allowed["truncated"].clone(), allowed["body_bytes"].clone()),
            (json!(true), json!(2_000_000))
        );
        let size = std::fs::metadata(dir.path().join("run/report.json")).unwrap().len();
        assert!(size < 1 << 20, "report.json is {size} bytes");
        assert!(peak_mib < 150, "peak memory {peak_mib} MiB");

        // The limit is the user's to set.
        let small = tempfile::tempdir().unwrap();
        let plan = plan_file(small.path(), vec![], vec![scenario("allowed", "GET", "/big-but-allowed", 200)]);
        let mut limited = vec!["--max-body", "1MiB"];
        limited.extend(trust.iter().copied());
        let r = support::run(run_plan(small.path(), &plan, &target.url, &limited));
        assert_eq!(r.code, 1, "{r}");
        assert!(r.stdout.contains("over the limit of 1048576 bytes"), "{r}");
    }
}

#[test]
fn a_service_that_prints_garbage_and_daemonizes_is_neither_killed_nor_left_running() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("daemons.pid");
    let service = root().join("tests/tools/hostile_service.py");
    let config = dir.path().join("smoke.toml");
    std::fs::write(
        &config,
        format!(
            "[target]\ncommand = \"python3\"\nargs = [{:?}, \"--garbage\", \"--daemonize\", {:?}]\n\
             startup-timeout = \"20s\"\nstop-grace = \"1s\"\n",
            service.display().to_string(),
            pids.display().to_string()
        ),
    )
    .unwrap();
    let plan = plan_file(
        dir.path(),
        vec![],
        (0..20).map(|i| scenario(&format!("s{i}"), "GET", "/x", 200)).collect(),
    );
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config).arg("--plan").arg(&plan);
    c.arg("--artifacts").arg(dir.path().join("run"));
    let r = support::run(c);
    assert_eq!(r.code, 0, "the service was not killed by a closed pipe: {r}");
    let log = std::fs::read(dir.path().join("run/service.log")).unwrap();
    assert!(log.windows(2).any(|w| w == b"\xff\xfe"), "the log has every byte");
    assert!(log.len() > 2 << 20, "the 2 MB line is in the log");
    let daemons: Vec<u32> =
        std::fs::read_to_string(&pids).unwrap().lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(daemons.len(), 2);
    let left = support::wait_gone(&daemons, Duration::from_secs(5));
    assert!(left.is_empty(), "daemons {left:?} outlived the run");
}

#[test]
fn a_plugin_that_is_not_a_regular_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plugin.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for path in [PathBuf::from("/dev/zero"), fifo, dir.path().to_path_buf()] {
        let started = Instant::now();
        let mut c = smoke(dir.path());
        c.arg("plan").arg("--plugin").arg(&path);
        let (r, peak_mib) = run_measured(c);
        assert_eq!(r.code, 4, "{}: {r}", path.display());
        assert!(r.stderr.contains("a plugin is a .wasm component file"), "{r}");
        assert!(started.elapsed() < Duration::from_secs(10) && peak_mib < 100, "{peak_mib} MiB");
    }
}

#[test]
fn a_server_closing_kept_alive_connections_costs_no_idempotent_request_and_never_repeats_a_post() {
    for tls in [false, true] {
        // Each connection answers its first request; a second request on it is read and the
        // connection closed without a byte, as a server with a short keep-alive timeout does.
        let target = Hostile::start_tls(tls, |seen| match seen.nth_on_connection {
            1 => Reply::json(200, "{}"),
            _ => Reply::Close,
        });
        let dir = tempfile::tempdir().unwrap();
        let mut scenarios: Vec<Value> =
            (0..40).map(|i| scenario(&format!("get{i}"), "GET", "/x", 200)).collect();
        scenarios.push(json!({
            "id": "post", "endpoint": "POST /x", "kind": "happy-path", "depends_on": ["get39"],
            "steps": [{"request": {"method": "POST", "path": "/x"}, "expect": {"status": [200]}}]
        }));
        let plan = plan_file(dir.path(), vec![], scenarios);
        let mut extra = vec!["--jobs".to_string(), "1".to_string()];
        extra.extend(target.trust(dir.path()));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        let report = read_report(dir.path());
        let gets_passed =
            (0..40).filter(|i| find(&report, &format!("get{i}"))["outcome"] == "passed").count();
        assert_eq!(gets_passed, 40, "every GET passes: {r}");
        let transcript = std::fs::read_to_string(dir.path().join("run/t.jsonl")).unwrap();
        let retried = transcript.lines().filter(|l| l.contains("\"retried\"")).count();
        assert!(retried >= 1, "the transcript shows the retries:\n{transcript}");
        // A POST that may have reached the server is never sent twice.
        let posts = target.seen().iter().filter(|s| s.method == "POST").count();
        assert_eq!(posts, 1);
        let post = find(&report, "post");
        if post["outcome"] == "failed" {
            assert_eq!(post["failure"]["kind"], "reset", "{post}");
            assert_eq!(r.code, 1);
        }
    }
}

#[test]
fn absurd_shards_and_giant_reverse_chains_neither_abort_nor_overflow() {
    let target = Hostile::start(|_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    // 100,000 scenarios, each depending on the next one listed: a chain in reverse order.
    let n = 100_000;
    let scenarios: Vec<Value> = (0..n)
        .map(|i| {
            let mut s = scenario(&format!("s{i}"), "GET", "/x", 200);
            if i + 1 < n {
                s["depends_on"] = json!([format!("s{}", i + 1)]);
            }
            s
        })
        .collect();
    let plan = plan_file(dir.path(), vec![], scenarios);
    let started = Instant::now();
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &["--filter", &format!("s{}", n - 1)]));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("1 passed, 0 failed, 0 skipped"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(60), "validation and selection are linear");

    let r = support::run(run_plan(dir.path(), &plan, &target.url, &["--shard", "1/99999999999999"]));
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("at most 10000 shards"), "{r}");
}

#[test]
fn a_closed_stdout_does_not_stop_the_run_or_its_reports() {
    let target = Hostile::start(|_| Reply::json(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(
        dir.path(),
        vec![],
        (0..50).map(|i| scenario(&format!("s{i}"), "GET", "/x", 200)).collect(),
    );
    let mut c = run_plan(dir.path(), &plan, &target.url, &["--jobs", "1"]);
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // `| head -1`: read one line, then close the pipe.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "exit by the verdicts, not a panic (101)");
    let report = read_report(dir.path());
    assert_eq!(report["summary"]["passed"], 50);
}

#[test]
fn reports_are_written_when_the_target_or_seeding_fails() {
    // The service never becomes healthy: exit 3, and report.json and the JUnit file say so.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("smoke.toml");
    let service = root().join("tests/tools/hostile_service.py");
    std::fs::write(
        &config,
        format!(
            "[target]\ncommand = \"python3\"\nargs = [{:?}, \"--never-healthy\"]\nstartup-timeout = \"1s\"\nstop-grace = \"1s\"\n",
            service.display().to_string()
        ),
    )
    .unwrap();
    let plan = plan_file(dir.path(), vec![], vec![scenario("s", "GET", "/x", 200)]);
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config).arg("--plan").arg(&plan);
    support::every_report(&mut c, &dir.path().join("run"));
    let r = support::run(c);
    assert_eq!(r.code, 3, "{r}");
    let report = read_report(dir.path());
    assert_eq!(report["stage_failure"]["stage"], "target", "{report}");
    assert_eq!(find(&report, "s")["failure"]["kind"], "target-failed");
    assert!(dir.path().join("run/r.xml").is_file() && dir.path().join("run/r.html").is_file());

    // A seed the service refuses: exit 5, and the reports say seeding failed.
    let target = Hostile::start(|_| Reply::json(500, "{}"));
    let seeded = tempfile::tempdir().unwrap();
    let seed = json!({"id": "account", "step": {"request": {"method": "POST", "path": "/accounts"}, "expect": {"status": [201]}}});
    let plan = plan_file(seeded.path(), vec![seed], vec![scenario("s", "GET", "/x", 200)]);
    let r = support::run(run_plan(seeded.path(), &plan, &target.url, &[]));
    assert_eq!(r.code, 5, "{r}");
    let report = read_report(seeded.path());
    assert_eq!(report["stage_failure"]["stage"], "seeding", "{report}");
    assert_eq!(find(&report, "s")["failure"]["kind"], "seed-failed");
    assert!(seeded.path().join("run/r.xml").is_file());
}

#[test]
fn a_base_url_where_nothing_listens_is_one_failure_of_the_run_with_exit_3_and_reports() {
    // A port nothing listens on: taken from the OS, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let scenarios: Vec<Value> = (0..20).map(|i| scenario(&format!("s{i}"), "GET", "/x", 200)).collect();
    let plan = plan_file(dir.path(), vec![], scenarios);
    let r = support::run(run_plan(dir.path(), &plan, &url, &[]));
    assert_eq!(r.code, 3, "the target is down, not the tests failed:\n{r}");
    assert!(r.stderr.contains(&format!("nothing accepts a connection at {url}/")), "{r}");
    assert!(r.stderr.contains("No scenario was sent"), "{r}");
    // One failure, not one block a scenario.
    assert!(!r.stdout.contains("FAIL ") && !r.stdout.contains("Failures:"), "{r}");
    assert!(r.to_string().lines().count() < 12, "a down target is said in a few lines:\n{r}");
    let report = read_report(dir.path());
    assert_eq!(report["stage_failure"]["stage"], "target", "{report}");
    assert_eq!(find(&report, "s0")["failure"]["kind"], "target-failed", "{report}");
    assert_eq!(report["triage"], json!([]), "no triage points at a log that does not exist");
    for file in ["r.xml", "r.html", "t.jsonl"] {
        assert!(dir.path().join("run").join(file).is_file(), "{file} is written");
    }
}

#[test]
fn plans_with_unknown_fields_or_impossible_values_are_refused_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    let mut typo = scenario("typo", "GET", "/x", 200);
    typo["steps"][0]["timeout_msec"] = json!(100);
    let plan = plan_file(dir.path(), vec![], vec![typo]);
    let r = support::run(run_plan(dir.path(), &plan, "http://127.0.0.1:9", &[]));
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("unknown field `timeout_msec`") && r.stderr.contains("plan.json:1:"), "{r}");

    let mut bad = scenario("bad", "GET", "/x", 700);
    bad["steps"][0]["timeout_ms"] = json!(0);
    bad["steps"][0]["expect"]["body"] = json!([{"pointer": "id", "test": "exists"}]);
    let plan = plan_file(dir.path(), vec![], vec![bad]);
    let r = support::run(run_plan(dir.path(), &plan, "http://127.0.0.1:9", &[]));
    assert_eq!(r.code, 4, "{r}");
    for expected in ["status 700 does not exist", "timeout_ms is 0", "\"id\" is not a JSON pointer"] {
        assert!(r.stderr.contains(expected), "{expected}: {r}");
    }
    assert!(r.stderr.contains("scenario \"bad\", step 1"), "{r}");
}

#[test]
fn a_plugin_for_a_newer_wit_patch_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("plan").arg("--plugin").arg(plugin("newer-patch-wit"));
    let r = support::run(c);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("smoke:plugin@0.1.1") && r.stderr.contains("smoke:plugin@0.1.0"), "{r}");
    assert!(r.stderr.contains("newer"), "{r}");
}

#[test]
fn plugin_gc_spares_a_download_in_progress_and_removes_an_abandoned_one() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("registry/blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let fresh = blobs.join(".download-fresh");
    let stale = blobs.join(".download-stale");
    std::fs::write(&fresh, b"partial").unwrap();
    std::fs::write(&stale, b"partial").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(two_hours_ago).unwrap();
    let mut c = smoke(dir.path());
    c.args(["plugin", "gc"]);
    let r = support::run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(fresh.is_file(), "another process's download in progress is kept: {r}");
    assert!(!stale.exists(), "an abandoned download is removed: {r}");
}

#[test]
fn numbers_beyond_64_bits_are_json_and_compare_exactly() {
    let target = Hostile::start(|_| {
        Reply::json(200, r#"{"huge": 1e400, "big": 18446744073709551617, "small": 1.50}"#)
    });
    let dir = tempfile::tempdir().unwrap();
    let step = |id: &str, body: Value| {
        let mut s = scenario(id, "GET", "/x", 200);
        s["steps"][0]["expect"]["body"] = body;
        s
    };
    let plan = plan_file(
        dir.path(),
        vec![],
        vec![
            step(
                "readable",
                json!([{"pointer": "/huge", "test": "exists"}, {"pointer": "/small", "test": "equals", "value": 1.5}]),
            ),
            step(
                "near-miss",
                json!([{"pointer": "/big", "test": "equals", "value": 18446744073709551615u64}]),
            ),
        ],
    );
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &[]));
    assert_eq!(r.code, 1, "{r}");
    let report = read_report(dir.path());
    assert_eq!(find(&report, "readable")["outcome"], "passed", "1e400 is JSON: {r}");
    let miss = find(&report, "near-miss");
    assert_eq!(miss["failure"]["kind"], "assertion", "{miss}");
    assert!(
        miss["reason"].as_str().unwrap().contains("is 18446744073709551617, expected 18446744073709551615"),
        "{miss}"
    );

    // An expected number no value can hold exactly is refused, not rounded.
    let text = r#"{"scenarios": [{"id": "inexact", "endpoint": "GET /x", "kind": "happy-path", "steps": [{"request": {"method": "GET", "path": "/x"}, "expect": {"status": [200], "body": [{"pointer": "/big", "test": "equals", "value": 18446744073709551617}]}}]}]}"#;
    std::fs::write(dir.path().join("inexact.json"), text).unwrap();
    let r = support::run(run_plan(dir.path(), &dir.path().join("inexact.json"), &target.url, &[]));
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("18446744073709551617 cannot be held exactly"), "{r}");
    assert!(target.seen().len() == 2, "the refused plan sent nothing");
}

#[test]
fn a_body_nested_a_hundred_thousand_deep_fails_its_step_without_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let target = Hostile::start(move |_| Reply::json(200, &deep));
    let dir = tempfile::tempdir().unwrap();
    let mut s = scenario("deep", "GET", "/x", 200);
    s["steps"][0]["expect"]["body"] = json!([{"pointer": "/0", "test": "exists"}]);
    let plan = plan_file(dir.path(), vec![], vec![s, scenario("after", "GET", "/y", 200)]);
    let r = support::run(run_plan(dir.path(), &plan, &target.url, &[]));
    assert_eq!(r.code, 1, "{r}");
    let report = read_report(dir.path());
    let deep = find(&report, "deep");
    assert_eq!(deep["failure"]["kind"], "assertion", "{deep}");
    assert!(deep["reason"].as_str().unwrap().contains("nested deeper than 128"), "{deep}");
    assert_eq!(find(&report, "after")["outcome"], "passed");
}

/// Scenarios tagged `skip:REASON` are reported skipped as planned, whatever their order in the
/// plan, and so are those depending on them; they do not fail a run in which something else
/// passed, but a run in which nothing ran does not pass.
#[test]
fn planned_skips_are_reported_with_their_reasons_and_a_run_of_only_skips_does_not_pass() {
    let shop = support::Example::start("shop-api", "");
    let dir = tempfile::tempdir().unwrap();
    let tagged = |id: &str, reason: &str, after: &[&str]| {
        let mut s = scenario(id, "GET", "/api/products", 200);
        s["tags"] = json!([format!("skip:{reason}")]);
        s["depends_on"] = json!(after);
        s
    };
    // `b` depends on `a` and comes first; `c` is untagged and depends on `a`.
    let mut c_scenario = scenario("c", "GET", "/api/products", 200);
    c_scenario["depends_on"] = json!(["a"]);
    let plan = plan_file(
        dir.path(),
        vec![],
        vec![
            tagged("b", "needs credentials", &["a"]),
            tagged("a", "needs a sandbox account", &[]),
            c_scenario,
            scenario("d", "GET", "/api/products", 200),
        ],
    );
    let r = support::run(run_plan(dir.path(), &plan, &shop.url, &[]));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("1 passed, 0 failed, 3 skipped (as planned: see the reasons)"), "{r}");
    let report = read_report(dir.path());
    for (id, reason) in [
        ("a", "skipped: needs a sandbox account"),
        ("b", "skipped: needs credentials"),
        ("c", "skipped: it depends on a, which was planned as skipped"),
    ] {
        let s = find(&report, id);
        assert_eq!(s["outcome"], "skipped", "{s}");
        assert_eq!(s["failure"]["kind"], "planned-skip", "{s}");
        assert_eq!(s["reason"], reason, "{s}");
    }
    // Nothing but planned skips: nothing was tested, and the run says so and does not pass.
    let only = plan_file(dir.path(), vec![], vec![tagged("a", "needs credentials", &[])]);
    let r = support::run(run_plan(dir.path(), &only, &shop.url, &[]));
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("nothing ran, so nothing was tested"), "{r}");
}

#[test]
fn responses_framed_every_way_http_allows_are_read_whole_and_malformed_ones_fail_their_step() {
    for tls in [false, true] {
        // Each path answers one way; `--jobs 1`, so a connection is reused where the answer allows.
        let target = Hostile::start_tls(tls, |seen| {
            let raw = |text: &str, close: bool| Reply::Raw { bytes: text.as_bytes().to_vec(), close };
            match seen.target.as_str() {
                "/chunked" => raw(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                     7;ext=1\r\n{\"id\": \r\n6\r\n\"c-42\"\r\n1\r\n}\r\n0\r\nx-trailer: yes\r\n\r\n",
                    false,
                ),
                "/informational" => raw(
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n\
                     HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"id\": \"i\"}",
                    false,
                ),
                "/head" => raw("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n", false),
                "/empty" => raw("HTTP/1.1 204 No Content\r\ncontent-length: 3\r\n\r\n", false),
                "/until-close" => {
                    raw("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"id\": \"u\"}", true)
                }
                "/bad-chunk" => raw("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", true),
                "/two-lengths" => {
                    raw("HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab", true)
                }
                "/garbage" => raw("SMTP ready\r\n\r\n", true),
                "/cut" => raw("HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{\"id\"", true),
                _ => Reply::json(200, r#"{"id": "plain"}"#),
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let with_id = |id: &str, method: &str, path: &str, status: u16, value: Option<&str>| {
            let mut s = scenario(id, method, path, status);
            if let Some(v) = value {
                s["steps"][0]["expect"]["body"] = json!([{"pointer": "/id", "test": "equals", "value": v}]);
            }
            s
        };
        let scenarios = vec![
            with_id("chunked", "GET", "/chunked", 200, Some("c-42")),
            with_id("after-chunked", "GET", "/plain", 200, Some("plain")),
            with_id("informational", "GET", "/informational", 200, Some("i")),
            with_id("head", "HEAD", "/head", 200, None),
            with_id("after-head", "GET", "/plain", 200, Some("plain")),
            with_id("empty", "GET", "/empty", 204, None),
            with_id("until-close", "GET", "/until-close", 200, Some("u")),
            with_id("bad-chunk", "GET", "/bad-chunk", 200, None),
            with_id("two-lengths", "GET", "/two-lengths", 200, None),
            with_id("garbage", "GET", "/garbage", 200, None),
            with_id("cut", "GET", "/cut", 200, None),
        ];
        let plan = plan_file(dir.path(), vec![], scenarios);
        let mut extra = vec!["--jobs".to_string(), "1".to_string()];
        extra.extend(target.trust(dir.path()));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = support::run(run_plan(dir.path(), &plan, &target.url, &extra));
        assert_eq!(r.code, 1, "{r}");
        let report = read_report(dir.path());
        for id in ["chunked", "after-chunked", "informational", "head", "after-head", "empty", "until-close"]
        {
            assert_eq!(find(&report, id)["outcome"], "passed", "{id}: {}", find(&report, id));
        }
        for (id, says) in [
            ("bad-chunk", "invalid chunk size"),
            ("two-lengths", "two different content-lengths"),
            ("garbage", "invalid response"),
            ("cut", "connection closed before message completed"),
        ] {
            let s = find(&report, id);
            assert_eq!(
                (s["outcome"].as_str(), s["failure"]["kind"].as_str()),
                (Some("failed"), Some("http")),
                "{id}: {s}"
            );
            assert!(s["reason"].as_str().unwrap().contains(says), "{id}: {s}");
        }
        // The connection that carried the chunked body, the 1xx answers and the HEAD carried the
        // next request too: each was read to its exact end.
        let seen = target.seen();
        let nth =
            |path: &str| seen.iter().filter(|s| s.target == path).map(|s| s.nth_on_connection).max().unwrap();
        assert!(nth("/plain") >= 3, "{seen:?}");
        assert!(nth("/head") >= 3 && nth("/informational") >= 2, "{seen:?}");
    }
}
