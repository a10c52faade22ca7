#!/usr/bin/env python3
"""Check an OpenAPI 3.0 document, and a smoke transcript against it.

    openapi_conformance.py DOCUMENT [TRANSCRIPT.jsonl]

The document must be valid OpenAPI (openapi-spec-validator). Then every exchange of the
transcript must match a documented operation (method and path template), its status must be
one the operation declares, and its JSON body must validate against the declared schema
(openapi-schema-validator, OpenAPI 3.0 dialect). Values smoke redacted ("[REDACTED]") are not
judged, since the transcript does not hold them. Prints one line per problem; exit 1 if any.
Used by the end-to-end tests; `make test-deps` installs the two validators.
"""

import json
import re
import sys

from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

REDACTED = "[REDACTED]"


def operations(doc):
    """(method, compiled path regex, template, operation) for every operation."""
    out = []
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                out.append((method.upper(), re.compile(pattern), template, op))
    return out


def find(ops, method, path):
    # A literal path wins over a templated one (as in routers and in the OpenAPI spec).
    matches = [o for o in ops if o[0] == method and o[1].match(path)]
    matches.sort(key=lambda o: o[2].count("{"))
    return matches[0] if matches else None


def main():
    doc = json.load(open(sys.argv[1]))
    validate(doc)
    if len(sys.argv) < 3:
        return 0
    ops = operations(doc)
    problems = []
    exchanges = 0
    for n, line in enumerate(open(sys.argv[2]), 1):
        entry = json.loads(line)
        response = entry.get("response")
        if response is None:
            continue
        exchanges += 1
        method = entry["request"]["method"]
        url = entry["request"]["url"]
        path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?")[0]
        where = f"line {n}: {method} {path} -> {response['status']}"
        op = find(ops, method, path)
        if op is None:
            problems.append(f"{where}: no documented operation")
            continue
        declared = op[3]["responses"]
        status = str(response["status"])
        spec = declared.get(status) or declared.get(status[0] + "XX") or declared.get("default")
        if spec is None:
            problems.append(f"{where}: status not declared (declared: {', '.join(sorted(declared))})")
            continue
        schema = spec.get("content", {}).get("application/json", {}).get("schema")
        if schema is None or not response.get("body"):
            continue
        try:
            body = json.loads(response["body"])
        except ValueError:
            problems.append(f"{where}: the body is not JSON")
            continue
        # Schemas refer to "#/components/...": give the schema the document's components.
        validator = OAS30Validator({**schema, "components": doc.get("components", {})})
        for error in validator.iter_errors(body):
            if error.instance == REDACTED:
                continue
            pointer = "/" + "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{where}: {pointer}: {error.message}")
    for p in problems:
        print(p)
    print(f"{exchanges} exchange(s) checked, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
