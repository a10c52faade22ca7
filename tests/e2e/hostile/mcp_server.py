"""A small MCP server that misbehaves on request, for smoke's hostile-server tests.

    mcp_server.py MODE [--http PORT [--sse]] [--pid-file FILE]

Over stdio (the default) it reads JSON-RPC lines on stdin and answers on stdout; with --http it
serves Streamable HTTP at /mcp, answering every request with plain `application/json`, or with
--sse as a `text/event-stream` of one event.
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
  redirect         (--http) answer every POST with 307 to a login page, as a gateway in front of it
  login-page       (--http) answer every POST with 200 and a `text/html` sign-in page
  redirect-calls   (--http) behave until a `tools/call`, then answer every POST with 307 to a
                   login page, as a gateway whose session with the client expired
  oauth            (--http) want `Authorization: Bearer good-token`; without it answer 401 with a
                   challenge naming its OAuth protected-resource metadata, which names an
                   authorization server (this server, under /as) whose metadata is served too
  oauth-wrong-resource  as oauth, its metadata naming another resource than its URL
  oauth-no-as      as oauth, the authorization server it names publishing no metadata
  paged-resources  offer 45 resources (note://0 ... note://44), listed 10 to a page
  duplicate-tools  list `echo` twice, the second time with another description and inputSchema
  invalid-tool     list, over two pages (nextCursor), `echo`, a tool `broken` whose inputSchema
                   is `true`, an entry without a name, then `count`
  huge-schema      `echo`'s inputSchema also holds 10 MB of optional properties
  many-tools       list 100,000 tools `t0`...`t99999` (one page) besides `echo` and `count`
  hostile-names    also list tools whose names and descriptions hold a newline followed by
                   `::error`, ANSI escapes and other control characters (and so does the
                   server's name and version); a call of one of them answers `isError` with
                   the same text
  stderr-flood     write 100 MB to stderr (in lines) before reading stdin, then behave
  error-always     answer every call of a tool it lists with `isError` ("service unavailable"),
                   whatever its arguments
  notes            a store of notes instead: `create_note` (its result the note, `id` required),
                   `get_note` and `delete_note` by id, `list_notes`; with --state FILE it writes
                   the notes there (a JSON list) whenever they change
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

# Names a terminal or a CI log would obey if printed raw.
HOSTILE_NAMES = [
    "evil\n::error file=x::pwned",
    "red\x1b[31mALERT\x1b[0m",
    "bell\x07\x08\r::warning::overwritten",
]


NOTE = {"type": "object", "properties": {"id": {"type": "string"}, "text": {"type": "string"}}, "required": ["id", "text"]}
NOTE_TOOLS = [
    {"name": "create_note", "annotations": {"readOnlyHint": False, "destructiveHint": False},
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
     "outputSchema": NOTE},
    {"name": "get_note", "annotations": {"readOnlyHint": True},
     "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
     "outputSchema": NOTE},
    {"name": "list_notes", "annotations": {"readOnlyHint": True}, "inputSchema": {"type": "object", "properties": {}},
     "outputSchema": {"type": "object", "properties": {"items": {"type": "array", "items": NOTE}}, "required": ["items"]}},
    {"name": "delete_note", "annotations": {"readOnlyHint": False, "destructiveHint": True},
     "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}},
]
NOTES = {}


def notes(name, arguments):
    """The result of a call of a notes tool, or None for a tool it does not have."""
    def result(value, error=False):
        out = {"content": [{"type": "text", "text": json.dumps(value)}]}
        if error:
            out["isError"] = True
        elif isinstance(value, dict):
            out["structuredContent"] = value
        return out
    if name == "create_note":
        note = {"id": "n%d" % (len(NOTES) + 1), "text": str(arguments.get("text"))}
        while note["id"] in NOTES or note["id"] in GONE:
            note["id"] = "n%d" % (int(note["id"][1:]) + 1)
        NOTES[note["id"]] = note
    elif name == "list_notes":
        return result({"items": list(NOTES.values())})
    elif name in ("get_note", "delete_note"):
        note = NOTES.get(arguments.get("id"))
        if note is None:
            return result("no note %r" % arguments.get("id"), error=True)
        if name == "get_note":
            return result(note)
        GONE.add(note["id"])
        del NOTES[note["id"]]
        note = {"deleted": note["id"]}
    else:
        return None
    if "--state" in ARGS:
        with open(ARGS[ARGS.index("--state") + 1], "w") as f:
            json.dump(list(NOTES.values()), f)
    return result(note)


GONE = set()


def tools():
    """Every tool the mode lists, page by page: a list of pages."""
    if MODE == "notes":
        return [NOTE_TOOLS]
    if MODE == "duplicate-tools":
        other = dict(ECHO, description="Say it back, louder.", inputSchema={"type": "object", "properties": {"loud": {"type": "boolean"}}})
        return [[ECHO, COUNT, other]]
    if MODE == "invalid-tool":
        broken = {"name": "broken", "description": "Its schema is not an object.", "inputSchema": True}
        return [[ECHO, broken, {"description": "I have no name", "inputSchema": {"type": "object"}}], [COUNT]]
    if MODE == "huge-schema":
        filler = "x" * 80
        properties = {"p%06d" % i: {"type": "string", "description": filler} for i in range(90_000)}
        properties.update(ECHO["inputSchema"]["properties"])
        return [[dict(ECHO, inputSchema=dict(ECHO["inputSchema"], properties=properties)), COUNT]]
    if MODE == "many-tools":
        many = [{"name": "t%d" % i, "inputSchema": {"type": "object"}} for i in range(100_000)]
        return [[ECHO, COUNT] + many]
    if MODE == "hostile-names":
        hostile = [
            {"name": name, "description": "line one\n::error::from the description\x1b[2J",
             "annotations": {"readOnlyHint": True}, "inputSchema": {"type": "object"}}
            for name in HOSTILE_NAMES
        ]
        return [[ECHO, COUNT] + hostile]
    return [[ECHO, COUNT]]


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
            "capabilities": {"tools": {}, "resources": {}} if MODE == "paged-resources" else {"tools": {}},
            "serverInfo": {"name": "hostile-" + MODE, "version": "0.0.1"}
            if MODE != "hostile-names"
            else {"name": "hostile\n::error::server\x1b[2J", "version": "0.0.1\x1b]0;title\x07"},
        }
    elif method == "tools/list":
        pages = tools()
        cursor = (message.get("params") or {}).get("cursor")
        n = int(cursor) if cursor and cursor.isdigit() else 0
        if n >= len(pages):
            reply["error"] = {"code": -32602, "message": "no page %r" % cursor}
            return reply
        reply["result"] = {"tools": pages[n]}
        if n + 1 < len(pages):
            reply["result"]["nextCursor"] = str(n + 1)
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
        if not isinstance(params.get("arguments", {}), dict):
            reply["error"] = {"code": -32602, "message": "arguments must be an object"}
            return reply
        if MODE == "notes":
            arguments = params.get("arguments") or {}
            wants = {"create_note": "text", "get_note": "id", "delete_note": "id"}.get(params.get("name"))
            if (wants and wants not in arguments) or not isinstance(arguments.get("text", ""), str) \
                    or not isinstance(arguments.get("id", ""), str):
                reply["error"] = {"code": -32602, "message": "text and id are strings"}
                return reply
            reply["result"] = notes(params.get("name"), arguments)
            if reply["result"] is None:
                del reply["result"]
                reply["error"] = {"code": -32602, "message": "no tool named %r" % params.get("name")}
            return reply
        if MODE == "error-always" and params.get("name") in ("echo", "count"):
            said = "service unavailable: try again later"
            reply["result"] = {"content": [{"type": "text", "text": said}], "isError": True}
            return reply
        if params.get("name") in HOSTILE_NAMES:
            said = "%s\n::error::from a result\x1b[31m" % params["name"]
            reply["result"] = {"content": [{"type": "text", "text": said}], "isError": True}
            return reply
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
    elif method == "resources/list" and MODE == "paged-resources":
        cursor = (message.get("params") or {}).get("cursor") or "0"
        start = int(cursor) if cursor.isdigit() else 0
        page = [{"uri": "note://%d" % i, "name": "note %d" % i} for i in range(start, min(start + 10, 45))]
        reply["result"] = {"resources": page}
        if start + 10 < 45:
            reply["result"]["nextCursor"] = str(start + 10)
    elif method == "resources/read" and MODE == "paged-resources":
        uri = (message.get("params") or {}).get("uri", "")
        if not (uri.startswith("note://") and uri[7:].isdigit() and int(uri[7:]) < 45):
            reply["error"] = {"code": -32002, "message": "no resource %r" % uri}
            return reply
        reply["result"] = {"contents": [{"uri": uri, "text": "a note"}]}
    else:
        reply["error"] = {"code": -32601, "message": "no method %r" % method}
    return reply


def stdio():
    if MODE == "stderr-flood":
        line = b"flooding stderr " + b"." * 1000 + b"\n"
        block = line * 1024
        for _ in range(100 * 1000 * 1000 // len(block) + 1):
            sys.stderr.buffer.write(block)
        sys.stderr.buffer.write(b"flood done\n")
        sys.stderr.flush()
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

        def refuse(self, status, why):
            data = why.encode()
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            # What every Streamable HTTP server owes a client, whatever its mode: a page on another
            # site is refused (DNS rebinding), and so is a revision the server does not know.
            origin = self.headers.get("origin")
            if origin and not origin.startswith(("http://127.0.0.1:", "http://localhost:")):
                return self.refuse(403, "foreign Origin")
            if MODE.startswith("oauth") and self.headers.get("authorization") != "Bearer good-token":
                data = b'{"error": "invalid_token"}'
                self.send_response(401)
                metadata = "http://127.0.0.1:%d/.well-known/oauth-protected-resource/mcp" % port
                self.send_header("www-authenticate", 'Bearer resource_metadata="%s"' % metadata)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            version = self.headers.get("mcp-protocol-version")
            if version and version not in ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2026-07-28"):
                return self.refuse(400, "unsupported MCP-Protocol-Version")
            called = MODE == "redirect-calls" and b'"tools/call"' in body
            if MODE in ("redirect", "login-page") or called:
                page = b"<html><head><title>Sign in</title></head>\n<body><form action=/login>\x1b[31m::error::forged</form></body></html>"
                self.send_response(200 if MODE == "login-page" else 307)
                if MODE != "login-page":
                    self.send_header("location", "http://127.0.0.1:%d/login?next=/mcp" % port)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
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
            if "--sse" in ARGS:
                data = b"event: message\ndata: " + data + b"\n\n"
                self.send_header("content-type", "text/event-stream")
            else:
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            base = "http://127.0.0.1:%d" % port
            documents = {}
            if MODE.startswith("oauth"):
                resource = base + ("/other" if MODE == "oauth-wrong-resource" else "/mcp")
                documents["/.well-known/oauth-protected-resource/mcp"] = {
                    "resource": resource, "authorization_servers": [base + "/as"]}
                if MODE != "oauth-no-as":
                    documents["/.well-known/oauth-authorization-server/as"] = {
                        "issuer": base + "/as", "authorization_endpoint": base + "/as/authorize",
                        "token_endpoint": base + "/as/token", "response_types_supported": ["code"]}
            if self.path in documents:
                data = json.dumps(documents[self.path]).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(404 if self.path.startswith("/.well-known/") else 405)
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
