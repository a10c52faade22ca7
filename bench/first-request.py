#!/usr/bin/env python3
"""Time to first request: how long after `smoke run` is started the first byte of its first HTTP
request reaches the service, for a one-scenario plan from the ledger plugin, already compiled in
the cache, against the ledger example running on 127.0.0.1 (a fresh database each run).

The service sits behind a small forwarding proxy in this script, which notes the moment the first
byte of a connection arrives; the clock starts just before the smoke process is spawned, so the
figure includes exec, reading the config, loading the plugin from the cache, asking it for the plan
and scheduling. Also prints the whole run's wall time (to its exit, reports written).

Figures, not pass/fail (target: under 10 ms). Environment: REPEAT (default 15): the median and the
spread of REPEAT runs; SCENARIO: the scenario id [default: the plan's first scenario that depends
on none].
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import free_port, listening

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "target" / "release" / "smoke"
LEDGER = ROOT / "target" / "release" / "ledger-api"
PLUGIN = ROOT / "target" / "wasm32-wasip2" / "release" / "ledger.wasm"
REPEAT = int(os.environ.get("REPEAT", "15"))
TOKEN = "smoke-ledger-token"


class Proxy:
    """Forwards 127.0.0.1:port to the upstream port, noting when a request's first byte arrives."""

    def __init__(self, upstream: int):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.first: float | None = None
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.first = None

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client: socket.socket) -> None:
        with client:
            data = client.recv(65536)
            arrived = time.perf_counter()
            if not data:
                return
            # Health probes that connect and close send nothing; the first byte is the request.
            with self.lock:
                if self.first is None:
                    self.first = arrived
            with socket.create_connection(("127.0.0.1", self.upstream), timeout=10) as up:
                up.sendall(data)
                back = threading.Thread(target=pipe, args=(up, client), daemon=True)
                back.start()
                pipe(client, up)
                back.join(timeout=10)


def pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def start_ledger(work: Path, template: Path, index: int) -> tuple[subprocess.Popen, int]:
    db = work / f"ledger-{index}.db"
    shutil.copyfile(template, db)
    port = free_port()
    server = subprocess.Popen(
        [str(LEDGER), "--port", str(port), "--db", str(db)],
        env=dict(os.environ, LEDGER_TOKEN=TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not listening(port):
        sys.exit(f"ledger-api did not listen on 127.0.0.1:{port} within 10 s")
    return server, port


def choose_scenario(env: dict) -> str:
    if os.environ.get("SCENARIO"):
        return os.environ["SCENARIO"]
    out = subprocess.run(
        [str(SMOKE), "plan", "--plugin", str(PLUGIN), "--plugin-config", f"token={TOKEN}"],
        env=env, check=True, capture_output=True,
    ).stdout
    for scenario in json.loads(out)["scenarios"]:
        if not scenario.get("depends_on"):
            return scenario["id"]
    sys.exit("the ledger plan has no scenario without dependencies; set SCENARIO")


def main() -> None:
    for path in (SMOKE, LEDGER, PLUGIN):
        if not path.is_file():
            sys.exit(f"{path} is missing; run `make build test-plugins`")
    with tempfile.TemporaryDirectory(prefix="smoke-first-") as tmp:
        work = Path(tmp)
        template = work / "template.db"
        for command in ("migrate", "seed-chart"):
            subprocess.run([str(LEDGER), command, "--db", str(template)], check=True, capture_output=True)
        env = dict(os.environ, SMOKE_CACHE_DIR=str(work / "cache"), SMOKE_STATE_DIR=str(work / "state"),
                   NO_COLOR="1")
        scenario = choose_scenario(env)  # also compiles the plugin into the cache
        firsts, walls = [], []
        # One warm-up run (page cache, the cache's index), then the measured ones.
        for index in range(REPEAT + 1):
            server, port = start_ledger(work, template, index)
            proxy = Proxy(port)
            try:
                args = [str(SMOKE), "run", "--plugin", str(PLUGIN), "--plugin-config", f"token={TOKEN}",
                        "--base-url", f"http://127.0.0.1:{proxy.port}", "--filter", scenario, "-q"]
                started = time.perf_counter()
                done = subprocess.run(args, env=env, capture_output=True)
                ended = time.perf_counter()
                if done.returncode != 0:
                    sys.exit(f"smoke run --filter {scenario} exited {done.returncode}:\n"
                             f"{done.stdout.decode()[-2000:]}{done.stderr.decode()[-2000:]}")
                if proxy.first is None:
                    sys.exit("smoke's run passed but no request reached the service")
                if index > 0:
                    firsts.append((proxy.first - started) * 1000)
                    walls.append((ended - started) * 1000)
            finally:
                proxy.listener.close()
                server.kill()
                server.wait()
        first, wall = statistics.median(firsts), statistics.median(walls)
        print(f"one scenario ({scenario}), ledger plugin from the cache, ledger-api on 127.0.0.1, "
              f"median of {REPEAT} runs:")
        print(f"  start to first request: {first:.1f} ms   (min {min(firsts):.1f}, max {max(firsts):.1f}; "
              f"target under 10 ms)")
        print(f"  whole run (to exit):    {wall:.1f} ms   (min {min(walls):.1f}, max {max(walls):.1f})")
        print(f"first request ms: {first:.1f}, run wall ms: {wall:.1f}")


if __name__ == "__main__":
    main()
