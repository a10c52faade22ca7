"""``smoke-plugin-build MODULE -o PLUGIN.wasm``: build a Python plugin into a component.

Runs the pinned componentize-py against the contract this SDK ships (``wit/plugin.wit``), with the
module's directory and this SDK on the path. MODULE is the module that assigns
``Guest = export(YourPlugin)`` (``app`` for ``app.py``).

``--dev`` builds instead the runner ``smoke dev`` loads (``smoke_plugin.dev``): the same
interpreter and imports, with the plugin's own modules read again at each call, so an edit is
seconds from a verdict.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

WIT = Path(__file__).resolve().parent / "wit"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smoke-plugin-build", description=__doc__.splitlines()[0])
    parser.add_argument("module", help="the module that exports the plugin (app for app.py)")
    parser.add_argument("-o", "--output", required=True, help="the component to write (.wasm)")
    parser.add_argument("-p", "--path", action="append", default=[],
                        help="another directory to find modules in (repeatable); the current one is always searched")
    parser.add_argument("--dev", action="store_true",
                        help="build the runner smoke dev loads, which reads the module again at every call")
    args = parser.parse_args(argv)
    module_file = Path(args.module.replace(".", "/") + ".py")
    if not module_file.is_file() and not Path(args.module.replace(".", "/"), "__init__.py").is_file():
        print(f"smoke-plugin-build: no module {args.module!r} here ({module_file} does not exist); "
              f"run it where your plugin's module is", file=sys.stderr)
        return 2
    sdk_root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="smoke-plugin-build-") as work:
        module = args.module
        extra = []
        if args.dev:
            # The runner's entry: the plugin imported once (what it imports joins the snapshot),
            # then the runner that imports it again from /project at every call.
            Path(work, "smoke_dev_entry.py").write_text(
                "import smoke_plugin.dev as _dev\n"
                f"import {args.module}\n"
                f"Guest = _dev.runner({args.module!r})\n"
            )
            module, extra = "smoke_dev_entry", [work]
        paths = [os.getcwd(), *args.path, *extra, str(sdk_root)]
        runner = "import sys, componentize_py; sys.argv[0] = 'componentize-py'; sys.exit(componentize_py.script())"
        command = [sys.executable, "-c", runner, "-d", str(WIT), "-w", "plugin", "componentize"]
        for p in paths:
            command += ["-p", p]
        command += [module, "-o", args.output]
        done = subprocess.run(command)
    if done.returncode != 0:
        print(f"smoke-plugin-build: componentize-py failed (exit {done.returncode}) building {args.module}",
              file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
