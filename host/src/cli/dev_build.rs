//! What `smoke dev` builds, and how, for each kind of plugin project `smoke plugin new` makes.
//!
//! - Rust: `cargo build --release --target wasm32-wasip2` (incremental; the component is small
//!   and compiles in well under a second).
//! - Python and TypeScript carry an interpreter of 12 to 19 MiB whose componentize step and
//!   compile take seconds each. So the SDK builds, once, a runner component (interpreter, SDK and
//!   what the plugin imports) that loads the author's code at every call, and an edit costs only
//!   what it changes: nothing to build for Python (the runner reads the project folder, granted
//!   read-only), a type check and a bundle for TypeScript (under a second, with the source map).
//!   The runner is rebuilt when the Python imports change (one it lacks is a ModuleNotFoundError).

use super::{Failure, exit};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest a build may take before it is stopped (a first `npm install` or runner build
/// included).
const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// A plugin project, as `smoke plugin new` lays it out.
#[derive(Debug, Clone)]
pub(super) enum Project {
    /// A crate building a `cdylib` for wasm32-wasip2: the component it writes.
    Rust { dir: PathBuf, component: PathBuf },
    /// A module assigning `Guest = export(...)` (`app` for app.py), built by the SDK in `.venv`.
    Python { dir: PathBuf, module: String },
    /// An entry exporting `guest = definePlugin(...)`, built by the SDK in `node_modules`.
    Js { dir: PathBuf, entry: PathBuf },
}

/// What a build made: the component to load, and what the host hands it (`--dev-project`,
/// `--dev-bundle`).
#[derive(Debug, Clone)]
pub(super) struct Built {
    pub(super) component: PathBuf,
    pub(super) grant: Vec<std::ffi::OsString>,
}

/// A build that failed: its output, which says why.
pub(super) struct BuildFailed(pub(super) String);

impl Project {
    /// The project in `dir`, by the files that say what it is.
    pub(super) fn detect(dir: &Path) -> Result<Project, Failure> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let bad = |why: String| Failure::new(exit::USAGE, format!("smoke dev: {}: {why}", dir.display()));
        if !dir.is_dir() {
            return Err(bad("not a folder".into()));
        }
        if dir.join("Cargo.toml").is_file() {
            return Ok(Project::Rust { component: rust_component(&dir).map_err(|e| bad(e.0))?, dir });
        }
        if dir.join("package.json").is_file() {
            let entry = js_entry(&dir);
            if !entry.is_file() {
                return Err(bad(format!("package.json is there but not {}", entry.display())));
            }
            return Ok(Project::Js { dir, entry });
        }
        if dir.join("requirements.txt").is_file() || dir.join("pyproject.toml").is_file() {
            let module = python_module(&dir);
            if !dir.join(format!("{module}.py")).is_file() && !dir.join(&module).join("__init__.py").is_file()
            {
                return Err(bad(format!("a Python project without its module {module}.py")));
            }
            return Ok(Project::Python { dir, module });
        }
        Err(bad(
            "not a plugin project: no Cargo.toml, package.json, requirements.txt or pyproject.toml (make one with \
             `smoke plugin new NAME --lang rust|python|js`, or watch a plan with --plan FILE)"
                .into(),
        ))
    }

    pub(super) fn dir(&self) -> &Path {
        match self {
            Project::Rust { dir, .. } | Project::Python { dir, .. } | Project::Js { dir, .. } => dir,
        }
    }

    /// Folders whose changes are not the author's edits (builds, environments, dependencies):
    /// some anywhere, some only at the project's top (`target`, `dist`, `sdk`, where the builds and
    /// `smoke plugin new` put them; a package of the author's may have the name deeper down).
    pub(super) fn ignored(name: &str, top: bool) -> bool {
        matches!(name, ".git" | "node_modules" | ".venv" | "__pycache__" | ".test")
            || (top && matches!(name, "target" | "dist" | "sdk"))
    }

    /// The runner's file in `state`, named after the project (what a load error shows).
    pub(super) fn runner(&self, state: &Path) -> PathBuf {
        let name = self.dir().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        state.join(format!("{name}.dev-runner.wasm"))
    }

    /// Files the builds write themselves (a component, a lockfile cargo or npm fills in).
    pub(super) fn written_by_build(name: &str) -> bool {
        name.ends_with(".wasm") || matches!(name, "Cargo.lock" | "package-lock.json")
    }

    /// Make the build possible (the SDK's environment) and, for an interpreter, the runner.
    pub(super) async fn prepare(&self, state: &Path, rebuild_runner: bool) -> Result<(), BuildFailed> {
        match self {
            Project::Rust { .. } => Ok(()),
            Project::Python { dir, module } => {
                if !dir.join(".venv/bin/smoke-plugin-build").is_file() {
                    say_doing("setting up .venv with the SDK (once)");
                    command(dir, "python3", &["-m", "venv", ".venv"]).await?;
                    let requirements = if dir.join("requirements.txt").is_file() { "-r" } else { "-e" };
                    let what = if requirements == "-r" { "requirements.txt" } else { "." };
                    command(dir, ".venv/bin/pip", &["install", "--quiet", requirements, what]).await?;
                }
                let runner = self.runner(state);
                if rebuild_runner || !runner.is_file() {
                    say_doing("building the Python runner (once: edits then need no build)");
                    let out = runner.to_string_lossy().into_owned();
                    command(dir, ".venv/bin/smoke-plugin-build", &["--dev", module, "-o", &out]).await?;
                }
                Ok(())
            }
            Project::Js { dir, .. } => {
                if !dir.join("node_modules/.bin/smoke-plugin-build").is_file() {
                    say_doing("npm install (once)");
                    command(dir, "npm", &["install", "--no-audit", "--no-fund", "--loglevel=error"]).await?;
                }
                let runner = self.runner(state);
                if rebuild_runner || !runner.is_file() {
                    say_doing("building the JavaScript runner (once: edits then need a bundle only)");
                    let out = runner.to_string_lossy().into_owned();
                    command(dir, "node_modules/.bin/smoke-plugin-build", &["--dev-runner", "-o", &out])
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Build after an edit: what to load, and what to hand it.
    pub(super) async fn build(&self, state: &Path) -> Result<Built, BuildFailed> {
        match self {
            Project::Rust { dir, component } => {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                command(dir, &cargo, &["build", "--release", "--target", "wasm32-wasip2", "--quiet"]).await?;
                Ok(Built { component: component.clone(), grant: Vec::new() })
            }
            Project::Python { dir, .. } => {
                Ok(Built { component: self.runner(state), grant: vec!["--dev-project".into(), dir.into()] })
            }
            Project::Js { dir, entry } => {
                let bundle = state.join("bundle.js");
                let (entry, out) = (entry.to_string_lossy(), bundle.to_string_lossy());
                command(dir, "node_modules/.bin/smoke-plugin-build", &["--dev-bundle", &entry, "-o", &out])
                    .await?;
                Ok(Built { component: self.runner(state), grant: vec!["--dev-bundle".into(), bundle.into()] })
            }
        }
    }
}

fn say_doing(what: &str) {
    crate::warn_user!("smoke dev: {what} ...");
}

/// Why a Rust project's component cannot be named.
struct NoComponent(String);

/// The component a Rust project writes: its `cdylib`'s name under the target folder cargo uses
/// for it (a workspace's, `CARGO_TARGET_DIR`'s, else the project's own).
fn rust_component(dir: &Path) -> Result<PathBuf, NoComponent> {
    let unreadable = |e: &dyn std::fmt::Display| NoComponent(format!("Cargo.toml: {e}"));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).map_err(|e| unreadable(&e))?;
    let manifest: toml::Table = toml::from_str(&manifest).map_err(|e| unreadable(&e))?;
    let name = manifest
        .get("lib")
        .and_then(|l| l.get("name"))
        .or_else(|| manifest.get("package").and_then(|p| p.get("name")))
        .and_then(|n| n.as_str())
        .ok_or_else(|| NoComponent("Cargo.toml names no package".into()))?;
    let target = match (cargo_target_dir(dir), std::env::var_os("CARGO_TARGET_DIR")) {
        (Some(t), _) => t,
        (None, Some(t)) => std::path::absolute(PathBuf::from(t)).map_err(|e| unreadable(&e))?,
        (None, None) => dir.join("target"),
    };
    Ok(target.join("wasm32-wasip2/release").join(format!("{}.wasm", name.replace('-', "_"))))
}

/// Where cargo builds the crate in `dir`, as `cargo metadata` says (None when it cannot say).
fn cargo_target_dir(dir: &Path) -> Option<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    metadata["target_directory"].as_str().map(PathBuf::from)
}

/// The entry `npm run build` builds (`smoke-plugin-build ENTRY -o ...`), else plugin.ts.
fn js_entry(dir: &Path) -> PathBuf {
    let package: Option<serde_json::Value> =
        std::fs::read_to_string(dir.join("package.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    let script = package.as_ref().and_then(|p| p["scripts"]["build"].as_str()).unwrap_or("");
    let mut words = script.split_whitespace().skip_while(|w| !w.ends_with("smoke-plugin-build"));
    let entry = words.nth(1).filter(|w| !w.starts_with('-')).unwrap_or("plugin.ts");
    dir.join(entry)
}

/// The module the Makefile builds (`smoke-plugin-build MODULE -o ...`), else `app`.
fn python_module(dir: &Path) -> String {
    let makefile = std::fs::read_to_string(dir.join("Makefile")).unwrap_or_default();
    makefile
        .lines()
        .filter(|line| line.starts_with('\t'))
        .find_map(|line| {
            let mut words = line.split_whitespace().skip_while(|w| !w.ends_with("smoke-plugin-build"));
            words.nth(1).filter(|w| !w.starts_with('-')).map(str::to_string)
        })
        .unwrap_or_else(|| "app".into())
}

/// Run a build command in `dir` in its own process group (a Ctrl-C is smoke's to pass on), to
/// completion within [`BUILD_LIMIT`]; its output when it fails.
async fn command(dir: &Path, program: &str, args: &[&str]) -> Result<(), BuildFailed> {
    let program_path = if program.contains('/') { dir.join(program) } else { PathBuf::from(program) };
    let mut c = tokio::process::Command::new(&program_path);
    c.args(args).current_dir(dir).stdin(std::process::Stdio::null()).kill_on_drop(true).process_group(0);
    let said = format!("{program} {}", args.join(" "));
    let child = c.output();
    let out = match tokio::time::timeout(BUILD_LIMIT, child).await {
        Err(_) => {
            return Err(BuildFailed(format!(
                "`{said}` did not finish in {}s; stopped",
                BUILD_LIMIT.as_secs()
            )));
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound && !program.contains('/') => {
            let install = match program {
                "npm" => " (install Node.js 18 or later, with npm)",
                "python3" => " (install Python 3.11 or later, with its venv module)",
                _ => "",
            };
            return Err(BuildFailed(format!("cannot run `{said}`: {program} is not on PATH{install}")));
        }
        Ok(Err(e)) => return Err(BuildFailed(format!("cannot run `{said}` in {}: {e}", dir.display()))),
        Ok(Ok(out)) => out,
    };
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Err(BuildFailed(format!("`{said}` failed ({}):\n{}", out.status, text.trim_end())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_is_known_by_its_files_and_its_build_names_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let e = Project::detect(d).unwrap_err();
        assert!(e.message.contains("smoke plugin new NAME"), "{}", e.message);
        std::fs::write(
            d.join("package.json"),
            r#"{"scripts":{"build":"smoke-plugin-build src/p.ts -o x.wasm"}}"#,
        )
        .unwrap();
        assert!(Project::detect(d).unwrap_err().message.contains("src/p.ts"));
        std::fs::create_dir(d.join("src")).unwrap();
        std::fs::write(d.join("src/p.ts"), "").unwrap();
        assert!(
            matches!(Project::detect(d).unwrap(), Project::Js { entry, .. } if entry.ends_with("src/p.ts"))
        );

        let py = tempfile::tempdir().unwrap();
        std::fs::write(py.path().join("requirements.txt"), "smoke-plugin\n").unwrap();
        std::fs::write(py.path().join("Makefile"), "x.wasm:\n\t.venv/bin/smoke-plugin-build rules -o $@\n")
            .unwrap();
        assert!(Project::detect(py.path()).unwrap_err().message.contains("rules.py"));
        std::fs::write(py.path().join("rules.py"), "").unwrap();
        assert!(
            matches!(Project::detect(py.path()).unwrap(), Project::Python { module, .. } if module == "rules")
        );

        let rust = tempfile::tempdir().unwrap();
        std::fs::write(rust.path().join("Cargo.toml"), "[package]\nname = \"my-rules\"\n").unwrap();
        let Project::Rust { component, .. } = Project::detect(rust.path()).unwrap() else { panic!("rust") };
        assert!(component.ends_with("wasm32-wasip2/release/my_rules.wasm"), "{}", component.display());
    }
}
