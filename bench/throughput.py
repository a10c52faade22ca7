#!/usr/bin/env python3
"""Throughput: smoke running N single-request scenarios (status and one JSON pointer checked)
against nginx serving a small JSON document on 127.0.0.1, at --jobs 1, 8 and 64; the raw load
tool oha sending the same number of requests at the same concurrency; and Hurl (`hurl --test`)
sending the same requests with the same two assertions, split into files that run JOBS at a time
(Hurl runs a file's entries one after another). Prints scenarios/s, oha's and Hurl's rates,
smoke's ratio to each and smoke's peak memory; the last line is for --jobs 64:

    scenarios/s: X, oha: Y, ratio: Z, hurl: H, ratio: W

smoke is timed as a whole process (start, plan parsing, the requests, the reports), oha by its
own timer (the requests alone), so `/oha` is the stricter ratio; `/oha wall` divides by oha's
whole-process rate instead, like for like.

The same over HTTPS (TLS 1.3 to nginx, a CA and certificate made for the run, smoke given the CA
with --cacert, oha told not to verify): smoke's rate, oha's and the ratio at each --jobs.

Then smoke alone on plans of BIG scenarios (default "100000 1000000"): rate and peak memory; and
for the first of them, the plan run as 3 shards and `smoke report merge` of their reports: its
time and peak memory.

Figures, not pass/fail. Needs nginx (Debian: nginx-light), oha and hurl (cargo install); `make
bench` installs them when missing. Environment: N (default 10000), JOBS (default "1 8 64"),
REPEAT (default 5): each figure is the median of REPEAT runs, since one run on a shared machine
can be slowed by a neighbour; BIG ("" for none); SMOKE_UNDER_TEST (another build of smoke to
measure, as the tests take it).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SMOKE_LOG, free_port, listening, peak_mb

ROOT = Path(__file__).resolve().parent.parent
SMOKE = Path(os.environ.get("SMOKE_UNDER_TEST") or ROOT / "target" / "release" / "smoke")
N = int(os.environ.get("N", "10000"))
JOBS = [int(j) for j in os.environ.get("JOBS", "1 8 64").split()]
REPEAT = int(os.environ.get("REPEAT", "5"))
BIG = [int(n) for n in os.environ.get("BIG", "100000 1000000").split()]
BODY = '{"status":"ok","service":"bench","version":1}'


def make_certificates(work: Path) -> None:
    """A CA, and a certificate for 127.0.0.1 it signs (ca.pem, cert.pem, key.pem in `work`)."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=work)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=smoke bench CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "key.pem", "-out", "cert.csr", "-subj", "/CN=127.0.0.1")
    (work / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "cert.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", "cert.pem", "-days", "2", "-extfile", "ext.cnf")


def start_nginx(work: Path, port: int, tls_port: int) -> subprocess.Popen:
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
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {work}/cert.pem;
        ssl_certificate_key {work}/key.pem;
        ssl_protocols TLSv1.3;
        location = /health.json {{
            default_type application/json;
            return 200 '{BODY}';
        }}
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"])
    if listening(port) and listening(tls_port):
        return proc
    proc.kill()
    sys.exit(f"nginx did not listen on {port}; see {work}/logs/error.log")


def write_plan(path: Path, n: int = N) -> None:
    step = {
        "request": {"method": "GET", "path": "/health.json"},
        "expect": {"status": [200], "body": [{"pointer": "/status", "test": "equals", "value": "ok"}]},
    }
    scenarios = [
        {"id": f"bench.{i:05}", "endpoint": "GET /health.json", "kind": "happy-path", "steps": [step]}
        for i in range(n)
    ]
    path.write_text(json.dumps({"scenarios": scenarios}))


def write_hurl(work: Path, url: str, jobs: int) -> list[Path]:
    """The same N requests and assertions as Hurl files: one for --jobs 1, else 4 per job."""
    entry = f"GET {url}/health.json\nHTTP 200\n[Asserts]\njsonpath \"$.status\" == \"ok\"\n\n"
    count = 1 if jobs == 1 else jobs * 4
    files = []
    for k in range(count):
        path = work / f"hurl-{jobs}-{k:03}.hurl"
        path.write_text(entry * (N // count + (1 if k < N % count else 0)))
        files.append(path)
    return files


def run_hurl(files: list[Path], jobs: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        ["hurl", "--test", "--jobs", str(jobs), "--no-output", *map(str, files)], capture_output=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"hurl --jobs {jobs} failed:\n{done.stderr.decode()[-2000:]}")
    return N / elapsed


def run_smoke(plan: Path, url: str, jobs: int, work: Path, n: int = N) -> tuple[float, float]:
    """Scenarios per second (whole process, wall clock) and peak RSS in MB.

    The peak is the one smoke logs of itself (see common.peak_mb)."""
    env = dict(os.environ, SMOKE_STATE_DIR=str(work / "state"), SMOKE_CACHE_DIR=str(work / "cache"),
               **SMOKE_LOG)
    args = [str(SMOKE), "run", "--plan", str(plan), "--base-url", url, "--jobs", str(jobs), "-q"]
    if url.startswith("https:"):
        args += ["--cacert", str(work / "ca.pem")]
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    out, err = done.stdout.decode(), done.stderr.decode()
    summary = out.strip().splitlines()[-1] if out.strip() else ""
    if done.returncode != 0 or not summary.startswith(f"{n} passed, 0 failed"):
        sys.exit(f"smoke --jobs {jobs} did not pass every scenario: {summary}\n{err[-2000:]}")
    peak = peak_mb(err)
    if peak is None:
        sys.exit(f"smoke --jobs {jobs} did not log its peak memory:\n{err[-2000:]}")
    return n / elapsed, peak


def merge_shards(plan: Path, url: str, work: Path, n: int) -> tuple[float, float]:
    """Run the plan as 3 shards, then merge their reports: the merge's seconds and peak MB."""
    env = dict(os.environ, SMOKE_STATE_DIR=str(work / "state"), SMOKE_CACHE_DIR=str(work / "cache"),
               **SMOKE_LOG)
    parts = [work / f"shard-{i}.json" for i in (1, 2, 3)]
    for i, part in enumerate(parts, 1):
        done = subprocess.run([str(SMOKE), "run", "--plan", str(plan), "--base-url", url, "--jobs", "64", "-q",
                               "--shard", f"{i}/3", "--report-json", str(part)], env=env, capture_output=True)
        if done.returncode != 0:
            sys.exit(f"smoke --shard {i}/3 failed:\n{done.stderr.decode()[-2000:]}")
    started = time.perf_counter()
    done = subprocess.run([str(SMOKE), "report", "merge", *map(str, parts), "--report-json", str(work / "merged.json")],
                          env=env, capture_output=True)
    seconds = time.perf_counter() - started
    out, err = done.stdout.decode(), done.stderr.decode()
    if done.returncode != 0 or f"{n} passed, 0 failed" not in out:
        sys.exit(f"smoke report merge failed:\n{out[-1000:]}{err[-2000:]}")
    peak = peak_mb(err)
    if peak is None:
        sys.exit(f"smoke report merge did not log its peak memory:\n{err[-2000:]}")
    for part in parts + [work / "merged.json"]:
        part.unlink()
    return seconds, peak


def run_oha(url: str, jobs: int) -> tuple[float, float]:
    """oha's own requests/s (its timer: the requests alone) and N over its whole process's wall
    clock (start, the requests, its summary), the measure smoke is timed by."""
    started = time.perf_counter()
    insecure = ["--insecure"] if url.startswith("https:") else []
    out = subprocess.run(
        ["oha", "-n", str(N), "-c", str(jobs), "--no-tui", "--output-format", "json", *insecure, url],
        check=True,
        capture_output=True,
    ).stdout
    elapsed = time.perf_counter() - started
    return json.loads(out)["summary"]["requestsPerSec"], N / elapsed


def main() -> None:
    for tool in ("nginx", "oha", "hurl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed; `make bench` installs it")
    if not SMOKE.is_file():
        sys.exit(f"{SMOKE} is missing; run `make build`")
    with tempfile.TemporaryDirectory(prefix="smoke-bench-") as tmp:
        work = Path(tmp)
        port, tls_port = free_port(), free_port()
        make_certificates(work)
        nginx = start_nginx(work, port, tls_port)
        try:
            url = f"http://127.0.0.1:{port}"
            plan = work / "plan.json"
            write_plan(plan)
            run_oha(f"{url}/health.json", 8)  # warm-up
            print(
                f"{N} scenarios (GET, status + one JSON pointer), nginx on 127.0.0.1, "
                f"{os.cpu_count()} cores, median of {REPEAT} runs"
            )
            print(
                f"{'jobs':>5} {'smoke scen/s':>13} {'oha req/s':>11} {'/oha':>6} "
                f"{'hurl req/s':>11} {'/hurl':>6} {'smoke peak MB':>14} {'/oha wall':>10}"
            )
            last = None
            for jobs in JOBS:
                hurl_files = write_hurl(work, url, jobs)
                # Interleaved, so a slow spell of the machine hits every tool alike.
                smokes, ohas, hurls = [], [], []
                for _ in range(REPEAT):
                    smokes.append(run_smoke(plan, url, jobs, work))
                    ohas.append(run_oha(f"{url}/health.json", jobs))
                    hurls.append(run_hurl(hurl_files, jobs))
                rate = statistics.median(r for r, _ in smokes)
                peak = max(p for _, p in smokes)
                oha = statistics.median(r for r, _ in ohas)
                oha_wall = statistics.median(w for _, w in ohas)
                hurl = statistics.median(hurls)
                last = (rate, oha, rate / oha, hurl, rate / hurl)
                print(
                    f"{jobs:>5} {rate:>13.0f} {oha:>11.0f} {rate / oha:>6.2f} "
                    f"{hurl:>11.0f} {rate / hurl:>6.2f} {peak:>14.1f} {rate / oha_wall:>10.2f}"
                )
            if last:
                print(
                    f"scenarios/s: {last[0]:.0f}, oha: {last[1]:.0f}, ratio: {last[2]:.2f}, "
                    f"hurl: {last[3]:.0f}, ratio: {last[4]:.2f}"
                )
            tls_url = f"https://127.0.0.1:{tls_port}"
            last_tls = (0.0, 0.0, 0.0)
            run_oha(f"{tls_url}/health.json", 8)  # warm-up
            print(f"HTTPS (TLS 1.3, {N} scenarios, median of {REPEAT} runs)")
            print(f"{'jobs':>5} {'smoke scen/s':>13} {'oha req/s':>11} {'/oha':>6} {'smoke peak MB':>14} {'/oha wall':>10}")
            for jobs in JOBS:
                smokes, ohas = [], []
                for _ in range(REPEAT):
                    smokes.append(run_smoke(plan, tls_url, jobs, work))
                    ohas.append(run_oha(f"{tls_url}/health.json", jobs))
                rate = statistics.median(r for r, _ in smokes)
                peak = max(p for _, p in smokes)
                oha = statistics.median(r for r, _ in ohas)
                oha_wall = statistics.median(w for _, w in ohas)
                print(f"{jobs:>5} {rate:>13.0f} {oha:>11.0f} {rate / oha:>6.2f} {peak:>14.1f} {rate / oha_wall:>10.2f}")
                last_tls = (rate, oha, rate / oha)
            print(f"https scenarios/s: {last_tls[0]:.0f}, oha: {last_tls[1]:.0f}, ratio: {last_tls[2]:.2f}")
            for k, n in enumerate(BIG):
                big = work / f"plan-{n}.json"
                write_plan(big, n)
                rate, peak = run_smoke(big, url, 64, work, n)
                print(f"{n} scenarios, --jobs 64: {rate:.0f} scenarios/s, peak {peak:.0f} MB")
                if k == 0:
                    seconds, peak = merge_shards(big, url, work, n)
                    print(f"{n} scenarios in 3 shards, `smoke report merge`: {seconds:.1f} s, peak {peak:.0f} MB")
                big.unlink()
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)


if __name__ == "__main__":
    main()
