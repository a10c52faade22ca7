//! Plugins through a real OCI registry: the CNCF distribution registry (Debian's
//! `docker-registry`), started on 127.0.0.1 by each test; `make test` installs it.

use crate::support::{self, Run, plugin, run, smoke};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "ci-bot";
const PASSWORD: &str = "s3cret-registry-password";

struct Registry {
    child: Child,
    pub host: String,
    /// Where the registry keeps blobs, to tamper with them.
    pub storage: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// A fresh registry, with htpasswd auth when `auth`. A test that cannot run must not pass:
    /// without the binary, it fails saying how to install it.
    fn start(auth: bool) -> Registry {
        let binary = which("docker-registry").unwrap_or_else(|_| {
            panic!(
                "docker-registry is not installed: `make test` installs it (apt-get install docker-registry)"
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        let storage = dir.path().join("data");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if auth {
            let hash = bcrypt::hash(PASSWORD, 5).unwrap();
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{USER}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: smoke-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not listen on {port} within 15 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry { child, host: format!("127.0.0.1:{port}"), storage, _dir: dir }
    }

    fn reference(&self, repo_tag: &str) -> String {
        format!("oci://{}/{repo_tag}", self.host)
    }

    fn blob(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage.join(format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]))
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// A `smoke` command with its own cache, and no registry credentials from the environment.
fn smoke_at(cache: &Path) -> Command {
    let mut c = smoke(cache);
    c.env_remove("SMOKE_REGISTRY_USERNAME")
        .env_remove("SMOKE_REGISTRY_PASSWORD")
        .env_remove("SMOKE_REGISTRY")
        .env("DOCKER_CONFIG", cache.join("no-docker-config"));
    c
}

fn smoke_run(cache: &Path, args: &[&str]) -> Run {
    let mut c = smoke_at(cache);
    c.args(args);
    run(c)
}

/// A config that runs the ledger plugin from the registry against the ledger example.
fn config(dir: &Path, registry: &Registry, reference: &str) -> PathBuf {
    let path = dir.join("smoke.toml");
    std::fs::write(
        &path,
        format!(
            "[target]\ncommand = {:?}\nargs = [\"--port\", \"{{port}}\"]\nport = \"auto\"\nhealth = \"/health\"\n\n\
             [registry]\ndefault = \"{}/smoke\"\n\n[[plugins]]\nref = {reference:?}\n",
            support::ledger_api().display().to_string(),
            registry.host
        ),
    )
    .unwrap();
    path
}

/// The value after `label` on a line of `smoke plugin` output.
fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
}

fn blobs(cache: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache.join("registry/blobs/sha256"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn push_then_pull_by_tag_and_by_digest_gives_the_same_bytes() {
    let registry = Registry::start(false);
    let dir = tempfile::tempdir().unwrap();
    let ledger = plugin("ledger");
    let tag = registry.reference("smoke/ledger:0.1.0");
    let pushed = smoke_run(dir.path(), &["plugin", "push", ledger.to_str().unwrap(), &tag]);
    assert_eq!(pushed.code, 0, "{pushed}");
    assert!(pushed.stdout.contains("pushed ledger 0.1.0 (smoke:plugin@0.2.0)"), "{pushed}");
    let pinned = field(&pushed.stdout, "pin it:");

    // Annotations read from the component are on the manifest, with the Wasm media types.
    let port: u16 = registry.host.rsplit(':').next().unwrap().parse().unwrap();
    let (status, body) = support::http_get(
        port,
        "/v2/smoke/ledger/manifests/0.1.0",
        &[("Accept", "application/vnd.oci.image.manifest.v1+json")],
    );
    assert_eq!(status, 200, "{body}");
    let m: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["annotations"]["org.opencontainers.image.title"], "ledger", "{m}");
    assert_eq!(m["annotations"]["org.opencontainers.image.version"], "0.1.0", "{m}");
    assert_eq!(m["annotations"]["dev.smoke.plugin.domain"], "finance", "{m}");
    assert_eq!(m["annotations"]["dev.smoke.plugin.wit"], "smoke:plugin@0.2.0", "{m}");
    assert_eq!(m["layers"][0]["mediaType"], "application/wasm", "{m}");
    assert_eq!(m["config"]["mediaType"], "application/vnd.wasm.config.v0+json", "{m}");

    let original = std::fs::read(&ledger).unwrap();
    for (reference, cache) in [(&tag, dir.path().join("by-tag")), (&pinned, dir.path().join("by-digest"))] {
        let pulled = smoke_run(&cache, &["plugin", "pull", reference]);
        assert_eq!(pulled.code, 0, "{pulled}");
        let at = field(&pulled.stdout, "cached at:");
        assert_eq!(std::fs::read(at).unwrap(), original, "{reference} gives the pushed bytes");
    }

    // A published version does not change by accident.
    let again = smoke_run(dir.path(), &["plugin", "push", plugin("workflow").to_str().unwrap(), &tag]);
    assert_eq!(again.code, 2, "{again}");
    assert!(again.stderr.contains("already exists") && again.stderr.contains("--force"), "{again}");

    // A file that is not a smoke plugin is refused, and nothing is pushed.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm not really").unwrap();
    let refused = smoke_run(
        dir.path(),
        &["plugin", "push", junk.to_str().unwrap(), &registry.reference("smoke/junk:1")],
    );
    assert_eq!(refused.code, 4, "{refused}");
    assert!(refused.stderr.contains("is not a valid smoke plugin; nothing pushed"), "{refused}");
    let listed = smoke_run(dir.path(), &["plugin", "ls", "--remote", &registry.reference("smoke/junk")]);
    assert_ne!(listed.code, 0, "the junk repository does not exist:\n{listed}");
    let listed = smoke_run(dir.path(), &["plugin", "ls", "--remote", &registry.reference("smoke/ledger")]);
    assert_eq!(listed.code, 0, "{listed}");
    assert!(listed.stdout.contains("smoke/ledger: 0.1.0"), "{listed}");
}

#[test]
fn a_tampered_blob_is_refused_and_nothing_is_cached() {
    let registry = Registry::start(false);
    let dir = tempfile::tempdir().unwrap();
    let tag = registry.reference("smoke/ledger:0.1.0");
    let pushed = smoke_run(dir.path(), &["plugin", "push", plugin("ledger").to_str().unwrap(), &tag]);
    assert_eq!(pushed.code, 0, "{pushed}");
    let component = field(&pushed.stdout, "component:");
    let blob = registry.blob(&component);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let cache = dir.path().join("cache");
    let pulled = smoke_run(&cache, &["plugin", "pull", &tag]);
    assert_eq!(pulled.code, 4, "{pulled}");
    assert!(pulled.stderr.to_lowercase().contains("digest"), "the refusal names the digest:\n{pulled}");
    assert!(blobs(&cache).is_empty(), "nothing cached, not even a partial download: {:?}", blobs(&cache));

    let config = config(dir.path(), &registry, &tag);
    let r = smoke_run(&cache, &["run", "--config", config.to_str().unwrap()]);
    assert_eq!(r.code, 4, "a run refuses the tampered plugin:\n{r}");
    assert!(blobs(&cache).is_empty());
}

#[test]
fn locked_runs_refuse_an_unpinned_reference_and_a_tag_that_moved() {
    let registry = Registry::start(false);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let pushed = smoke_run(
        &cache,
        &["plugin", "push", plugin("ledger").to_str().unwrap(), &registry.reference("smoke/ledger:0.1.0")],
    );
    assert_eq!(pushed.code, 0, "{pushed}");
    // The short name goes through [registry] default.
    let config = config(dir.path(), &registry, "ledger@0.1.0");
    let config = config.to_str().unwrap();

    let r = smoke_run(&cache, &["run", "--config", config, "--locked"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("is not pinned in") && r.stderr.contains("smoke plugin lock"), "{r}");

    let locked = smoke_run(&cache, &["plugin", "lock", "--config", config]);
    assert_eq!(locked.code, 0, "{locked}");
    let lockfile = std::fs::read_to_string(dir.path().join("smoke.lock")).unwrap();
    assert!(lockfile.contains(&field(&pushed.stdout, "manifest:")), "{lockfile}");
    let r = smoke_run(&cache, &["run", "--config", config, "--locked", "-q"]);
    assert_eq!(r.code, 0, "{r}");

    // Someone replaces the tag: --locked notices; a plain run keeps the pinned plugin.
    let moved = smoke_run(
        &cache,
        &[
            "plugin",
            "push",
            "--force",
            plugin("workflow").to_str().unwrap(),
            &registry.reference("smoke/ledger:0.1.0"),
        ],
    );
    assert_eq!(moved.code, 0, "{moved}");
    let r = smoke_run(&cache, &["run", "--config", config, "--locked"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("the registry now serves manifest"), "{r}");
    let r = smoke_run(&cache, &["run", "--config", config, "-q"]);
    assert_eq!(r.code, 0, "the pinned ledger plugin still runs:\n{r}");
    assert!(r.stdout.contains("33 passed"), "{r}");

    // After re-pulling the moved tag, gc removes nothing still referenced.
    let pulled = smoke_run(&cache, &["plugin", "pull", &registry.reference("smoke/ledger:0.1.0")]);
    assert_eq!(pulled.code, 0, "{pulled}");
    let gc = smoke_run(&cache, &["plugin", "gc"]);
    assert_eq!(gc.code, 0, "{gc}");
    assert_eq!(blobs(&cache).len(), 1, "one component left after gc: {gc}");
}

#[test]
fn after_one_pull_offline_runs_work_with_the_registry_stopped() {
    let mut registry = Registry::start(false);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tag = registry.reference("smoke/ledger:0.1.0");
    assert_eq!(smoke_run(&cache, &["plugin", "push", plugin("ledger").to_str().unwrap(), &tag]).code, 0);
    let config = config(dir.path(), &registry, &tag);
    let config = config.to_str().unwrap();
    assert_eq!(smoke_run(&cache, &["plugin", "lock", "--config", config]).code, 0);
    let r = smoke_run(&cache, &["run", "--config", config, "-q"]);
    assert_eq!(r.code, 0, "{r}");

    registry.stop();
    let r = smoke_run(&cache, &["run", "--config", config, "--offline", "--locked", "-q"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("33 passed"), "{r}");

    let empty = dir.path().join("empty-cache");
    let r = smoke_run(&empty, &["run", "--config", config, "--offline"]);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("--offline forbids pulling it"), "{r}");
}

#[test]
fn credentials_come_from_the_environment_or_docker_config_and_never_appear_in_output() {
    let registry = Registry::start(true);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tag = registry.reference("private/ledger:0.1.0");
    let ledger = plugin("ledger");
    let mut outputs = Vec::new();

    let anonymous = smoke_run(&cache, &["plugin", "push", ledger.to_str().unwrap(), &tag]);
    assert_eq!(anonymous.code, 4, "the registry wants credentials:\n{anonymous}");
    outputs.push(anonymous);

    let mut c = smoke_at(&cache);
    c.args(["plugin", "push", ledger.to_str().unwrap(), &tag])
        .env("SMOKE_REGISTRY_USERNAME", USER)
        .env("SMOKE_REGISTRY_PASSWORD", PASSWORD);
    let pushed = run(c);
    assert_eq!(pushed.code, 0, "{pushed}");
    outputs.push(pushed);

    // A wrong password fails without showing it.
    let mut c = smoke_at(&cache);
    c.args(["plugin", "pull", &tag])
        .env("SMOKE_REGISTRY_USERNAME", USER)
        .env("SMOKE_REGISTRY_PASSWORD", "wrong-password-123");
    let wrong = run(c);
    assert_eq!(wrong.code, 4, "{wrong}");
    assert!(!format!("{wrong}").contains("wrong-password-123"), "{wrong}");

    // The Docker config file, as `docker login` writes it.
    let docker = dir.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, registry.host),
    )
    .unwrap();
    let config = config(dir.path(), &registry, &tag);
    let artifacts = dir.path().join("artifacts");
    let mut c = smoke_at(&cache);
    c.args(["run", "--config", config.to_str().unwrap(), "-vv", "--artifacts"])
        .arg(&artifacts)
        .arg("--report-json")
        .arg(artifacts.join("r.json"))
        .env("DOCKER_CONFIG", &docker);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains("credentials from"), "the log says where credentials came from:\n{r}");
    outputs.push(r);
    for lockfile_run in
        [["plugin", "lock", "--config", config.to_str().unwrap()], ["plugin", "ls", "--remote", &tag]]
    {
        let mut c = smoke_at(&cache);
        c.args(lockfile_run).env("DOCKER_CONFIG", &docker);
        let r = run(c);
        assert_eq!(r.code, 0, "{r}");
        outputs.push(r);
    }

    let runs: Vec<&Run> = outputs.iter().collect();
    let texts = support::everything_written(&runs, &[artifacts, cache, dir.path().join("smoke.lock")]);
    for (what, text) in &texts {
        assert!(!text.contains(PASSWORD), "{what} contains the registry password");
        assert!(!text.contains(&auth), "{what} contains the encoded credentials");
    }
}
