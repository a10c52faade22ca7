#!/usr/bin/env python3
"""`smoke mcp-server`: how long each tool takes an agent, over stdio, on the shop example with the
generic OpenAPI plugin (a project holding its config and document). Prints the first
describe_target (cold: the plugin is compiled once into a fresh cache) and the median of REPEAT
calls of each tool once warm: describe_target, plan, validate_plan (one scenario), run (the whole
plan: the shop started, every scenario run, stopped) and explain_failure.

Figures, not pass/fail. Environment: REPEAT (default 5).
"""

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "target" / "release" / "smoke"
REPEAT = int(os.environ.get("REPEAT", "5"))
SCENARIO = {
    "id": "rules.product-listed",
    "endpoint": "GET /api/products",
    "kind": "happy-path",
    "steps": [{"request": {"method": "GET", "path": "/api/products"}, "expect": {"status": [200]}}],
}


class Server:
    def __init__(self, project, cache):
        env = dict(os.environ, SMOKE_CACHE_DIR=str(cache), SMOKE_STATE_DIR=str(cache / "state"))
        self.p = subprocess.Popen(
            [str(SMOKE), "mcp-server", "--project", str(project)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env,
        )
        self.n = 0
        self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message):
        self.p.stdin.write(json.dumps(message) + "\n")
        self.p.stdin.flush()

    def request(self, method, params):
        self.n += 1
        self.send({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params})
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise SystemExit("smoke mcp-server closed its stdout")
            message = json.loads(line)
            if message.get("id") == self.n:
                return message

    def tool(self, name, arguments):
        started = time.perf_counter()
        answer = self.request("tools/call", {"name": name, "arguments": arguments})
        took = time.perf_counter() - started
        return took, answer["result"]

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        project, cache = tmp / "project", tmp / "cache"
        project.mkdir()
        config = (ROOT / "examples/shop-api/openapi.smoke.toml").read_text()
        (project / "smoke.toml").write_text(config.replace("../../target/", f"{ROOT}/target/"))
        shutil.copy(ROOT / "examples/shop-api/openapi.json", project / "openapi.json")
        server = Server(project, cache)
        cold, _ = server.tool("describe_target", {})
        print(f"describe_target, cold cache (the plugin compiled): {cold:.2f} s")
        _, planned = server.tool("plan", {})
        first = planned["structuredContent"]["ids"][0]
        calls = [
            ("describe_target", {}),
            ("plan", {}),
            ("validate_plan", {"scenarios": [SCENARIO]}),
            ("run", {}),
            ("explain_failure", {"scenario": first}),
        ]
        for name, arguments in calls:
            times = []
            for _ in range(REPEAT):
                took, result = server.tool(name, arguments)
                if result.get("isError"):
                    raise SystemExit(f"{name}: {result['content'][0]['text']}")
                times.append(took)
            said = ""
            if name == "run":
                summary = result.get("structuredContent", {}).get("summary", {})
                said = f"  ({summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed)"
            print(f"{name:16} median {statistics.median(times) * 1000:7.1f} ms, max {max(times) * 1000:7.1f} ms{said}")
        server.close()


if __name__ == "__main__":
    main()
