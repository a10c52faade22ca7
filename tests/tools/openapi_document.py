#!/usr/bin/env python3
"""A generated OpenAPI 3.0 document, for planning at scale: RESOURCES resources, each with list,
create, read, replace and delete (five operations), constrained bodies and `$ref`s. With
`--big`, 240 resources (1,200 operations) whose schemas carry the long descriptions, examples
and many properties of a real public API's document: about 13 MB of JSON.

    python3 tests/tools/openapi_document.py OUT.json [--big]

The bench (bench/openapi-plan.py) and the end-to-end tests share it; the same arguments always
write the same bytes.
"""

import json
import sys

PROSE = (
    "This field is part of the public contract of the resource. It is returned by every read, "
    "may be changed by a replace, and is validated on write; see the guide for the rules that "
    "apply to it and for the history of changes to its meaning. "
)


def document(resources: int, big: bool = False) -> dict:
    paths, schemas = {}, {}
    err = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for i in range(resources):
        name = f"Thing{i}"
        properties = {
            "id": {"type": "string", "format": "uuid", "readOnly": True},
            "name": {"type": "string", "minLength": 1, "maxLength": 40},
            "size": {"type": "integer", "minimum": 1, "maximum": 100},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
        }
        if big:
            for j in range(40):
                properties[f"attribute_{j}"] = {
                    "type": "string",
                    "maxLength": 200,
                    "description": f"Attribute {j} of {name}. " + PROSE * 3,
                    "example": f"value {j} of {name}",
                }
            properties["metadata"] = {
                "type": "object",
                "description": PROSE,
                "properties": {f"key_{k}": {"type": "string", "description": PROSE} for k in range(10)},
            }
        schemas[name] = {"type": "object", "required": ["id", "name", "size"], "properties": properties}
        one = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
        body = {"required": True, **one}
        pid = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
        about = {"description": (PROSE * 10) if big else "", "tags": [f"group{i % 20}"]}
        paths[f"/things{i}"] = {
            "get": {"operationId": f"list{i}", **about, "responses": {"200": {"description": "all", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}}}}}},
            "post": {"operationId": f"create{i}", **about, "requestBody": body, "responses": {"201": {"description": "created", **one}, "422": err}},
        }
        paths[f"/things{i}/{{id}}"] = {
            "parameters": [pid],
            "get": {"operationId": f"get{i}", **about, "responses": {"200": {"description": "one", **one}, "404": err}},
            "put": {"operationId": f"put{i}", **about, "requestBody": body, "responses": {"200": {"description": "replaced", **one}, "404": err, "422": err}},
            "delete": {"operationId": f"delete{i}", **about, "responses": {"204": {"description": "gone"}, "404": err}},
        }
    schemas["Error"] = {"type": "object", "properties": {"error": {"type": "string"}}}
    return {"openapi": "3.0.3", "info": {"title": "bench", "version": "1"}, "paths": paths, "components": {"schemas": schemas}}


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    big = "--big" in sys.argv[2:]
    doc = document(240 if big else 100, big)
    with open(sys.argv[1], "w") as f:
        json.dump(doc, f, indent=1 if big else None)


if __name__ == "__main__":
    main()
