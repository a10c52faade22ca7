#!/usr/bin/env python3
"""A hostile service under test, for tests/e2e/hostile: it serves a tiny JSON API on $PORT, and
misbehaves as asked by its arguments, bounded in time (it exits by itself after 120 s).

  --garbage       print bytes that are not UTF-8, control characters and a 2 MB line without a
                  newline to stdout and stderr, before and while serving
  --daemonize F   start two processes that leave the service's process group (one by setsid,
                  one by a double fork) and sleep; write their pids to F, one per line
  --never-healthy serve /health with 503

GET /sleep/N answers after N ms (at most 5 s), for tests of how long scenarios take.
"""
import http.server
import os
import sys
import threading
import time

args = sys.argv[1:]
port = int(os.environ["PORT"])


def garbage():
    out = sys.stdout.buffer
    out.write(b"starting \xff\xfe\x00 not utf-8 \x1b]0;pwned\x07\r\n")
    out.write(b"y" * (2 << 20))
    out.write(b"\n")
    out.flush()
    sys.stderr.buffer.write(b"\xc3\x28 invalid continuation byte\n")
    sys.stderr.buffer.flush()


def sleeper():
    os.execvp("sleep", ["sleep", "300"])


def daemonize(pid_file):
    pids = []
    # setsid: a new session and process group.
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.setsid()
        sleeper()
    pids.append(child)
    # A double fork: the grandchild is orphaned at once.
    child = os.fork()
    if child == 0:
        os.setsid()
        grandchild = os.fork()
        if grandchild == 0:
            sleeper()
        os.write(w, f"{grandchild}\n".encode())
        os._exit(0)
    os.waitpid(child, 0)
    pids.append(int(os.read(r, 64).decode().strip()))
    with open(pid_file, "w") as f:
        f.write("".join(f"{p}\n" for p in pids))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *a):
        if "--garbage" in args:
            sys.stdout.buffer.write(b"request \xff\xfe " + (format % a).encode() + b"\n")
            sys.stdout.buffer.flush()

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self.reply(503 if "--never-healthy" in args else 200, '{"ok": true}')
        elif self.path.startswith("/sleep/"):
            time.sleep(min(int(self.path[len("/sleep/"):]), 5000) / 1000)
            self.reply(200, '{"slept": true}')
        else:
            self.reply(200, '{"id": "x"}')


if "--garbage" in args:
    garbage()
if "--daemonize" in args:
    daemonize(args[args.index("--daemonize") + 1])
threading.Timer(120, lambda: os._exit(0)).start()
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
