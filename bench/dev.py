"""Edit to verdict with `smoke dev`: for a project made by `smoke plugin new` in each language (the
SDK packages of dist/), the time from writing a one-line change to the verdict `smoke dev`
prints for it, alternating an edit that breaks a scenario and one that fixes it, against the
ledger example that smoke dev starts once. Also the first verdict (environment, runner, first
compile). Figures, not pass/fail; the targets on a quiet 2-core machine are beside them. Run via
`make bench`."""

import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "target/release/smoke"
EDITS = int(os.environ.get("EDITS", "6"))

# language, file edited, the line's text as scaffolded, the breaking change, target seconds
LANGUAGES = [
    ("rust", "src/lib.rs", '"/status", "ok"', '"/status", "okay"', 3.0),
    ("python", "app.py", '"/status", "ok"', '"/status", "okay"', 5.0),
    ("js", "plugin.ts", "'/status', 'ok'", "'/status', 'okay'", 5.0),
]


def scaffold(lang: str, work: Path) -> Path:
    project = work / f"demo-{lang}"
    subprocess.run([str(SMOKE), "plugin", "new", f"demo-{lang}", "--lang", lang, "--sdk-from", str(ROOT / "dist"),
                    "--dir", str(project)], check=True, capture_output=True, timeout=60)
    return project


def verdicts(process: subprocess.Popen, lines: "queue.Queue[tuple[float, str]]") -> None:
    for line in process.stdout:
        lines.put((time.monotonic(), line.rstrip("\n")))


def wait_verdict(lines: "queue.Queue[tuple[float, str]]", n: int, within: float) -> tuple[float, str]:
    deadline = time.monotonic() + within
    while True:
        try:
            at, line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            sys.exit(f"no verdict {n} within {within:.0f} s")
        if line.startswith(f"[{n}] "):
            return at, line


def measure(lang: str, file: str, ok: str, broken: str, work: Path) -> tuple[float, list[float]]:
    project = scaffold(lang, work)
    env = dict(os.environ, SMOKE_CACHE_DIR=str(work / f"cache-{lang}"), NO_COLOR="1",
               CARGO_TARGET_DIR=str(ROOT / "target/scaffold"))
    env.pop("FAULTS", None)
    started = time.monotonic()
    process = subprocess.Popen([str(SMOKE), "dev", str(project), "--config", "examples/ledger-api/smoke.toml"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: "queue.Queue[tuple[float, str]]" = queue.Queue()
    threading.Thread(target=verdicts, args=(process, lines), daemon=True).start()
    try:
        at, line = wait_verdict(lines, 1, 900)
        first = at - started
        if "PASS" not in line:
            sys.exit(f"{lang}: the scaffold does not pass at start: {line}")
        times = []
        path = project / file
        for n in range(2, EDITS + 2):
            time.sleep(0.5)  # an author's pause; and file times a tick apart
            text = path.read_text()
            before, after = (ok, broken) if n % 2 == 0 else (broken, ok)
            written = time.monotonic()
            path.write_text(text.replace(before, after, 1))
            at, line = wait_verdict(lines, n, 120)
            expected = "FAIL" if n % 2 == 0 else "PASS"
            if expected not in line:
                sys.exit(f"{lang}: edit {n - 1} gave {line!r}, expected {expected}")
            times.append(at - written)
        return first, times
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    print(f"smoke dev, edit to verdict (a one-line change to a scaffolded plugin, {EDITS} edits alternating "
          "break and fix, against the ledger example):")
    print(f"  {'language':<11}{'first s':>9}{'median s':>10}{'max s':>8}{'target s':>10}")
    with tempfile.TemporaryDirectory() as work:
        for lang, file, ok, broken, target in LANGUAGES:
            first, times = measure(lang, file, ok, broken, Path(work))
            name = "typescript" if lang == "js" else lang
            print(f"  {name:<11}{first:>9.1f}{statistics.median(times):>10.2f}{max(times):>8.2f}{target:>10.1f}"
                  f"   (all: {', '.join(f'{t:.2f}' for t in times)})")
    print("  first: from `smoke dev` to its first verdict with a cold cache (environment, runner, first compile)")


if __name__ == "__main__":
    main()
