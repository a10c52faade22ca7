//! `smoke plugin new NAME --lang rust|python|js`: a plugin project that builds with one command,
//! has a test of its own, and passes against any of the example services out of the box.
//!
//! The project depends on the released SDK by version (`smoke-plugin` on crates.io, PyPI and
//! npm), the one this smoke speaks the contract of. `--sdk-from DIR` points it at the SDK packages
//! in DIR instead (what `make dist` writes in `dist/`: a wheel, an npm tarball, a crate), for a
//! release not published yet or a machine with no registry. Nothing is written outside the new
//! project, and no smoke source tree is needed.

use super::{Failure, exit};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// The SDKs' version: smoke's own (they are released together, with the contract).
const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Lang {
    Rust,
    Python,
    /// TypeScript (the JavaScript SDK builds both).
    Js,
}

#[derive(Debug, Clone, Args)]
pub(super) struct NewArgs {
    /// The plugin's name: lowercase letters, digits and '-', starting with a letter.
    name: String,
    /// The language to write it in.
    #[arg(long, value_enum)]
    lang: Lang,
    /// Where to create the project [default: ./NAME]; must not exist yet.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Use the SDK package in DIR (a release's files, e.g. smoke's `dist/`) instead of the
    /// registry's: smoke_plugin-V-py3-none-any.whl, smoke-plugin-V.tgz or smoke-plugin-V.crate.
    #[arg(long, value_name = "DIR", env = "SMOKE_SDK_FROM")]
    sdk_from: Option<PathBuf>,
}

/// Why a name cannot name a plugin, if it cannot.
fn bad_name(name: &str) -> Option<&'static str> {
    let mut bytes = name.bytes();
    match bytes.next() {
        None => Some("is empty"),
        Some(b) if !b.is_ascii_lowercase() => Some("must start with a lowercase letter"),
        _ if name.len() > 64 => Some("is longer than 64 characters"),
        _ if !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') => {
            Some("may hold only lowercase letters, digits and '-'")
        }
        _ if name.ends_with('-') || name.contains("--") => Some("must not end with '-' or hold \"--\""),
        _ => None,
    }
}

/// Where the project's SDK comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sdk {
    /// The registry of the language, by version.
    Released,
    /// A package file (absolute): the wheel, the npm tarball, or the crate.
    File(PathBuf),
}

impl Sdk {
    /// Where the SDK comes from, in words.
    fn said(&self) -> String {
        match self {
            Sdk::Released => format!("smoke-plugin {}.x from the registry", minor(SDK_VERSION)),
            Sdk::File(file) => file.display().to_string(),
        }
    }
}

/// The SDK package file for `lang` in `dir`, named as `make dist` names it.
fn sdk_file(lang: Lang, dir: &Path) -> Result<PathBuf, Failure> {
    let name = match lang {
        Lang::Rust => format!("smoke-plugin-{SDK_VERSION}.crate"),
        Lang::Python => format!("smoke_plugin-{SDK_VERSION}-py3-none-any.whl"),
        Lang::Js => format!("smoke-plugin-{SDK_VERSION}.tgz"),
    };
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let file = dir.join(&name);
    if file.is_file() {
        Ok(file)
    } else {
        Err(Failure::new(
            exit::USAGE,
            format!(
                "--sdk-from {}: it holds no {name} (the SDK package this smoke {SDK_VERSION} writes \
                 projects for; `make dist` builds it into dist/)",
                dir.display()
            ),
        ))
    }
}

/// `major.minor` of a version: what a dependency on the SDK asks for.
fn minor(version: &str) -> &str {
    version.match_indices('.').nth(1).map_or(version, |(i, _)| &version[..i])
}

/// The Cargo requirement on the SDK: `major.minor`, or the exact version of a pre-release (Cargo
/// matches a pre-release only when the requirement names it).
fn cargo_requirement(version: &str) -> String {
    if version.contains('-') { format!("={version}") } else { minor(version).to_string() }
}

/// The files of a new project, by relative path. A path goes into TOML, JSON and a URL, each
/// escaped its own way (a space or a quote in it must not break the project).
fn files(lang: Lang, name: &str, sdk: &Sdk) -> Vec<(&'static str, String)> {
    let (rust_dependency, python_requirement, js_dependency, sdk_said) = match sdk {
        Sdk::Released => (
            toml::Value::String(cargo_requirement(SDK_VERSION)).to_string(),
            format!("smoke-plugin~={SDK_VERSION}"),
            serde_json::Value::String(format!("^{SDK_VERSION}")).to_string(),
            sdk.said(),
        ),
        Sdk::File(file) => {
            let unpacked = format!("sdk/smoke-plugin-{SDK_VERSION}");
            let url = url::Url::from_file_path(file)
                .map_or_else(|()| format!("file://{}", file.display()), String::from);
            (
                format!(
                    "{{ version = {}, path = {} }}",
                    toml::Value::String(cargo_requirement(SDK_VERSION)),
                    toml::Value::String(unpacked)
                ),
                format!("smoke-plugin @ {url}"),
                serde_json::Value::String(format!("file:{}", file.display())).to_string(),
                format!("{} (--sdk-from)", sdk.said()),
            )
        }
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{artifact}}", &name.replace('-', "_"))
            .replace("{{rust_dependency}}", &rust_dependency)
            .replace("{{python_requirement}}", &python_requirement)
            .replace("{{js_dependency}}", &js_dependency)
            .replace("{{sdk}}", &sdk_said)
            .replace("{{guide}}", GUIDE)
    };
    let list: &[(&'static str, &str)] = match lang {
        Lang::Rust => &[
            ("Cargo.toml", RUST_MANIFEST),
            ("src/lib.rs", RUST_PLUGIN),
            ("README.md", RUST_README),
            (".gitignore", "/target\n"),
        ],
        Lang::Python => &[
            ("app.py", PYTHON_PLUGIN),
            ("test_app.py", PYTHON_TEST),
            ("requirements.txt", PYTHON_REQUIREMENTS),
            ("Makefile", PYTHON_MAKEFILE),
            ("README.md", PYTHON_README),
            (".gitignore", ".venv/\n__pycache__/\n*.wasm\n"),
        ],
        Lang::Js => &[
            ("plugin.ts", TS_PLUGIN),
            ("plugin.test.ts", TS_TEST),
            ("package.json", TS_PACKAGE),
            ("Makefile", TS_MAKEFILE),
            ("README.md", TS_README),
            (".gitignore", "node_modules/\n.test/\n*.wasm\n"),
        ],
    };
    list.iter().map(|(path, template)| (*path, fill(template))).collect()
}

pub(super) fn new(args: NewArgs) -> Result<i32, Failure> {
    if let Some(problem) = bad_name(&args.name) {
        return Err(Failure::new(exit::USAGE, format!("plugin name {:?} {problem}", args.name)));
    }
    let sdk = match &args.sdk_from {
        Some(from) => Sdk::File(sdk_file(args.lang, from)?),
        None => Sdk::Released,
    };
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() {
        return Err(Failure::new(
            exit::USAGE,
            format!("{} already exists; nothing was written (choose another --dir)", dir.display()),
        ));
    }
    // Written into a directory beside the project, renamed into place when whole: a failure
    // leaves no half-written project behind.
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let cannot = |what: &Path, e: std::io::Error| {
        Failure::new(exit::USAGE, format!("cannot write {}: {e}", what.display()))
    };
    std::fs::create_dir_all(&parent).map_err(|e| cannot(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".smoke-plugin-new-")
        .tempdir_in(&parent)
        .map_err(|e| cannot(&parent, e))?;
    for (relative, text) in files(args.lang, &args.name, &sdk) {
        let path = staging.path().join(relative);
        let parent = path.parent().expect("a file of the project is in it");
        std::fs::create_dir_all(parent)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|e| cannot(&dir.join(relative), e))?;
    }
    if let (Lang::Rust, Sdk::File(crate_file)) = (args.lang, &sdk) {
        unpack_crate(crate_file, &staging.path().join("sdk"))?;
    }
    std::fs::rename(staging.path(), &dir).map_err(|e| cannot(&dir, e))?;
    let _kept = staging.keep();
    let (build, test) = match args.lang {
        Lang::Rust => ("cargo build --release --target wasm32-wasip2", "cargo test"),
        Lang::Python | Lang::Js => ("make", "make test"),
    };
    let artifact = match args.lang {
        Lang::Rust => format!("target/wasm32-wasip2/release/{}.wasm", args.name.replace('-', "_")),
        Lang::Python | Lang::Js => format!("{}.wasm", args.name),
    };
    crate::say!("created {} ({:?}, SDK {})", dir.display(), args.lang, sdk.said());
    crate::say!("  build: cd {} && {build}", dir.display());
    crate::say!("  test:  {test}");
    crate::say!("  run:   smoke --plugin {artifact} --base-url http://127.0.0.1:8080");
    crate::say!("  dev:   smoke dev --base-url http://127.0.0.1:8080   (rebuilds and reruns at every edit)");
    Ok(exit::PASSED)
}

/// A Rust project's SDK from a `.crate` (a gzipped tar): unpacked into the project's `sdk/`,
/// which its Cargo.toml names by path (cargo reads no crate file from disk). Only regular files
/// and directories under `smoke-plugin-VERSION/` are accepted (a link, a device or a path outside
/// it refuses the whole file), and owners and modes are not restored from it.
fn unpack_crate(crate_file: &Path, into: &Path) -> Result<(), Failure> {
    let failed = |why: String| {
        Failure::new(
            exit::USAGE,
            format!("cannot unpack {} into {}: {why}", crate_file.display(), into.display()),
        )
    };
    let tar = |args: &[&str]| {
        let out = std::process::Command::new("tar")
            .args(args)
            .arg(crate_file)
            .output()
            .map_err(|e| failed(format!("cannot run tar: {e}")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(failed(format!("tar {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim())))
        }
    };
    let top = format!("smoke-plugin-{SDK_VERSION}/");
    let kinds = tar(&["-tvzf"])?;
    let names = tar(&["-tzf"])?;
    for (kind, name) in kinds.lines().zip(names.lines()) {
        let plain = kind.starts_with('-') || kind.starts_with('d');
        if !plain || !name.starts_with(&top) || name.split('/').any(|part| part == "..") {
            return Err(failed(format!("it holds {name:?}, not a file or directory under {top}")));
        }
    }
    std::fs::create_dir_all(into).map_err(|e| failed(e.to_string()))?;
    let into_arg = into.to_str().ok_or_else(|| failed("the path is not UTF-8".into()))?;
    tar(&["--no-same-owner", "--no-same-permissions", "-C", into_arg, "-xzf"])?;
    if into.join(&top).join("Cargo.toml").is_file() {
        Ok(())
    } else {
        Err(failed(format!("it has no {top}Cargo.toml")))
    }
}

/// Where an author reads how to write a plugin.
const GUIDE: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/plugin-guide.md");

const RUST_MANIFEST: &str = r#"[package]
name = "{{name}}"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
smoke-plugin = {{rust_dependency}}

# A project of its own, not part of any enclosing workspace.
[workspace]
"#;

const RUST_PLUGIN: &str = r#"//! {{name}}: a smoke plugin. Plan scenarios in `plan`; judge what only logic can in `check`.

use smoke_plugin::{Info, Plan, PlanError, PlanInput, Plugin, Scenario, Step};

pub struct ThisPlugin;

impl Plugin for ThisPlugin {
    fn info() -> Info {
        Info::new("{{name}}", "0.1.0", "example").describe("what {{name}} proves about its API")
    }

    fn plan(_input: PlanInput) -> Result<Plan, PlanError> {
        Ok(Plan::new()
            .scenario(
                Scenario::happy_path("{{name}}.health", "GET /health")
                    .describe("the service is up and says so")
                    .step(Step::get("/health").expect_status(200).expect_eq("/status", "ok")),
            )
            .scenario(
                Scenario::not_found("{{name}}.unknown-route", "GET /smoke-no-such-route")
                    .describe("a route that does not exist is a 404, not a 200")
                    .step(Step::get("/smoke-no-such-route").expect_status(404)),
            ))
    }
}

smoke_plugin::export!(ThisPlugin);

#[cfg(test)]
mod tests {
    use super::*;
    use smoke_plugin::testing::{assert_deterministic_plan, empty_input};

    #[test]
    fn the_plan_is_deterministic_and_names_its_scenarios() {
        let plan = assert_deterministic_plan::<ThisPlugin>(empty_input());
        let ids: Vec<&str> = plan.scenarios.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["{{name}}.health", "{{name}}.unknown-route"]);
    }
}
"#;

const RUST_README: &str = r#"# {{name}}

A smoke plugin in Rust (contract smoke:plugin@0.2.0).

```sh
cargo build --release --target wasm32-wasip2     # target/wasm32-wasip2/release/{{artifact}}.wasm
cargo test                                       # the plugin's own tests, natively
smoke --plugin target/wasm32-wasip2/release/{{artifact}}.wasm --base-url http://127.0.0.1:8080
smoke dev --base-url http://127.0.0.1:8080           # rebuild and rerun at every save
```

`rustup target add wasm32-wasip2` once if the target is missing. The SDK: {{sdk}}.
How to write a plugin: {{guide}}.
"#;

const PYTHON_PLUGIN: &str = r#""""{{name}}: a smoke plugin. Plan scenarios in `plan`; judge what only logic can in `check`."""

from smoke_plugin import Info, Plan, Plugin, Scenario, Step, export


class ThisPlugin(Plugin):
    def info(self):
        return Info("{{name}}", "0.1.0", "example").describe("what {{name}} proves about its API")

    def plan(self, input):
        return (
            Plan()
            .scenario(Scenario.happy_path("{{name}}.health", "GET /health")
                      .describe("the service is up and says so")
                      .step(Step.get("/health").expect_status(200).expect_eq("/status", "ok")))
            .scenario(Scenario.not_found("{{name}}.unknown-route", "GET /smoke-no-such-route")
                      .describe("a route that does not exist is a 404, not a 200")
                      .step(Step.get("/smoke-no-such-route").expect_status(404)))
        )


Guest = export(ThisPlugin)
"#;

const PYTHON_TEST: &str = r#""""The plugin's own tests, run natively: `make test`."""

import unittest

from smoke_plugin.testing import assert_deterministic_plan, empty_input

from app import ThisPlugin


class PlanTest(unittest.TestCase):
    def test_the_plan_is_deterministic_and_names_its_scenarios(self):
        plan = assert_deterministic_plan(ThisPlugin(), empty_input())
        self.assertEqual([s.id for s in plan.scenarios], ["{{name}}.health", "{{name}}.unknown-route"])


if __name__ == "__main__":
    unittest.main()
"#;

const PYTHON_REQUIREMENTS: &str = "{{python_requirement}}\n";

const PYTHON_MAKEFILE: &str = "# `make` builds {{name}}.wasm; `make test` runs the plugin's own tests.

build: {{name}}.wasm

.venv/bin/smoke-plugin-build: requirements.txt
\tpython3 -m venv .venv
\t.venv/bin/pip install --quiet -r requirements.txt
\ttouch $@

{{name}}.wasm: .venv/bin/smoke-plugin-build app.py
\t.venv/bin/smoke-plugin-build app -o $@

test: .venv/bin/smoke-plugin-build
\t.venv/bin/python -m unittest

.PHONY: build test
";

const PYTHON_README: &str = r#"# {{name}}

A smoke plugin in Python (contract smoke:plugin@0.2.0).

```sh
make          # a virtual environment with the SDK (and its pinned componentize-py), then {{name}}.wasm
make test     # the plugin's own tests, natively
smoke --plugin {{name}}.wasm --base-url http://127.0.0.1:8080
smoke dev --base-url http://127.0.0.1:8080           # rebuild and rerun at every save
```

The SDK: {{sdk}}. How to write a plugin: {{guide}}.
"#;

const TS_PLUGIN: &str = r#"// {{name}}: a smoke plugin. Plan scenarios in `plan`; judge what only logic can in `check`.
import { Info, Plan, Scenario, Step, definePlugin } from 'smoke-plugin';

export const guest = definePlugin({
  info: () => new Info('{{name}}', '0.1.0', 'example').describe('what {{name}} proves about its API'),
  plan: () =>
    new Plan()
      .scenario(
        Scenario.happyPath('{{name}}.health', 'GET /health')
          .describe('the service is up and says so')
          .step(Step.get('/health').expectStatus(200).expectEq('/status', 'ok')),
      )
      .scenario(
        Scenario.notFound('{{name}}.unknown-route', 'GET /smoke-no-such-route')
          .describe('a route that does not exist is a 404, not a 200')
          .step(Step.get('/smoke-no-such-route').expectStatus(404)),
      ),
});
"#;

const TS_TEST: &str = r#"// The plugin's own tests, run natively: `make test`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertDeterministicPlan } from 'smoke-plugin/testing';
import { guest } from './plugin.ts';

test('the plan is deterministic and names its scenarios', () => {
  const plan = assertDeterministicPlan(guest);
  assert.deepEqual(
    plan.scenarios.map((s: { id: string }) => s.id),
    ['{{name}}.health', '{{name}}.unknown-route'],
  );
});
"#;

const TS_PACKAGE: &str = r#"{
  "name": "{{name}}",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "scripts": {
    "build": "smoke-plugin-build plugin.ts -o {{name}}.wasm",
    "test": "esbuild plugin.test.ts --bundle --platform=node --format=esm --packages=external --log-level=warning --outfile=.test/plugin.test.mjs && node --test .test/plugin.test.mjs"
  },
  "dependencies": {
    "smoke-plugin": {{js_dependency}}
  }
}
"#;

const TS_MAKEFILE: &str = "# `make` builds {{name}}.wasm; `make test` runs the plugin's own tests.

build: {{name}}.wasm

node_modules/.package-lock.json: package.json
\tnpm install --no-audit --no-fund --loglevel=error

{{name}}.wasm: node_modules/.package-lock.json plugin.ts
\tnpm run --silent build

test: node_modules/.package-lock.json
\tnpm test --silent

.PHONY: build test
";

const TS_README: &str = r#"# {{name}}

A smoke plugin in TypeScript (contract smoke:plugin@0.2.0).

```sh
make          # npm install (the SDK with its pinned componentize-js and esbuild), then {{name}}.wasm
make test     # the plugin's own tests, natively (node --test)
smoke --plugin {{name}}.wasm --base-url http://127.0.0.1:8080
smoke dev --base-url http://127.0.0.1:8080           # rebuild and rerun at every save
```

The SDK: {{sdk}}. How to write a plugin: {{guide}}.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_are_checked_before_anything_is_written() {
        assert_eq!(bad_name("shop-rules"), None);
        assert_eq!(bad_name("v2"), None);
        assert!(bad_name("").is_some());
        assert!(bad_name("Shop").is_some());
        assert!(bad_name("2shop").is_some());
        assert!(bad_name("shop_rules").is_some());
        assert!(bad_name("shop-").is_some());
        assert!(bad_name("../evil").is_some());
    }

    #[test]
    fn every_template_is_filled() {
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            for sdk in [Sdk::Released, Sdk::File(PathBuf::from("/opt/dist/sdk"))] {
                for (path, text) in files(lang, "my-plugin", &sdk) {
                    assert!(!text.contains("{{"), "{path} of {lang:?} keeps a placeholder:\n{text}");
                }
            }
        }
    }

    #[test]
    fn a_project_asks_for_the_released_sdk_of_this_smoke_by_version() {
        let v = SDK_VERSION;
        let rust = files(Lang::Rust, "p", &Sdk::Released);
        let manifest: toml::Table = toml::from_str(&rust[0].1).expect("Cargo.toml parses");
        assert_eq!(manifest["dependencies"]["smoke-plugin"].as_str(), Some(cargo_requirement(v).as_str()));
        let js = files(Lang::Js, "p", &Sdk::Released);
        let package: serde_json::Value = serde_json::from_str(&js[2].1).expect("package.json parses");
        assert_eq!(package["dependencies"]["smoke-plugin"], format!("^{v}"));
        let python = files(Lang::Python, "p", &Sdk::Released);
        assert_eq!(python[2].1, format!("smoke-plugin~={v}\n"));
        assert_eq!(minor("0.2.0"), "0.2");
        assert_eq!(cargo_requirement("0.2.0"), "0.2");
        assert_eq!(
            cargo_requirement("0.3.0-rc.1"),
            "=0.3.0-rc.1",
            "Cargo matches a pre-release only by name"
        );
    }

    #[test]
    fn an_sdk_file_with_a_space_or_a_quote_in_its_path_stays_valid_toml_json_and_url() {
        let file = |name: &str| Sdk::File(PathBuf::from(format!("/home/a \"b\"/dist/{name}")));
        let rust = files(Lang::Rust, "p", &file("smoke-plugin.crate"));
        let manifest: toml::Table = toml::from_str(&rust[0].1).expect("Cargo.toml parses");
        let path = format!("sdk/smoke-plugin-{SDK_VERSION}");
        assert_eq!(manifest["dependencies"]["smoke-plugin"]["path"].as_str(), Some(path.as_str()));
        let js = files(Lang::Js, "p", &file("smoke-plugin.tgz"));
        let package: serde_json::Value = serde_json::from_str(&js[2].1).expect("package.json parses");
        assert_eq!(package["dependencies"]["smoke-plugin"], "file:/home/a \"b\"/dist/smoke-plugin.tgz");
        let python = files(Lang::Python, "p", &file("smoke_plugin.whl"));
        assert_eq!(python[2].1, "smoke-plugin @ file:///home/a%20%22b%22/dist/smoke_plugin.whl\n");
    }

    #[test]
    fn sdk_from_a_directory_without_the_package_says_which_file_it_wanted() {
        let dir = tempfile::tempdir().unwrap();
        let e = sdk_file(Lang::Python, dir.path()).unwrap_err();
        assert!(
            e.message.contains(&format!("holds no smoke_plugin-{SDK_VERSION}-py3-none-any.whl")),
            "{}",
            e.message
        );
        let wheel = dir.path().join(format!("smoke_plugin-{SDK_VERSION}-py3-none-any.whl"));
        std::fs::write(&wheel, b"").unwrap();
        assert_eq!(sdk_file(Lang::Python, dir.path()).unwrap(), wheel);
    }

    /// A `.crate` made with tar from `files` (paths under a directory), and `link` as a symlink.
    fn crate_file(dir: &Path, top: &str, link: Option<&str>) -> PathBuf {
        let src = dir.join("src");
        std::fs::create_dir_all(src.join(top)).unwrap();
        std::fs::write(src.join(top).join("Cargo.toml"), "[package]\n").unwrap();
        if let Some(target) = link {
            std::os::unix::fs::symlink(target, src.join(top).join("escape")).unwrap();
        }
        let file = dir.join("sdk.crate");
        let ok = std::process::Command::new("tar")
            .arg("-czf")
            .arg(&file)
            .arg("-C")
            .arg(&src)
            .arg(top)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tar made the crate");
        file
    }

    #[test]
    fn a_crate_unpacks_only_plain_files_under_its_own_directory() {
        let top = format!("smoke-plugin-{SDK_VERSION}");
        let dir = tempfile::tempdir().unwrap();
        let good = crate_file(&dir.path().join("good"), &top, None);
        unpack_crate(&good, &dir.path().join("into-good")).expect("a plain crate unpacks");
        assert!(dir.path().join("into-good").join(&top).join("Cargo.toml").is_file());

        let linked = crate_file(&dir.path().join("linked"), &top, Some("/etc"));
        let e = unpack_crate(&linked, &dir.path().join("into-linked")).unwrap_err();
        assert!(e.message.contains("escape"), "{}", e.message);
        assert!(
            !dir.path().join("into-linked").join(&top).exists(),
            "nothing is unpacked from a refused crate"
        );

        let other = crate_file(&dir.path().join("other"), "something-else-1.0.0", None);
        let e = unpack_crate(&other, &dir.path().join("into-other")).unwrap_err();
        assert!(e.message.contains(&format!("not a file or directory under {top}/")), "{}", e.message);
    }
}
