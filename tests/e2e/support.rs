//! Helpers for end-to-end tests: the real `smoke` binary, the real example service, real plugins.
//!
//! Artifacts come from `make build` and `make test-plugins` (run by `make test`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent").to_path_buf()
}

fn artifact(relative: &str) -> PathBuf {
    let path = root().join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `make test` (it builds the examples and plugins first)",
        path.display()
    );
    path
}

/// A plugin component built by the Makefile, by crate name (`guide-example` -> guide_example.wasm).
pub fn plugin(name: &str) -> PathBuf {
    artifact(&format!("target/wasm32-wasip2/release/{}.wasm", name.replace('-', "_")))
}

pub fn ledger_api() -> PathBuf {
    artifact("target/release/ledger-api")
}

/// An example service binary, by name.
pub fn example(name: &str) -> PathBuf {
    artifact(&format!("target/release/{name}"))
}

/// A `smoke` command run from the repository root with its own compiled-plugin cache: this
/// build's binary, or the one `SMOKE_UNDER_TEST` names (to hold another build to the same tests,
/// e.g. an earlier one, for a before-and-after).
pub fn smoke(cache: &Path) -> Command {
    let binary = std::env::var_os("SMOKE_UNDER_TEST").unwrap_or_else(|| env!("CARGO_BIN_EXE_smoke").into());
    let mut c = Command::new(binary);
    c.current_dir(root())
        .env("SMOKE_CACHE_DIR", cache)
        .env("SMOKE_STATE_DIR", cache.join("state"))
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("FAULTS");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

pub fn run(mut command: Command) -> Run {
    Run::of(command.output().expect("smoke runs"))
}

/// An example service started directly on a free port, for `--base-url` runs.
pub struct Example {
    child: Child,
    pub url: String,
    pub port: u16,
}

impl Example {
    /// Start the example binary `name` (`shop-api`...) with these fault switches.
    pub fn start(name: &str, faults: &str) -> Example {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        let child = Command::new(example(name))
            .args(["--port", &port.to_string()])
            .env("FAULTS", faults)
            .env_remove("LEDGER_TOKEN")
            .env_remove("CLINIC_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{name} did not listen on {port} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Example { child, url, port }
    }

    /// `GET path` over a fresh connection: the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path, &[])
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` from 127.0.0.1:`port` over a fresh connection, with extra headers: the status and
/// the body (the servers tests talk to send a Content-Length).
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, body.to_string())
}

/// The ledger example, the one most tests run against.
pub struct Ledger;

impl Ledger {
    pub fn start(faults: &str) -> Example {
        Example::start("ledger-api", faults)
    }
}

/// Assert that a JSON report matches docs/report-schema.json, naming every mismatch.
pub fn assert_valid_report(report: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs/report-schema.json")).unwrap())
            .unwrap();
    let validator =
        jsonschema::validator_for(&schema).expect("docs/report-schema.json is a valid JSON Schema");
    let problems: Vec<String> =
        validator.iter_errors(report).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(
        problems.is_empty(),
        "the report does not match docs/report-schema.json:\n{}",
        problems.join("\n")
    );
}

/// Whether a process is still running (not gone, not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
    }
}

/// Wait (bounded) until none of `pids` is alive; returns those still alive.
pub fn wait_gone(pids: &[u32], within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ask for every report and the transcript, written into `artifacts` beside the run's own files.
pub fn every_report(c: &mut Command, artifacts: &Path) {
    c.arg("--artifacts").arg(artifacts);
    for (flag, file) in [
        ("--report-json", "r.json"),
        ("--report-junit", "r.xml"),
        ("--report-html", "r.html"),
        ("--transcript", "t.jsonl"),
    ] {
        c.arg(flag).arg(artifacts.join(file));
    }
}

/// Every place a secret could leak to: the console of each run, and every file under `paths`
/// (files or directories, recursively), as (where, text).
pub fn everything_written(runs: &[&Run], paths: &[PathBuf]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        runs.iter().map(|r| ("the console".to_string(), r.to_string())).collect();
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = pending.pop() {
        if p.is_dir() {
            pending.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        } else if p.is_file() {
            out.push((
                p.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            ));
        }
    }
    out
}

/// A plugin written in Python or TypeScript, built by the Makefile into `target/<language>/`.
pub fn language_plugin(language: &str, name: &str) -> PathBuf {
    artifact(&format!("target/{language}/{name}.wasm"))
}

/// One compiled-plugin cache for the whole test process, for tests that run the same large
/// component many times (a Python or JavaScript plugin carries its interpreter: compiling one
/// takes seconds; each test compiling its own would take minutes). Compiling is still tested:
/// the first run of each plugin fills it.
pub fn shared_cache() -> &'static Path {
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| tempfile::tempdir().expect("a temporary directory")).path()
}

/// The first fenced block of `lang` in docs/plugin-guide.md: the minimal plugin the test suite
/// builds in that language.
pub fn guide_block(lang: &str) -> String {
    let guide = std::fs::read_to_string(root().join("docs/plugin-guide.md")).unwrap();
    let fence = format!("```{lang}\n");
    let start = guide.find(&fence).unwrap_or_else(|| panic!("the guide has a {lang} block")) + fence.len();
    guide[start..start + guide[start..].find("```").unwrap()].to_string()
}
