//! `smoke dev`, the author's loop, with the real binary on projects made by `smoke plugin new` in
//! each language (the SDK packages of dist/): it starts the service of the ledger example once,
//! prints a verdict at start, a failing one after an edit that breaks a scenario and a passing one
//! after the edit that fixes it, and a Ctrl-C leaves no process it started (the service
//! included). TypeScript: a typo fails the build with tsc's message, and a throw in `check` is a
//! plugin fault at its line in plugin.ts.

use crate::support::{alive, root, wait_gone};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `smoke dev` running in the background, its output collected line by line.
struct Dev {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    _cache: tempfile::TempDir,
}

impl Dev {
    fn start(project: &Path) -> Dev {
        let cache = tempfile::tempdir().unwrap();
        let mut c = crate::support::smoke(cache.path());
        c.arg("dev").arg(project).arg("--config").arg(root().join("examples/ledger-api/smoke.toml"));
        // Rust scaffolds share the SDK's compiled dependencies with the other scaffold tests.
        c.env("CARGO_TARGET_DIR", root().join("target/scaffold"));
        Dev::spawn(c, cache)
    }

    /// Run `c` (a `smoke dev` command line) in the background, collecting what it says.
    fn spawn(mut c: std::process::Command, cache: tempfile::TempDir) -> Dev {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let (stdout, stderr): (Arc<Mutex<String>>, Arc<Mutex<String>>) = Default::default();
        for (stream, sink) in [
            (Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, stdout.clone()),
            (Box::new(child.stderr.take().unwrap()), stderr.clone()),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        Dev { child, stdout, stderr, _cache: cache }
    }

    fn said(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout.lock().unwrap(), self.stderr.lock().unwrap())
    }

    /// The verdict line of iteration `n` (`[n] ...`) and the lines after it, once it is printed.
    fn verdict(&mut self, n: u32, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let head = format!("[{n}] ");
        loop {
            let out = self.stdout.lock().unwrap().clone();
            if let Some(at) = out.find(&head) {
                // The detail lines are printed right after the verdict: give them a moment.
                std::thread::sleep(Duration::from_millis(300));
                let out = self.stdout.lock().unwrap().clone();
                let rest = &out[at..];
                let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
                return rest[..end].to_string();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("smoke dev exited ({status}) before verdict {n}:\n{}", self.said());
            }
            assert!(Instant::now() < deadline, "no verdict {n} within {within:?}:\n{}", self.said());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ctrl-C: the exit code, after checking that every process it had started is gone.
    fn interrupt(mut self) -> i32 {
        let started = descendants(self.child.id());
        assert!(!started.is_empty(), "smoke dev runs the service, a process of its own:\n{}", self.said());
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "smoke dev did not stop within 30 s of SIGINT:\n{}",
                self.said()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let left = wait_gone(&started, Duration::from_secs(5));
        assert!(left.is_empty(), "processes smoke dev started outlived it: {left:?}:\n{}", self.said());
        assert!(
            self.stderr.lock().unwrap().contains("nothing it started is left running"),
            "{}",
            self.said()
        );
        status.code().unwrap_or(-1)
    }
}

/// Every living process descended from `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let child: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let parent = stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()?;
            Some((child, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, parent)| *parent == p).map(|(c, _)| *c));
        i += 1;
    }
    found.into_iter().skip(1).filter(|&p| alive(p)).collect()
}

/// A project made by `smoke plugin new` for `lang`, with the SDK packages of dist/.
fn scaffold(lang: &str, dir: &Path) -> PathBuf {
    let project = dir.join("demo");
    let mut c = crate::support::smoke(dir);
    c.args(["plugin", "new", &format!("demo-{lang}"), "--lang", lang, "--sdk-from"])
        .arg(root().join("dist"))
        .arg("--dir")
        .arg(&project);
    let r = crate::support::run(c);
    assert_eq!(r.code, 0, "{r}");
    project
}

/// Replace `from` with `to` in the project's `file`, which must hold it.
fn edit(project: &Path, file: &str, from: &str, to: &str) {
    let path = project.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} holds no {from:?}:\n{text}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The loop every language shares: a pass at start, a failure after `broken`, a pass after the
/// fix. Returns the session, still running, for more.
fn break_and_fix(lang: &str, project: &Path, file: &str, ok: &str, broken: &str) -> Dev {
    let mut dev = Dev::start(project);
    // The first verdict waits for the SDK's environment (npm install, a venv) and the runner.
    let first = dev.verdict(1, Duration::from_secs(900));
    assert!(first.contains("PASS: 2 passed, 0 failed"), "{lang}: {first}\n{}", dev.said());
    edit(project, file, ok, broken);
    let second = dev.verdict(2, Duration::from_secs(120));
    assert!(second.contains(&format!("] {file}: FAIL: 1 passed, 1 failed")), "{lang}: {second}");
    assert!(
        second.contains(&format!(
            "FAIL demo-{lang}.health (step 1 GET /health): assertion: \"/status\" is \"ok\", expected \"okay\""
        )),
        "{lang}: the failing step's detail: {second}"
    );
    edit(project, file, broken, ok);
    let third = dev.verdict(3, Duration::from_secs(120));
    assert!(third.contains(&format!("] {file}: PASS: 2 passed, 0 failed")), "{lang}: {third}");
    dev
}

#[test]
fn smoke_dev_on_a_rust_project_fails_after_a_breaking_edit_passes_after_the_fix_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let project = scaffold("rust", dir.path());
    let dev = break_and_fix("rust", &project, "src/lib.rs", r#""/status", "ok""#, r#""/status", "okay""#);
    assert_eq!(dev.interrupt(), 130);
}

#[test]
fn smoke_dev_on_a_python_project_fails_after_a_breaking_edit_passes_after_the_fix_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let project = scaffold("python", dir.path());
    let mut dev = break_and_fix("python", &project, "app.py", r#""/status", "ok""#, r#""/status", "okay""#);

    // The runner reads the project's code, and nothing else of it: a built component has no
    // files, so a check reading one fails here as it would there, as a fault at its line.
    // (pathlib is a module the runner lacks: it is built again, once, to hold it.)
    edit(
        &project,
        "app.py",
        "from smoke_plugin import ",
        "import pathlib\n\nfrom smoke_plugin import Verdict, ",
    );
    edit(
        &project,
        "app.py",
        r#"expect_eq("/status", "ok")"#,
        r#"expect_eq("/status", "ok").check({"rule": "x"})"#,
    );
    edit(
        &project,
        "app.py",
        "\n\nGuest = export(",
        "\n    def check(self, input):\n        \
         return Verdict.pass_(pathlib.Path(__file__).with_name(\"README.md\").read_text())  # reads a file\n\
         \n\nGuest = export(",
    );
    let line = 1 + std::fs::read_to_string(project.join("app.py"))
        .unwrap()
        .lines()
        .position(|l| l.contains("# reads a file"))
        .unwrap();
    let read = dev.verdict(4, Duration::from_secs(300));
    assert!(read.contains("plugin-fault: plugin demo-python: `check` raised PermissionError"), "{read}");
    assert!(read.contains(&format!("(at app.py:{line})")), "{read}");
    assert_eq!(dev.interrupt(), 130);
}

#[test]
fn smoke_dev_on_a_typescript_project_loops_type_checks_and_maps_a_throw_in_check_to_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let project = scaffold("js", dir.path());
    let mut dev = break_and_fix("js", &project, "plugin.ts", "'/status', 'ok'", "'/status', 'okay'");

    // A typo: the build fails with the compiler's message, and nothing runs.
    edit(&project, "plugin.ts", ".expectStatus(404)", ".expectStatuss(404)");
    let typo = dev.verdict(4, Duration::from_secs(120));
    assert!(typo.contains("plugin.ts: BUILD FAILED"), "{typo}");
    assert!(typo.contains("does not type-check (tsc)"), "{typo}");
    assert!(typo.contains("error TS2551: Property 'expectStatuss' does not exist on type 'Step'"), "{typo}");

    // A check that throws: a plugin fault, at its line in plugin.ts (through the source map).
    edit(&project, "plugin.ts", ".expectStatuss(404)", ".expectStatus(404).check({ rule: 'x' })");
    edit(
        &project,
        "plugin.ts",
        "export const guest = definePlugin({",
        "export const guest = definePlugin({\n  check: (input) => {\n    const rule = input.argument() as { rule: string };\n    \
         return (rule as unknown as { missing: { deeper: never } }).missing.deeper; // thrown here\n  },",
    );
    let line = 1 + std::fs::read_to_string(project.join("plugin.ts"))
        .unwrap()
        .lines()
        .position(|l| l.contains("// thrown here"))
        .unwrap();
    let fault = dev.verdict(5, Duration::from_secs(120));
    assert!(fault.contains("FAIL: 1 passed, 1 failed"), "{fault}");
    assert!(fault.contains("plugin-fault: plugin demo-js: `check` threw TypeError"), "{fault}");
    assert!(
        fault.contains(&format!("(at plugin.ts:{line}:")),
        "the source's line, not the bundle's: {fault}"
    );
    assert_eq!(dev.interrupt(), 130);
}

/// A first compile on a terminal says what it is doing and how long it took (an interpreter's
/// takes seconds); from the cache, or off a terminal, nothing is said on stderr.
#[test]
fn a_first_use_compile_on_a_terminal_prints_its_progress_line() {
    let cache = tempfile::tempdir().unwrap();
    let binary = std::env::var_os("SMOKE_UNDER_TEST").unwrap_or_else(|| env!("CARGO_BIN_EXE_smoke").into());
    let plugin = crate::support::plugin("ledger");
    let line = format!(
        "{} inspect {}",
        shlex::try_quote(binary.to_str().unwrap()).unwrap(),
        shlex::try_quote(plugin.to_str().unwrap()).unwrap()
    );
    // `script` runs the command on a pseudo-terminal, as a user's shell would.
    let on_terminal = || {
        let out = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("SMOKE_CACHE_DIR", cache.path())
            .output()
            .expect("script (util-linux) runs a command on a terminal");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = on_terminal();
    let shown = plugin.display().to_string();
    assert!(
        first.contains(&format!("smoke: compiling plugin {shown} ("))
            && first.contains("for this machine, once"),
        "{first}"
    );
    assert!(first.contains(&format!("smoke: compiled plugin {shown} in ")), "{first}");
    let again = on_terminal();
    assert!(!again.contains("compiling plugin"), "a cached plugin is not compiled again: {again}");
    assert!(again.contains("name:"), "{again}");

    let fresh = tempfile::tempdir().unwrap();
    let mut c = crate::support::smoke(fresh.path());
    c.arg("inspect").arg(&plugin);
    let r = crate::support::run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(!r.stderr.contains("compiling plugin"), "off a terminal, only the log says it: {r}");
}

#[test]
fn smoke_dev_on_a_plan_file_reruns_it_at_each_edit() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let mut c = crate::support::smoke(dir.path());
    c.arg("plan").arg("--plugin").arg(crate::support::language_plugin("python", "guide"));
    c.args(["--base-url", "http://127.0.0.1:9"]);
    let r = crate::support::run(c);
    assert_eq!(r.code, 0, "{r}");
    std::fs::write(&plan, &r.stdout).unwrap();

    let cache = tempfile::tempdir().unwrap();
    let mut c = crate::support::smoke(cache.path());
    c.arg("dev").arg("--plan").arg(&plan).arg("--config").arg(root().join("examples/ledger-api/smoke.toml"));
    let mut dev = Dev::spawn(c, cache);
    let first = dev.verdict(1, Duration::from_secs(120));
    assert!(first.contains("[1] start: PASS: 1 passed, 0 failed"), "{first}");
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains(r#""ok""#), "{text}");
    std::fs::write(&plan, text.replacen(r#""ok""#, r#""okay""#, 1)).unwrap();
    let second = dev.verdict(2, Duration::from_secs(60));
    assert!(second.contains("plan.json: FAIL: 0 passed, 1 failed"), "{second}");
    assert!(second.contains(r#"assertion: "/status" is "ok", expected "okay""#), "{second}");
    assert_eq!(dev.interrupt(), 130);
}

/// What a run records of each judged step (`--record-checks`) is what the SDK's testing module
/// replays: the Python plugin's own `check`, run natively on the recorded input, gives the
/// verdict it gave in the run.
#[test]
fn a_recorded_check_replays_in_the_sdk_to_the_verdict_of_the_run() {
    let ledger = crate::support::Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    let mut c = crate::support::smoke(crate::support::shared_cache());
    c.arg("--plugin").arg(crate::support::language_plugin("python", "misbehave"));
    c.args(["--plugin-config", "mode=echo-argument", "--base-url", &ledger.url, "--record-checks"])
        .arg(&fixtures);
    let r = crate::support::run(c);
    assert_eq!(r.code, 1, "the plugin fails the judged step on purpose: {r}");
    let fixture = fixtures.join("py-misbehave.judged.step1.json");
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    assert_eq!(recorded["format"], "smoke-check/1");
    assert_eq!(recorded["argument"], serde_json::json!({"mode": "echo-argument", "seen": "ok"}));
    assert_eq!(recorded["exchange"]["response"]["status"], 200);
    assert_eq!(recorded["verdict"]["pass"], false);

    let replay = "import sys\n\
                  from smoke_plugin.testing import recorded\n\
                  from misbehave import Misbehave\n\
                  input, then = recorded(sys.argv[1])\n\
                  now = Misbehave().check(input)\n\
                  assert now == then, (now, then)\n\
                  print('replayed:', now.reason)\n";
    let out = std::process::Command::new(root().join("target/sdk-python-venv/bin/python"))
        .args(["-c", replay])
        .arg(&fixture)
        .current_dir(root().join("tests/plugins/py-misbehave"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains(r#"replayed: argument {"mode":"echo-argument","seen":"ok"}"#), "{said}");
}

/// Between iterations the service's state is made again as the config makes it (the ledger
/// example resets its database before it starts, so smoke dev restarts it): the ledger plugin's
/// plan, which creates records with fixed ids, passes at every edit. With --keep-state the records
/// of the last iteration are still there, and creating them again is refused.
#[test]
fn smoke_dev_makes_the_services_state_again_between_iterations_unless_told_to_keep_it() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let mut c = crate::support::smoke(dir.path());
    c.args(["plan", "--config", "examples/ledger-api/smoke.toml"]);
    let r = crate::support::run(c);
    assert_eq!(r.code, 0, "{r}");
    std::fs::write(&plan, &r.stdout).unwrap();
    for keep in [false, true] {
        let cache = tempfile::tempdir().unwrap();
        let mut c = crate::support::smoke(cache.path());
        c.arg("dev").arg("--plan").arg(&plan).args(["--config", "examples/ledger-api/smoke.toml"]);
        if keep {
            c.arg("--keep-state");
        }
        let mut dev = Dev::spawn(c, cache);
        let first = dev.verdict(1, Duration::from_secs(120));
        assert!(first.contains("PASS: 33 passed, 0 failed"), "{first}\n{}", dev.said());
        // The same plan again, as an edit that changes nothing would.
        let text = std::fs::read_to_string(&plan).unwrap();
        std::fs::write(&plan, format!("{text}\n")).unwrap();
        let second = dev.verdict(2, Duration::from_secs(120));
        match keep {
            false => assert!(second.contains("PASS: 33 passed, 0 failed"), "{second}"),
            true => assert!(second.contains("status 409 is not an accepted status"), "{second}"),
        }
        assert_eq!(dev.interrupt(), 130);
    }
}

/// smoke dev's grant (the project folder, a bundle) goes to its runner, the run's one plugin:
/// a run that loads more is refused, granting nothing.
#[test]
fn the_dev_grant_is_refused_to_a_run_of_more_than_one_plugin() {
    let cache = tempfile::tempdir().unwrap();
    let mut c = crate::support::smoke(cache.path());
    c.arg("run").arg("--plugin").arg(crate::support::plugin("ledger"));
    c.arg("--plugin").arg(crate::support::language_plugin("python", "guide"));
    c.args(["--base-url", "http://127.0.0.1:9", "--dev-project"]).arg(root());
    let r = crate::support::run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("grant one plugin, its runner; this run loads 2"), "{r}");
}
