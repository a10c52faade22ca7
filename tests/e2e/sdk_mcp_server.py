"""An MCP server on the official Python SDK (PyPI `mcp` 2.x, pinned in the Makefile), for smoke's
tests of both protocol generations.

    sdk_mcp_server.py REVISIONS [--http PORT]

Over stdio (the default), or Streamable HTTP at http://127.0.0.1:PORT/mcp. REVISIONS:
  2026-07-28   the discover generation only: `initialize` is refused with UnsupportedProtocolVersion
               (-32022) naming 2026-07-28, as a server that dropped the handshake answers it
  2025-11-25   the handshake generation only: `server/discover` is unknown (-32601), as a server
               written before 2026-07-28 answers it
  both         the SDK as it comes: either

Its tools: `echo` (read-only; its result's structuredContent is {"said": text}) and `add`
(integers a and b; structuredContent {"sum": a + b}). It has no prompts and refuses `prompts/get`
with -32602 as MCP prescribes (the SDK itself raises a ValueError there, which its 2026-07-28 path
answers as -32603, internal error).
"""

import io
import json
import os
import sys
import threading

from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import ToolAnnotations

REVISIONS = sys.argv[1]
if REVISIONS not in ("2026-07-28", "2025-11-25", "both"):
    sys.exit(f"usage: {sys.argv[0]} 2026-07-28|2025-11-25|both [--http PORT]")


async def one_generation(ctx, call_next):
    """Refuse the beginning of a session of the generation this server does not speak."""
    if REVISIONS == "2026-07-28" and ctx.method == "initialize":
        raise MCPError(-32022, "Unsupported protocol version", {"supported": ["2026-07-28"]})
    if REVISIONS == "2025-11-25" and ctx.method == "server/discover":
        raise MCPError(-32601, "Method not found", ctx.method)
    if ctx.method == "prompts/get":
        raise MCPError(-32602, "Unknown prompt", (ctx.params or {}).get("name"))
    return await call_next(ctx)


def without_discover_on_stdin():
    """Over stdio the SDK serves a connection in the generation of its first request, so a
    `server/discover` would make it refuse the `initialize` after it: answer it here, -32601, as a
    server written before 2026-07-28 does, and pass every other line on."""
    read, write = os.pipe()
    given, out = sys.stdin.buffer, sys.stdout.buffer

    def relay():
        for line in given:
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("method") == "server/discover" and "id" in message:
                error = {"code": -32601, "message": "Method not found"}
                out.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "error": error}).encode() + b"\n")
                out.flush()
                continue
            os.write(write, line)
        os.close(write)

    threading.Thread(target=relay, daemon=True).start()
    sys.stdin = io.TextIOWrapper(os.fdopen(read, "rb"), encoding="utf-8")


server = MCPServer(name="sdk-test-server", version="1.0.0", middleware=[one_generation])


@server.tool(description="Say it back.", annotations=ToolAnnotations(readOnlyHint=True))
def echo(text: str) -> dict[str, str]:
    return {"said": text}


@server.tool(description="Add two integers.", annotations=ToolAnnotations(readOnlyHint=True))
def add(a: int, b: int) -> dict[str, int]:
    return {"sum": a + b}


if "--http" in sys.argv:
    port = int(sys.argv[sys.argv.index("--http") + 1])
    server.run("streamable-http", host="127.0.0.1", port=port, streamable_http_path="/mcp")
else:
    if REVISIONS == "2025-11-25":
        without_discover_on_stdin()
    server.run("stdio")
