"""house.py refuses what it says it refuses: run by `make test` and `make lint`."""

import pathlib
import subprocess
import sys
import tempfile
import unittest

HOUSE = pathlib.Path(__file__).with_name("house.py")


def repo(files):
    """A git repository holding `files` (path: text), all tracked."""
    root = pathlib.Path(tempfile.mkdtemp())
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    subprocess.run(["git", "-C", str(root), "add", "--", *files], check=True)
    return root


def house(root):
    return subprocess.run([sys.executable, str(HOUSE), str(root)], capture_output=True, text=True)


CLEAN = {
    "host/src/lib.rs": "pub mod a;\npub mod b;\n",
    "host/src/a.rs": "use crate::b::Thing;\npub fn f() -> Result<(), Thing> { Ok(()) }\n",
    "host/src/b.rs": "pub struct Thing;\n#[cfg(test)]\nmod tests { use crate::a::f; }\n",
}


class HouseRules(unittest.TestCase):
    def test_a_clean_tree_passes(self):
        r = house(repo(CLEAN))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_tracked_path_with_a_control_character_fails(self):
        r = house(repo({**CLEAN, '    Tool::new("x")\n        .annotate()': "fn x() {}\n"}))
        self.assertEqual(r.returncode, 1)
        self.assertIn("control characters U+000A", r.stderr)

    def test_a_path_windows_cannot_check_out_fails(self):
        r = house(repo({**CLEAN, "docs/a:b.md": "x"}))
        self.assertEqual(r.returncode, 1)
        self.assertIn("Windows", r.stderr)

    def test_an_import_circle_fails(self):
        r = house(repo({**CLEAN, "host/src/b.rs": "use crate::a::f;\npub struct Thing;\n"}))
        self.assertEqual(r.returncode, 1)
        self.assertIn("import circle among a, b", r.stderr)

    def test_siblings_that_import_each_other_fail(self):
        files = {
            **CLEAN,
            "host/src/a.rs": "mod x;\nmod y;\n",
            "host/src/a/x.rs": "use super::y::Y;\npub struct X;\n",
            "host/src/a/y.rs": "pub struct Y;\nfn g() { let _ = super::x::X; }\n",
            "host/src/b.rs": "pub struct Thing;\n",
        }
        r = house(repo(files))
        self.assertIn("import circle among a::x, a::y", r.stderr)

    def test_a_long_function_fails_and_a_string_error_fails(self):
        body = "    let _ = 1;\n" * 119
        r = house(repo({**CLEAN, "host/src/b.rs": f"pub struct Thing;\nfn long() {{\n{body}}}\n"}))
        self.assertIn("fn long is 121 lines", r.stderr)
        r = house(repo({**CLEAN, "host/src/b.rs": "pub struct Thing;\nfn e() -> Result<Vec<u8>, String> { todo!() }\n"}))
        self.assertIn("Result<Vec<u8>,String>", r.stderr)
        r = house(repo({**CLEAN, "host/src/b.rs": "pub struct Thing;\n// Result<(), String> in a comment\nconst S: &str = \"Result<u8, String>\";\n"}))
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
