#!/usr/bin/env python3
"""MCP tool calls per second: smoke running N single-call scenarios (`get_account` on one
account, its code checked) against the ledger example's MCP server, over Streamable HTTP (the
server started on a free port) and over stdio (smoke starts `ledger-api mcp` itself), at --jobs 1
and 8. Prints, per transport and --jobs, tool calls/s for the whole process (start, the MCP session,
the calls, the reports: wall clock) and smoke's peak memory.

Figures, not pass/fail. Environment: N (default 2000), JOBS (default "1 8"), REPEAT (default 3):
each figure is the median of REPEAT runs.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SMOKE_LOG, free_port, listening, peak_mb

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "target" / "release" / "smoke"
LEDGER = ROOT / "target" / "release" / "ledger-api"
N = int(os.environ.get("N", "2000"))
JOBS = [int(j) for j in os.environ.get("JOBS", "1 8").split()]
REPEAT = int(os.environ.get("REPEAT", "3"))
TOKEN = "smoke-ledger-token"


def ledger_db(work: Path) -> tuple[Path, str]:
    """A migrated database with the chart of accounts, and the id of account 1000."""
    db = work / "ledger.db"
    for command in ("migrate", "seed-chart"):
        subprocess.run([str(LEDGER), command, "--db", str(db)], check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([str(LEDGER), "--port", str(port), "--db", str(db)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not listening(port):
            sys.exit(f"nothing listens on port {port}")
        import urllib.request
        request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts",
                                         headers={"authorization": f"Bearer {TOKEN}"})
        accounts = json.load(urllib.request.urlopen(request, timeout=10))
        account = next(a["id"] for a in accounts["items"] if a["code"] == "1000")
    finally:
        server.kill()
        server.wait()
    return db, account


def write_plan(path: Path, account: str) -> None:
    step = {"tool_call": {"tool": "get_account", "arguments": {"account_id": account},
                          "expect": {"outcome": "success",
                                     "result": [{"pointer": "/code", "test": "equals", "value": "1000"}]}}}
    scenarios = [
        {"id": f"bench.{i:05}", "endpoint": "tool get_account", "kind": "happy-path", "steps": [step]}
        for i in range(N)
    ]
    path.write_text(json.dumps({"scenarios": scenarios}))


def run_smoke(plan: Path, target: list[str], jobs: int, work: Path) -> tuple[float, float]:
    """Tool calls per second (whole process, wall clock) and peak RSS in MB, as smoke logs it of
    itself (see common.peak_mb)."""
    env = dict(os.environ, SMOKE_STATE_DIR=str(work / "state"), SMOKE_CACHE_DIR=str(work / "cache"),
               **SMOKE_LOG)
    args = [str(SMOKE), "run", "--plan", str(plan), *target, "--jobs", str(jobs), "-q"]
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    out, err = done.stdout.decode(), done.stderr.decode()
    summary = out.strip().splitlines()[-1] if out.strip() else ""
    if done.returncode != 0 or not summary.startswith(f"{N} passed, 0 failed"):
        sys.exit(f"smoke --jobs {jobs} did not pass every call: {summary}\n{err[-2000:]}")
    peak = peak_mb(err)
    if peak is None:
        sys.exit(f"smoke --jobs {jobs} did not log its peak memory:\n{err[-2000:]}")
    return N / elapsed, peak


def main() -> None:
    for binary in (SMOKE, LEDGER):
        if not binary.exists():
            sys.exit(f"{binary} is missing: run `make build` first")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db, account = ledger_db(work)
        plan = work / "plan.json"
        write_plan(plan, account)
        port = free_port()
        server = subprocess.Popen([str(LEDGER), "--port", str(port), "--db", str(db)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not listening(port):
                sys.exit(f"nothing listens on port {port}")
            transports = {
                "http": ["--mcp-url", f"http://127.0.0.1:{port}/mcp",
                         "--mcp-header", f"Authorization: Bearer {TOKEN}"],
                "stdio": ["--mcp-command", f"{LEDGER} mcp --db {db}"],
            }
            print(f"MCP tool calls, {N} single-call scenarios against ledger-api (median of {REPEAT})")
            for name, target in transports.items():
                for jobs in JOBS:
                    runs = [run_smoke(plan, target, jobs, work) for _ in range(REPEAT)]
                    rate = statistics.median(r[0] for r in runs)
                    peak = max(r[1] for r in runs)
                    print(f"  {name:5} --jobs {jobs:2}: {rate:8.0f} tool calls/s, peak {peak:.0f} MB")
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
