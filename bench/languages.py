"""Plugins per language: component size, cold compile (empty cache), cached load, and the time of
one `plan` and one `check` call (each in a fresh instance, as every call runs), measured from
smoke's own debug log on real runs against the example services; and how fast a plugin built for
an unsupported contract version is refused. Figures, not pass/fail. Run via `make bench`."""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "target/release/smoke"
RUNS = int(os.environ.get("RUNS", "3"))

PLUGINS = [
    ("rust", "ecommerce", ROOT / "target/wasm32-wasip2/release/ecommerce.wasm", "examples/shop-api/smoke.toml"),
    ("python", "iot", ROOT / "target/python/iot.wasm", "examples/iot-api/smoke.toml"),
    ("typescript", "shop-audit", ROOT / "target/typescript/shop-audit.wasm", "examples/shop-api/smoke.toml"),
]


def smoke_log(plugin: Path, config: str, cache: Path) -> str:
    env = dict(os.environ, RUST_LOG="smoke=debug", SMOKE_CACHE_DIR=str(cache), NO_COLOR="1")
    env.pop("FAULTS", None)
    done = subprocess.run([str(SMOKE), "run", "--config", config, "--plugin", str(plugin)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"{plugin.name}: the run failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stderr


def figures(pattern: str, log: str) -> list[float]:
    return [float(x) for x in re.findall(pattern, log)]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    print(f"plugins per language, median of {RUNS} runs (cold: empty cache; the rest from the cache):")
    print(f"  {'language':<11}{'plugin':<12}{'size MiB':>9}{'cold ms':>10}{'cached ms':>11}{'plan ms':>9}{'check ms':>10}")
    for language, name, plugin, config in PLUGINS:
        cold, cached, plan, check = [], [], [], []
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as cache:
                cold += figures(r"compiled in ([0-9.]+) ms", smoke_log(plugin, config, Path(cache)))
                log = smoke_log(plugin, config, Path(cache))
                cached += figures(r"reused compiled artifact from cache .* \(([0-9.]+) ms\)", log)
                plan += figures(r"`plan` took ([0-9.]+) ms", log)
                check += figures(r"`check` took ([0-9.]+) ms", log)
        size = plugin.stat().st_size / 1048576
        print(f"  {language:<11}{name:<12}{size:>9.1f}{median(cold):>10.0f}{median(cached):>11.1f}"
              f"{median(plan):>9.1f}{median(check):>10.1f}")

    future = ROOT / "target/wasm32-wasip2/release/future_wit.wasm"
    walls = []
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(20):
            started = time.perf_counter()
            done = subprocess.run([str(SMOKE), "--plugin", str(future), "--base-url", "http://127.0.0.1:9"], cwd=ROOT,
                                  env=dict(os.environ, SMOKE_CACHE_DIR=cache), capture_output=True, text=True)
            walls.append((time.perf_counter() - started) * 1000)
            assert done.returncode == 4 and "smoke:plugin@0.3.0" in done.stderr, done.stderr
    print(f"a plugin for an unsupported contract refused (exit 4, both versions named): "
          f"{median(walls):.1f} ms wall, whole process, median of 20")
    print(f"unsupported contract refused in ms: {median(walls):.1f}")


if __name__ == "__main__":
    main()
