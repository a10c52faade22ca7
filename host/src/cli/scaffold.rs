//! `smoke plugin new NAME --lang rust|python|js`: a plugin project that builds with one command,
//! has a test of its own, and passes against any of the example services out of the box.
//!
//! The project depends on the SDK of this smoke's source tree by path (the SDKs are not
//! published to crates.io, PyPI or npm yet), found next to the smoke binary or given with
//! `--sdk-path`.

use super::{Failure, exit};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

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
    /// The smoke source tree whose SDKs the project uses [default: the one this smoke was built
    /// in].
    #[arg(long, value_name = "DIR", env = "SMOKE_SDK_PATH")]
    sdk_path: Option<PathBuf>,
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

/// The smoke source tree holding the SDKs: given, or the one this binary was built in
/// (`ROOT/target/release/smoke`).
fn sdk_root(given: Option<PathBuf>) -> Result<PathBuf, Failure> {
    let has_sdks = |root: &Path| root.join("plugins/sdk/Cargo.toml").is_file();
    if let Some(root) = given {
        let root = std::path::absolute(&root).unwrap_or(root);
        return if has_sdks(&root) {
            Ok(root)
        } else {
            Err(Failure::new(
                exit::USAGE,
                format!(
                    "--sdk-path {}: not a smoke source tree (it has no plugins/sdk/Cargo.toml)",
                    root.display()
                ),
            ))
        };
    }
    let exe = std::env::current_exe().ok().and_then(|e| e.canonicalize().ok());
    let found = exe.as_deref().and_then(|e| e.ancestors().skip(1).find(|dir| has_sdks(dir)));
    found.map(Path::to_path_buf).ok_or_else(|| {
        Failure::new(
            exit::USAGE,
            format!(
                "cannot find the smoke SDKs near this smoke ({}); pass --sdk-path with a smoke source tree",
                exe.map_or("its path is unknown".into(), |e| e.display().to_string())
            ),
        )
    })
}

/// The files of a new project, by relative path.
fn files(lang: Lang, name: &str, sdk: &Path) -> Vec<(&'static str, String)> {
    // The SDK's path goes into TOML, JSON and a URL, each escaped its own way (a space or a quote
    // in a path must not break the project).
    let sdk_in = |sub: &str| sdk.join(sub).display().to_string();
    let rust_dependency = toml::Value::String(sdk_in("plugins/sdk")).to_string();
    let python_requirement = url::Url::from_file_path(sdk.join("plugins/sdk-python"))
        .map_or_else(|()| format!("file://{}", sdk_in("plugins/sdk-python")), String::from);
    let js_dependency = serde_json::Value::String(format!("file:{}", sdk_in("plugins/sdk-js"))).to_string();
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{artifact}}", &name.replace('-', "_"))
            .replace("{{rust_dependency}}", &rust_dependency)
            .replace("{{python_requirement}}", &python_requirement)
            .replace("{{js_dependency}}", &js_dependency)
            .replace("{{sdk}}", &sdk.display().to_string())
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
            (".npmrc", "install-links=true\n"),
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
    let sdk = sdk_root(args.sdk_path)?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() {
        return Err(Failure::new(
            exit::USAGE,
            format!("{} already exists; nothing was written (choose another --dir)", dir.display()),
        ));
    }
    let write = |path: &Path, text: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)
    };
    for (relative, text) in files(args.lang, &args.name, &sdk) {
        let path = dir.join(relative);
        write(&path, &text)
            .map_err(|e| Failure::new(exit::USAGE, format!("cannot write {}: {e}", path.display())))?;
    }
    let (build, test) = match args.lang {
        Lang::Rust => ("cargo build --release --target wasm32-wasip2", "cargo test"),
        Lang::Python | Lang::Js => ("make", "make test"),
    };
    let artifact = match args.lang {
        Lang::Rust => format!("target/wasm32-wasip2/release/{}.wasm", args.name.replace('-', "_")),
        Lang::Python | Lang::Js => format!("{}.wasm", args.name),
    };
    crate::say!("created {} ({:?}, SDK from {})", dir.display(), args.lang, sdk.display());
    crate::say!("  build: cd {} && {build}", dir.display());
    crate::say!("  test:  {test}");
    crate::say!("  run:   smoke --plugin {artifact} --base-url http://127.0.0.1:8080");
    Ok(exit::PASSED)
}

const RUST_MANIFEST: &str = r#"[package]
name = "{{name}}"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
smoke-plugin = { path = {{rust_dependency}} }

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
```

`rustup target add wasm32-wasip2` once if the target is missing. The SDK comes from
{{sdk}}/plugins/sdk; its guide is {{sdk}}/docs/plugin-guide.md.
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

// Editable: the SDK is read from the smoke source tree as it is now (a `name @ file://` wheel
// would be cached by pip under its URL and go stale when the SDK changes).
const PYTHON_REQUIREMENTS: &str = "-e {{python_requirement}}\n";

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
```

The SDK comes from {{sdk}}/plugins/sdk-python; its guide is {{sdk}}/docs/plugin-guide.md.
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
```

The SDK comes from {{sdk}}/plugins/sdk-js; its guide is {{sdk}}/docs/plugin-guide.md.
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
            for (path, text) in files(lang, "my-plugin", Path::new("/opt/smoke")) {
                assert!(!text.contains("{{"), "{path} of {lang:?} keeps a placeholder:\n{text}");
            }
        }
    }

    #[test]
    fn an_sdk_path_with_a_space_or_a_quote_stays_valid_toml_json_and_url() {
        let sdk = Path::new("/home/a \"b\"/smoke");
        let rust = files(Lang::Rust, "p", sdk);
        let manifest: toml::Table = toml::from_str(&rust[0].1).expect("Cargo.toml parses");
        assert_eq!(
            manifest["dependencies"]["smoke-plugin"]["path"].as_str(),
            Some("/home/a \"b\"/smoke/plugins/sdk")
        );
        let js = files(Lang::Js, "p", sdk);
        let package: serde_json::Value = serde_json::from_str(&js[2].1).expect("package.json parses");
        assert_eq!(package["dependencies"]["smoke-plugin"], "file:/home/a \"b\"/smoke/plugins/sdk-js");
        let python = files(Lang::Python, "p", sdk);
        assert_eq!(python[2].1, "-e file:///home/a%20%22b%22/smoke/plugins/sdk-python\n");
    }
}
