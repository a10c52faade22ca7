//! The release artifacts of `dist/` (`make dist-host`, which `make test` runs), used as a user
//! would: installed with install.sh from an HTTP server in a fresh HOME, with no smoke source
//! tree on any path smoke or a scaffold could find; the container image run with buildah; the
//! GitHub Action's steps run with the environment GitHub gives.

use crate::hostile::server::{Hostile, Reply};
use crate::languages::{Toolchain, scaffold_builds_tests_and_runs};
use crate::support::{Example, Run, root, run};
use std::path::{Path, PathBuf};
use std::process::Command;

fn dist() -> PathBuf {
    let dist = root().join("dist");
    assert!(
        dist.join("SHA256SUMS").is_file(),
        "dist/ is missing: run `make test` (it runs `make dist-host`)"
    );
    dist
}

/// This machine's architecture as release files name it.
fn arch() -> &'static str {
    std::env::consts::ARCH
}

/// An HTTP server of the files in dist/, as a release's download URL serves them; `tamper`
/// flips one byte of every archive it serves.
fn serve_dist(tamper: bool) -> Hostile {
    let dist = dist();
    Hostile::start(move |seen| {
        let name = seen.target.trim_start_matches('/');
        if name.is_empty() || name.contains('/') || name.contains("..") {
            return Reply::json(404, "{}");
        }
        match std::fs::read(dist.join(name)) {
            Ok(mut bytes) => {
                if tamper && name.ends_with(".tar.gz") {
                    let middle = bytes.len() / 2;
                    bytes[middle] ^= 0x01;
                }
                Reply::Send { status: 200, content_type: "application/octet-stream", body: bytes }
            }
            Err(_) => Reply::json(404, "{}"),
        }
    })
}

/// A user's machine: a fresh HOME (smoke's cache, pip's and npm's state, the install prefix), a
/// working directory in it, and a PATH with the system's tools and `HOME/.local/bin` but nothing
/// of this checkout. Downloads of PyPI and npm packages are cached outside the checkout, so a
/// test run fetches each once.
struct Fresh {
    home: tempfile::TempDir,
}

impl Fresh {
    fn new() -> Fresh {
        Fresh { home: tempfile::tempdir().expect("a temporary HOME") }
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn bin(&self) -> PathBuf {
        self.home().join(".local/bin")
    }

    /// What every command on this machine gets.
    fn prepare(&self, c: &mut Command) {
        let checkout = root();
        // Nothing that points into the checkout (CARGO_MANIFEST_DIR, CARGO_TARGET_DIR, ...).
        for (key, value) in std::env::vars_os() {
            if Path::new(&value).starts_with(&checkout)
                || value.to_string_lossy().contains(checkout.to_str().unwrap())
            {
                c.env_remove(key);
            }
        }
        for key in ["SMOKE_CACHE_DIR", "SMOKE_STATE_DIR", "SMOKE_SDK_FROM", "RUST_LOG", "FAULTS"] {
            c.env_remove(key);
        }
        let python = Path::new(&python3()).parent().expect("python3 is in a directory").to_path_buf();
        let path = std::env::join_paths([
            self.bin(),
            python,
            "/usr/local/bin".into(),
            "/usr/bin".into(),
            "/bin".into(),
        ])
        .expect("a PATH");
        let caches = std::env::temp_dir().join("smoke-e2e-download-caches");
        c.env("HOME", self.home())
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("PIP_CACHE_DIR", caches.join("pip"))
            .env("npm_config_cache", caches.join("npm"))
            .current_dir(self.home());
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        self.prepare(&mut c);
        c
    }

    /// The smoke installed in this HOME.
    fn smoke(&self) -> Command {
        self.command(self.bin().join("smoke"))
    }

    /// dist/install.sh from `url`, into `prefix`.
    fn install(&self, url: &str, prefix: &Path) -> Run {
        let mut c = self.command("sh");
        c.arg(dist().join("install.sh")).args(["--base-url", url, "--prefix"]).arg(prefix);
        run(c)
    }
}

/// install.sh on a machine with wget and no curl: a PATH of only the tools it uses.
fn install_with_wget_only(fresh: &Fresh, url: &str, prefix: &Path) -> Run {
    let bin = fresh.home().join("wget-only-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let tools = [
        "sh",
        "uname",
        "mktemp",
        "rm",
        "awk",
        "tr",
        "wget",
        "sha256sum",
        "cut",
        "tar",
        "gzip",
        "find",
        "head",
        "mkdir",
        "cp",
        "chmod",
        "mv",
        "cat",
    ];
    for tool in tools {
        let found = ["/usr/bin", "/bin"].iter().map(|d| Path::new(d).join(tool)).find(|p| p.exists());
        let found = found.unwrap_or_else(|| panic!("{tool} is not installed"));
        let link = bin.join(tool);
        if !link.exists() {
            std::os::unix::fs::symlink(found, link).unwrap();
        }
    }
    assert!(!bin.join("curl").exists());
    let mut c = fresh.command(bin.join("sh"));
    c.env("PATH", &bin).arg(dist().join("install.sh")).args(["--base-url", url, "--prefix"]).arg(prefix);
    run(c)
}

/// The Python that runs this project's tools, by its real path (a pyenv shim needs the HOME it
/// was installed under).
fn python3() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8(out.stdout).expect("a path").trim().to_string()
}

/// Every path `git status` reports in the checkout, ignored ones too, but for `target/` and
/// `dist/` (build output): what a test that writes into the checkout would change.
fn checkout_paths() -> std::collections::BTreeSet<String> {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--ignored", "--untracked-files=all"])
        .current_dir(root())
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line[3..].to_string())
        .filter(|path| !path.starts_with("target/") && !path.starts_with("dist/"))
        .collect()
}

#[test]
fn from_dist_alone_install_refuse_a_tampered_archive_run_openapi_and_build_python_and_typescript_plugins() {
    let before = checkout_paths();
    let fresh = Fresh::new();

    let tampered = serve_dist(true);
    let refused_prefix = fresh.home().join("refused");
    let r = fresh.install(&tampered.url, &refused_prefix);
    assert_eq!(r.code, 1, "a tampered archive must be refused: {r}");
    assert!(r.stderr.contains("checksum mismatch"), "{r}");
    assert!(r.stderr.contains("nothing was installed"), "{r}");
    assert!(!refused_prefix.join("bin/smoke").exists(), "a refused archive was installed");

    let server = serve_dist(false);
    let r = install_with_wget_only(&fresh, &server.url, &fresh.home().join("wget-prefix"));
    assert_eq!(r.code, 0, "install.sh with wget and no curl: {r}");
    assert!(fresh.home().join("wget-prefix/bin/smoke").is_file(), "{r}");

    let r = fresh.install(&server.url, &fresh.home().join(".local"));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains(&format!("to {}", fresh.bin().join("smoke").display())), "{r}");
    let mut c = fresh.smoke();
    c.arg("--version");
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("openapi ") && r.stdout.contains("mcp "), "the bundled plugins are named: {r}");

    let shop = Example::start("shop-api", "");
    let spec = format!("spec={}/openapi.json", shop.url);
    let mut c = fresh.smoke();
    c.args(["--plugin", "openapi", "--plugin-config", &spec, "--base-url", &shop.url, "-q"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("42 passed, 0 failed"), "{r}");

    let smoke = || fresh.smoke();
    let prepare = |c: &mut Command| fresh.prepare(c);
    for lang in ["python", "js"] {
        scaffold_builds_tests_and_runs(lang, &Toolchain { smoke: &smoke, prepare: &prepare });
    }

    let after = checkout_paths();
    let written: Vec<_> = after.difference(&before).collect();
    assert!(written.is_empty(), "the checkout gained files: {written:?}");
}

/// buildah with the storage `make dist` built the image in.
fn buildah() -> Command {
    let storage = root().join("target/buildah");
    let mut c = Command::new("buildah");
    c.arg("--root")
        .arg(storage.join("root"))
        .arg("--runroot")
        .arg(storage.join("run"))
        .args(["--storage-driver", "vfs"]);
    c
}

#[test]
fn the_container_image_runs_smoke_and_the_bundled_openapi_plugin_against_a_service_on_the_host() {
    let archive = dist().join(format!("smoke-oci-{}.tar", arch()));
    assert!(archive.is_file(), "{} is missing", archive.display());
    let name = format!("smoke-e2e-{}", std::process::id());
    let mut c = buildah();
    c.args(["from", "--name", &name]).arg(format!("oci-archive:{}", archive.display()));
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = buildah().args(["rm", &self.0]).output();
        }
    }
    let _remove = Remove(name.clone());

    let mut c = buildah();
    c.args(["inspect", &name]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let inspected: serde_json::Value = serde_json::from_str(&r.stdout).expect("buildah inspect says JSON");
    let config = &inspected["OCIv1"]["config"];
    assert_eq!(config["Entrypoint"], serde_json::json!(["/usr/local/bin/smoke"]), "{config}");
    let labels = &config["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], env!("CARGO_PKG_VERSION"), "{config}");
    assert_eq!(labels["org.opencontainers.image.source"], env!("CARGO_PKG_REPOSITORY"), "{config}");

    let in_container = |args: &[&str]| {
        let mut c = buildah();
        c.args(["run", "--isolation", "chroot", "--network", "host", &name, "--", "/usr/local/bin/smoke"])
            .args(args);
        run(c)
    };
    let r = in_container(&["--version"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.starts_with(&format!("smoke {}", env!("CARGO_PKG_VERSION"))), "{r}");

    let shop = Example::start("shop-api", "");
    let spec = format!("spec={}/openapi.json", shop.url);
    let r = in_container(&["--plugin", "openapi", "--plugin-config", &spec, "--base-url", &shop.url, "-q"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("42 passed, 0 failed"), "{r}");
    let broken = Example::start("shop-api", "negative-price-accepted");
    let spec = format!("spec={}/openapi.json", broken.url);
    let r = in_container(&["--plugin", "openapi", "--plugin-config", &spec, "--base-url", &broken.url, "-q"]);
    assert_eq!(r.code, 1, "a faulted service fails in the container too: {r}");
}

/// The Action's steps (tests/tools/run_action.py runs them as a runner would) with `plugin:
/// openapi` against shop-api, installing from the dist server; `more` is appended to the `args`
/// input.
fn action(fresh: &Fresh, server: &Hostile, shop: &Example, more: &str) -> (Run, String) {
    let temp = fresh.home().join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let summary = temp.join("step-summary.md");
    let _ = std::fs::remove_file(&summary);
    let mut c = fresh.command(root().join("target/test-deps/venv/bin/python"));
    c.arg(root().join("tests/tools/run_action.py"))
        .arg(root())
        .arg(format!("download-url={}", server.url))
        .arg("plugin=openapi")
        .arg(format!("base-url={}", shop.url))
        .arg(format!("args=--plugin-config 'spec={}/openapi.json' -q {more}", shop.url))
        .env("RUNNER_TEMP", &temp)
        .env("RUNNER_TOOL_CACHE", fresh.home().join("tool-cache"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_ACTION_REF", "")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let r = run(c);
    let summary = std::fs::read_to_string(&summary).unwrap_or_default();
    (r, summary)
}

/// With no `version` input the Action installs its own version (its Cargo.toml's), from the
/// local server as `download-url`.
#[test]
fn the_github_action_installs_runs_summarises_annotates_and_exits_with_smokes_code() {
    let fresh = Fresh::new();
    let server = serve_dist(false);

    let broken = Example::start("shop-api", "negative-price-accepted");
    let (r, summary) = action(&fresh, &server, &broken, "");
    assert_eq!(r.code, 1, "{r}");
    assert!(summary.starts_with("## smoke: FAIL"), "{summary}");
    let failed = summary
        .lines()
        .skip_while(|l| !l.starts_with("### Failed"))
        .find_map(|l| l.strip_prefix("| `").and_then(|rest| rest.split('`').next()))
        .unwrap_or_else(|| panic!("the summary names no failed scenario:\n{summary}"))
        .to_string();
    // A workflow command's property escapes `%`, `:` and `,`.
    let title = format!("smoke: {failed} failed").replace('%', "%25").replace(':', "%3A").replace(',', "%2C");
    let annotation = format!("::error title={title}::");
    assert!(r.stdout.lines().any(|l| l.starts_with(&annotation)), "no `{annotation}` line:\n{r}");
    assert!(r.stdout.contains("installed smoke"), "{r}");

    let shop = Example::start("shop-api", "");
    let (r, summary) = action(&fresh, &server, &shop, "");
    assert_eq!(r.code, 0, "{r}");
    assert!(summary.starts_with("## smoke: PASS"), "{summary}");
    assert!(!r.stdout.contains("::error"), "{r}");
    assert!(r.stdout.contains("restored from the cache"), "the second run uses the installed release: {r}");

    // smoke's own code, whatever it is: a usage error (2) writes no report, and says so.
    let (r, summary) = action(&fresh, &server, &shop, "--no-such-flag");
    assert_eq!(r.code, 2, "{r}");
    assert!(summary.contains("smoke exited 2 before writing a report"), "{summary}");
    assert!(r.stdout.contains("::error title=smoke::smoke exited 2"), "{r}");
    // An unbalanced quote in `args` stops the step rather than run a shorter command line.
    let (r, _) = action(&fresh, &server, &shop, "'--require auth");
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stdout.contains("::error title=smoke action::the args input cannot be split"), "{r}");
}

/// An empty container, or a machine with no certificate authorities, still fetches a document
/// over plain HTTP (a client that verifies HTTPS is not refused before it is used).
#[test]
fn with_no_certificate_authorities_plain_http_documents_are_still_fetched() {
    let shop = Example::start("shop-api", "");
    let dir = tempfile::tempdir().unwrap();
    let mut c = crate::support::smoke(dir.path());
    c.env("SSL_CERT_FILE", dir.path().join("no-such-bundle.pem"))
        .env("SSL_CERT_DIR", dir.path().join("no-such-dir"))
        .args(["plan", "--plugin", "openapi", "--plugin-config"])
        .arg(format!("spec={}/openapi.json", shop.url));
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("openapi.createProduct"), "{r}");
}
