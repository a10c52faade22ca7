#!/usr/bin/env python3
"""OpenAPI planning at scale: a generated OpenAPI 3.0 document with 500 operations (100
resources, each with list, create, read, replace and delete; constrained bodies; $refs), planned
by the openapi plugin with `smoke plan`: once to compile the plugin into the cache, then timed
(median of RUNS, default 5) with the compiled plugin loaded from the cache. Prints the wall time
of the whole `smoke plan` process and the plan's size. Figures, not pass/fail; `make bench` runs it.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "target" / "release" / "smoke"
PLUGIN = ROOT / "target" / "wasm32-wasip2" / "release" / "openapi.wasm"
RUNS = int(os.environ.get("RUNS", "5"))
RESOURCES = 100


def document() -> dict:
    paths, schemas = {}, {}
    err = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for i in range(RESOURCES):
        name = f"Thing{i}"
        schemas[name] = {
            "type": "object",
            "required": ["id", "name", "size"],
            "properties": {
                "id": {"type": "string", "format": "uuid", "readOnly": True},
                "name": {"type": "string", "minLength": 1, "maxLength": 40},
                "size": {"type": "integer", "minimum": 1, "maximum": 100},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
            },
        }
        one = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
        body = {"required": True, **one}
        pid = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
        paths[f"/things{i}"] = {
            "get": {"operationId": f"list{i}", "responses": {"200": {"description": "all", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}}}}}},
            "post": {"operationId": f"create{i}", "requestBody": body, "responses": {"201": {"description": "created", **one}, "422": err}},
        }
        paths[f"/things{i}/{{id}}"] = {
            "parameters": [pid],
            "get": {"operationId": f"get{i}", "responses": {"200": {"description": "one", **one}, "404": err}},
            "put": {"operationId": f"put{i}", "requestBody": body, "responses": {"200": {"description": "replaced", **one}, "404": err, "422": err}},
            "delete": {"operationId": f"delete{i}", "responses": {"204": {"description": "gone"}, "404": err}},
        }
    schemas["Error"] = {"type": "object", "properties": {"error": {"type": "string"}}}
    return {"openapi": "3.0.3", "info": {"title": "bench", "version": "1"}, "paths": paths, "components": {"schemas": schemas}}


def main() -> None:
    for f in (SMOKE, PLUGIN):
        if not f.is_file():
            sys.exit(f"{f} is missing; run `make build`")
    with tempfile.TemporaryDirectory(prefix="smoke-bench-openapi-") as tmp:
        work = Path(tmp)
        spec = work / "spec.json"
        doc = document()
        spec.write_text(json.dumps(doc))
        operations = sum(len([m for m in item if m != "parameters"]) for item in doc["paths"].values())
        env = dict(os.environ, SMOKE_CACHE_DIR=str(work / "cache"), NO_COLOR="1")
        args = [str(SMOKE), "plan", "--plugin", str(PLUGIN), "--plugin-config", f"spec={spec}"]
        subprocess.run(args, env=env, check=True, capture_output=True)  # compile into the cache
        times, out = [], b""
        for _ in range(RUNS):
            started = time.perf_counter()
            out = subprocess.run(args, env=env, check=True, capture_output=True).stdout
            times.append(time.perf_counter() - started)
        plan = json.loads(out)
        print(
            f"openapi plan: {operations} operations -> {len(plan['scenarios'])} scenarios in "
            f"{statistics.median(times) * 1000:.0f} ms (median of {RUNS}, compiled plugin from cache)"
        )


if __name__ == "__main__":
    main()
