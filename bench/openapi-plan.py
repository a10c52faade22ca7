#!/usr/bin/env python3
"""OpenAPI planning at scale: generated OpenAPI 3.0 documents (tests/tools/openapi_document.py):
500 operations (100 resources, each with list, create, read, replace and delete; constrained
bodies; $refs), and a 13 MB one of 1,200 operations with the long descriptions and wide schemas
of a real public API's document, each planned by the openapi plugin with `smoke plan` and
default flags: once to compile the plugin into the cache, then timed
(median of RUNS, default 5) with the compiled plugin loaded from the cache. Prints the wall time
of the whole `smoke plan` process and the plan's size. Figures, not pass/fail; `make bench` runs it.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "target" / "release" / "smoke"
PLUGIN = ROOT / "target" / "wasm32-wasip2" / "release" / "openapi.wasm"
RUNS = int(os.environ.get("RUNS", "5"))
sys.path.insert(0, str(ROOT / "tests" / "tools"))
from openapi_document import document  # noqa: E402  (shared with the end-to-end tests)


def main() -> None:
    for f in (SMOKE, PLUGIN):
        if not f.is_file():
            sys.exit(f"{f} is missing; run `make build`")
    with tempfile.TemporaryDirectory(prefix="smoke-bench-openapi-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, SMOKE_CACHE_DIR=str(work / "cache"), NO_COLOR="1")
        for label, doc in (("500 operations", document(100)), ("big", document(240, big=True))):
            spec = work / "spec.json"
            spec.write_text(json.dumps(doc, indent=1 if label == "big" else None))
            size = spec.stat().st_size / 1e6
            operations = sum(len([m for m in item if m != "parameters"]) for item in doc["paths"].values())
            # Default flags: the plugin memory limit grows with the document, nothing to raise.
            args = [str(SMOKE), "plan", "--plugin", str(PLUGIN), "--plugin-config", f"spec={spec}"]
            subprocess.run(args, env=env, check=True, capture_output=True)  # compile into the cache
            times, out = [], b""
            for _ in range(RUNS):
                started = time.perf_counter()
                out = subprocess.run(args, env=env, check=True, capture_output=True).stdout
                times.append(time.perf_counter() - started)
            plan = json.loads(out)
            print(
                f"openapi plan: {operations} operations ({size:.1f} MB) -> {len(plan['scenarios'])} scenarios in "
                f"{statistics.median(times) * 1000:.0f} ms (median of {RUNS}, default flags, compiled plugin from cache)"
            )


if __name__ == "__main__":
    main()
