"""A small MCP server that misbehaves on request, for smoke's hostile-server tests.

    mcp_server.py MODE [--http PORT] [--pid-file FILE]

Over stdio (the default) it reads JSON-RPC lines on stdin and answers on stdout; with --http it
serves Streamable HTTP at /mcp, answering every request with plain `application/json` (no SSE).
It offers two tools: `echo`, whose result's structuredContent is `{"said": <text>}`, and `count`,
which answers how many times it was called as JSON in its one text content (no structuredContent).

Modes:
  correct          behave
  no-initialize    never answer `initialize`
  hang-call        answer `initialize` and `tools/list`, never answer `tools/call`
  exit-mid-run     exit (status 3) on the second `tools/call`
  garbage-stdout   print a line that is not JSON before answering the first `tools/call`
  wrong-output     `echo` declares an outputSchema and answers something else
  accepts-invalid  `echo` answers arguments its inputSchema refuses instead of refusing them
  crash-invalid    `echo` fails with an internal error (-32603) on arguments it should refuse
"""

import json
import os
import sys
import time

MODE = sys.argv[1]
ARGS = sys.argv[2:]
CALLS = 0

ECHO = {
    "name": "echo",
    "description": "Say it back.",
    "annotations": {"readOnlyHint": True},
    "inputSchema": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
    "outputSchema": {
        "type": "object",
        "properties": {"said": {"type": "string"}},
        "required": ["said"],
    },
}


COUNT = {
    "name": "count",
    "description": "How many times this tool was called, this one included.",
    "annotations": {"readOnlyHint": False, "destructiveHint": False},
    "inputSchema": {"type": "object", "properties": {}},
}
COUNTED = 0


def answer(message):
    """The answer to one JSON-RPC message: None for notifications and for what is never answered."""
    global CALLS, COUNTED
    method = message.get("method")
    if "id" not in message:
        return None
    reply = {"jsonrpc": "2.0", "id": message["id"]}
    if method == "initialize":
        if MODE == "no-initialize":
            return None
        reply["result"] = {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "hostile-" + MODE, "version": "0.0.1"},
        }
    elif method == "tools/list":
        reply["result"] = {"tools": [ECHO, COUNT]}
    elif method == "tools/call":
        CALLS += 1
        if MODE == "hang-call":
            return None
        if MODE == "exit-mid-run" and CALLS == 2:
            sys.exit(3)
        if MODE == "garbage-stdout" and CALLS == 1:
            sys.stdout.write("server ready! (debug print)\n")
            sys.stdout.flush()
        params = message.get("params", {})
        if params.get("name") == "count":
            COUNTED += 1
            reply["result"] = {"content": [{"type": "text", "text": json.dumps({"count": COUNTED})}]}
            return reply
        if params.get("name") != "echo":
            reply["error"] = {"code": -32602, "message": "no tool named %r" % params.get("name")}
            return reply
        text = (params.get("arguments") or {}).get("text")
        if not isinstance(text, str) and MODE == "crash-invalid":
            reply["error"] = {"code": -32603, "message": "TypeError: text.upper is not a function"}
            return reply
        if not isinstance(text, str) and MODE != "accepts-invalid":
            reply["error"] = {"code": -32602, "message": "text must be a string"}
            return reply
        said = {"told": text} if MODE == "wrong-output" else {"said": text}
        reply["result"] = {
            "content": [{"type": "text", "text": json.dumps(said)}],
            "structuredContent": said,
        }
    elif method == "ping":
        reply["result"] = {}
    else:
        reply["error"] = {"code": -32601, "message": "no method %r" % method}
    return reply


def stdio():
    for line in sys.stdin:
        reply = answer(json.loads(line))
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    # stdin closed: the client is gone.


def http(port):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            reply = answer(json.loads(body))
            if reply is None:
                if "id" in json.loads(body):
                    time.sleep(3600)  # never answer
                self.send_response(202)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.send_response(405)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_DELETE(self):
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if "--pid-file" in ARGS:
    with open(ARGS[ARGS.index("--pid-file") + 1], "w") as f:
        f.write(str(os.getpid()))
if "--http" in ARGS:
    http(int(ARGS[ARGS.index("--http") + 1]))
else:
    stdio()
