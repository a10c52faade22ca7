#!/usr/bin/env python3
"""Throughput: smoke running N single-request scenarios (status and one JSON pointer checked)
against nginx serving a small JSON document on 127.0.0.1, at --jobs 1, 8 and 64, and the raw load
tool oha sending the same number of requests at the same concurrency. Prints scenarios/s, oha's
requests/s, the ratio and smoke's peak memory; the last line is for --jobs 64:

    scenarios/s: X, oha: Y, ratio: Z

Figures, not pass/fail. Needs nginx (Debian: nginx-light) and oha (cargo install oha); `make
bench` installs both when missing. Environment: N (default 10000), JOBS (default "1 8 64"),
REPEAT (default 5): each figure is the median of REPEAT runs, since one run on a shared machine
can be slowed by a neighbour.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "target" / "release" / "smoke"
N = int(os.environ.get("N", "10000"))
JOBS = [int(j) for j in os.environ.get("JOBS", "1 8 64").split()]
REPEAT = int(os.environ.get("REPEAT", "5"))
BODY = '{"status":"ok","service":"bench","version":1}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(work: Path, port: int) -> subprocess.Popen:
    for d in ("logs", "tmp"):
        (work / d).mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
error_log {work}/logs/error.log;
pid {work}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {work}/tmp;
    proxy_temp_path {work}/tmp;
    fastcgi_temp_path {work}/tmp;
    uwsgi_temp_path {work}/tmp;
    scgi_temp_path {work}/tmp;
    server {{
        listen 127.0.0.1:{port};
        location = /health.json {{
            default_type application/json;
            return 200 '{BODY}';
        }}
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"nginx did not listen on {port}; see {work}/logs/error.log")


def write_plan(path: Path) -> None:
    step = {
        "request": {"method": "GET", "path": "/health.json"},
        "expect": {"status": [200], "body": [{"pointer": "/status", "test": "equals", "value": "ok"}]},
    }
    scenarios = [
        {"id": f"bench.{i:05}", "endpoint": "GET /health.json", "kind": "happy-path", "steps": [step]}
        for i in range(N)
    ]
    path.write_text(json.dumps({"scenarios": scenarios}))


def run_smoke(plan: Path, url: str, jobs: int, work: Path) -> tuple[float, float]:
    """Scenarios per second (whole process, wall clock) and peak RSS in MB."""
    env = dict(os.environ, SMOKE_STATE_DIR=str(work / "state"), SMOKE_CACHE_DIR=str(work / "cache"))
    args = [str(SMOKE), "run", "--plan", str(plan), "--base-url", url, "--jobs", str(jobs), "-q"]
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    summary = out.decode().strip().splitlines()[-1] if out.strip() else ""
    if os.waitstatus_to_exitcode(status) != 0 or not summary.startswith(f"{N} passed, 0 failed"):
        sys.exit(f"smoke --jobs {jobs} did not pass every scenario: {summary}\n{err.decode()[-2000:]}")
    return N / elapsed, usage.ru_maxrss / 1024


def run_oha(url: str, jobs: int) -> float:
    out = subprocess.run(
        ["oha", "-n", str(N), "-c", str(jobs), "--no-tui", "--output-format", "json", url],
        check=True,
        capture_output=True,
    ).stdout
    return json.loads(out)["summary"]["requestsPerSec"]


def main() -> None:
    for tool in ("nginx", "oha"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed; `make bench` installs it")
    if not SMOKE.is_file():
        sys.exit(f"{SMOKE} is missing; run `make build`")
    with tempfile.TemporaryDirectory(prefix="smoke-bench-") as tmp:
        work = Path(tmp)
        port = free_port()
        nginx = start_nginx(work, port)
        try:
            url = f"http://127.0.0.1:{port}"
            plan = work / "plan.json"
            write_plan(plan)
            run_oha(f"{url}/health.json", 8)  # warm-up
            print(
                f"{N} scenarios (GET, status + one JSON pointer), nginx on 127.0.0.1, "
                f"{os.cpu_count()} cores, median of {REPEAT} runs"
            )
            print(f"{'jobs':>5} {'smoke scen/s':>13} {'oha req/s':>11} {'ratio':>6} {'smoke peak MB':>14}")
            last = None
            for jobs in JOBS:
                # Interleaved, so a slow spell of the machine hits both tools alike.
                smokes, ohas = [], []
                for _ in range(REPEAT):
                    smokes.append(run_smoke(plan, url, jobs, work))
                    ohas.append(run_oha(f"{url}/health.json", jobs))
                rate = statistics.median(r for r, _ in smokes)
                peak = max(p for _, p in smokes)
                oha = statistics.median(ohas)
                last = (rate, oha, rate / oha)
                print(f"{jobs:>5} {rate:>13.0f} {oha:>11.0f} {rate / oha:>6.2f} {peak:>14.1f}")
            if last:
                print(f"scenarios/s: {last[0]:.0f}, oha: {last[1]:.0f}, ratio: {last[2]:.2f}")
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)


if __name__ == "__main__":
    main()
