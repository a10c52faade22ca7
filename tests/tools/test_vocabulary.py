"""vocabulary.py finds every difference it says it finds: run by `make house` (and so `make test`)."""

import pathlib
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import vocabulary as v  # noqa: E402

CHECKER = pathlib.Path(__file__).with_name("vocabulary.py")

LIST = """# a header comment
Step.get
Step.query
Status.class

[attributes]
CheckInput.config

[language only]
rust: Step.http   the contract's record

[deprecated aliases]
python: Step.query_param -> Step.query
"""

RUST = """
pub type Stat = Status;
impl Step {
    pub fn new() -> Self { todo!() }
    pub fn get(path: &str) -> Self { let _ = "pub fn not_code()"; Self::new() }
    // pub fn commented_out() {}
    pub fn query(self, name: &str, value: &str) -> Self { self }
    pub fn http(&self) -> &Http { todo!() }
    fn private(&self) {}
}
impl Stat {
    pub fn class(digit: u8) -> Self { Status::Class(digit) }
}
impl CheckInput {
    pub fn config(&self, name: &str) -> Option<&str> { None }
}
impl Default for Step {
    fn default() -> Self { todo!() }
}
"""

PYTHON = """
from dataclasses import dataclass


@dataclass
class Step:
    path: str

    @staticmethod
    def get(path):
        return Step(path)

    def query(self, name, value):
        return self

    def query_param(self, name, value):
        return self.query(name, value)

    def _private(self):
        return self


class Status:
    @staticmethod
    def class_(digit):
        return digit


@dataclass
class CheckInput:
    config: dict
"""

TYPESCRIPT = """
export declare class Step {
  constructor(method: string, path: string);
  /** A GET. */
  static get(path: string): Step;
  query(name: string, value: string): this;
}
export declare const Status: { class(value: number): { tag: 'class'; val: number } };
export declare class CheckInput {
  config: Record<string, string>;
}
"""

GUIDE = """# Guide

| Rust | Python | TypeScript | what it does |
|---|---|---|---|
| `Step::get` | `Step.get` | `Step.get` | a GET |
| `Step::query` | `Step.query` | `Step.query` | a query parameter |
| `Status::class` | `Status.class_` | `Status.class` | every status of a class |
| `CheckInput::config` | `CheckInput.config` | `CheckInput.config` | a config value |

The end.
"""


def tree(**changes):
    """A repository holding the fake SDKs above, with `changes` (part: text) made to them."""
    parts = {"list": LIST, "rust": RUST, "python": PYTHON, "typescript": TYPESCRIPT, "guide": GUIDE, **changes}
    root = pathlib.Path(tempfile.mkdtemp())
    files = {
        "plugins/vocabulary.txt": parts["list"],
        "plugins/sdk/src/builders.rs": parts["rust"],
        "plugins/sdk-python/smoke_plugin/__init__.py": parts["python"],
        "plugins/sdk-js/src/index.d.ts": parts["typescript"],
        "docs/plugin-guide.md": parts["guide"],
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def check(root):
    return subprocess.run([sys.executable, str(CHECKER), str(root)], capture_output=True, text=True)


def differences(list_text=LIST, rust=RUST, typescript=TYPESCRIPT, python_root=None):
    """What compare() finds, the Python SDK read from `python_root` (the default tree's when None)."""
    vocabulary = v.parse_vocabulary(list_text)
    types = vocabulary.types()
    sdks = {
        "rust": v.rust_names({"builders.rs": rust}, types),
        "python": v.read_python((python_root or tree()) / "plugins" / "sdk-python", types),
        "typescript": v.typescript_names({"index": typescript}, types),
    }
    return v.compare(vocabulary, sdks)


class Vocabulary(unittest.TestCase):
    def test_sdks_and_a_guide_that_agree_with_the_list_pass(self):
        r = check(tree())
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_name_missing_from_one_sdk_fails_naming_that_sdk(self):
        r = check(tree(rust=RUST.replace("pub fn query", "fn query")))
        self.assertEqual(r.returncode, 1)
        self.assertIn("rust: Step::query is missing", r.stderr)
        problems = differences(typescript=TYPESCRIPT.replace("  config: Record<string, string>;\n", ""))
        self.assertEqual(problems, ["typescript: CheckInput.config is missing (plugins/vocabulary.txt lists it under [attributes])"])

    def test_a_name_the_list_does_not_have_fails_as_extra_in_its_sdk(self):
        problems = differences(typescript=TYPESCRIPT.replace("query(name", "timeout(ms: number): this;\n  query(name"))
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("typescript: Step.timeout is extra", problems[0])
        python = tree(python=PYTHON + "\n\ndef _call(tool):\n    return tool\n\n\nStep.call_tool = staticmethod(_call)\n")
        r = check(python)
        self.assertEqual(r.returncode, 1)
        self.assertIn("python: Step.call_tool is extra", r.stderr)

    def test_a_deprecated_alias_is_allowed_only_in_the_sdk_it_is_listed_for(self):
        self.assertEqual(differences(), [], "Python's query_param is listed")
        problems = differences(typescript=TYPESCRIPT.replace("query(name", "queryParam(n: string, v: string): this;\n  query(name"))
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("typescript: Step.queryParam is extra", problems[0])
        stale = differences(LIST + "typescript: Step.query_param -> Step.query\n")
        self.assertEqual(stale, ["typescript: Step.queryParam is under [deprecated aliases] but not in the SDK"])

    def test_a_stale_missing_misspelt_or_moved_guide_row_fails(self):
        vocabulary = v.parse_vocabulary(LIST)
        self.assertEqual(v.guide_problems(GUIDE, vocabulary), [])
        stale = GUIDE.replace("\n\nThe end.", "\n| `Step::query_param` | `Step.query_param` | `Step.queryParam` | old |\n\nThe end.")
        self.assertEqual(
            v.guide_problems(stale, vocabulary),
            ["docs/plugin-guide.md: table row Step.query_param is stale: plugins/vocabulary.txt does not list it"],
        )
        missing = GUIDE.replace("| `Step::get` | `Step.get` | `Step.get` | a GET |\n", "")
        self.assertEqual(v.guide_problems(missing, vocabulary), ["docs/plugin-guide.md: the table has no row for Step.get"])
        misspelt = GUIDE.replace("`Status.class_`", "`Status.class`")
        self.assertIn("it should read `Status::class` | `Status.class_` | `Status.class`", v.guide_problems(misspelt, vocabulary)[0])
        lines = GUIDE.splitlines(keepends=True)
        lines[4], lines[5] = lines[5], lines[4]
        self.assertEqual(v.guide_problems("".join(lines), vocabulary),
                         ["docs/plugin-guide.md: the table's rows are not in plugins/vocabulary.txt's order"])
        self.assertIn("has no table", v.guide_problems("# Guide\n", vocabulary)[0])
        r = check(tree(guide=stale))
        self.assertEqual(r.returncode, 1)
        self.assertIn("table row Step.query_param is stale", r.stderr)

    def test_a_line_the_list_cannot_read_is_refused(self):
        with self.assertRaises(ValueError) as e:
            v.parse_vocabulary("Step.get\nStep.expectStatus\n[deprecated]\n")
        self.assertIn("line 2: 'Step.expectStatus' is not Type.snake_name", str(e.exception))
        self.assertIn("line 3: unknown section [deprecated]", str(e.exception))
        with self.assertRaises(ValueError):
            v.parse_vocabulary("[deprecated aliases]\nperl: Step.a -> Step.b\n")

    def test_typescript_declarations_give_methods_and_properties_apart(self):
        names = v.typescript_names(
            {"index": """export declare class CheckInput {
  config: Record<string, string>;
  toolCall?: { tool: string; result?: { [key: string]: Json | undefined }; latencyMs: number };
  /** A comment with a call(like) this; */
  argument<T = Json>(): T;
  mix(status: StatusMatch, at?: (n: number) => boolean): this;
}"""},
            {"CheckInput"},
        )
        self.assertEqual(set(names.methods), {"CheckInput.argument", "CheckInput.mix"})
        self.assertEqual(names.attributes, {"CheckInput.config", "CheckInput.tool_call"})


if __name__ == "__main__":
    unittest.main()
