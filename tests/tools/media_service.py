#!/usr/bin/env python3
"""A strict little API for the OpenAPI plugin's media-type tests, serving on $PORT its own
document at /openapi.json. It honours content negotiation as a careful server does: an
operation producing only PNG answers 406 to a request whose Accept does not allow image/png, a
form endpoint answers 415 to anything but application/x-www-form-urlencoded, a multipart one
415 to anything but multipart/form-data, and a missing field is 422. It exits by itself after
120 s.

It also keeps notes (create, read, delete), to show that the plugin's state checks can fail:

  --fault upload-500       the multipart upload answers 500 (so a passing run is shown able to fail)
  --fault note-not-stored  a created note reads back with an empty title
  --fault delete-ignored   deleting a note answers 204 and keeps it

and tags, created with no body: a tag's id is only in the `Location` header of its create.

  --fault location-wrong   the Location names a tag that does not exist

It serves a document split in parts at /docs/remote.json: one part on its own host
(127.0.0.1), one named by another host that is private too (localhost). /docs/requested lists
the parts asked for.
  --document           print the OpenAPI document and exit
"""
import email.parser
import email.policy
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

if "--document" in sys.argv:
    PORT = 0
else:
    PORT = int(os.environ["PORT"])
FAULT = sys.argv[sys.argv.index("--fault") + 1] if "--fault" in sys.argv else ""
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "media", "version": "1"},
    "paths": {
        "/avatar": {"get": {"operationId": "getAvatar", "responses": {
            "200": {"description": "the picture", "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}}}},
        "/login": {"post": {"operationId": "login",
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["user", "password"],
                "properties": {"user": {"type": "string", "pattern": "^[a-z]{3,8}$"}, "password": {"type": "string", "minLength": 8}}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}}}}},
                "415": {"description": "not a form"}, "422": {"description": "a field is missing"}}}},
        "/uploads": {"post": {"operationId": "upload",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["title", "file"],
                "properties": {"title": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"201": {"description": "stored", "content": {"application/json": {"schema": {
                "type": "object", "required": ["size"], "properties": {"size": {"type": "integer", "minimum": 1}}}}}},
                "415": {"description": "not multipart"}, "422": {"description": "a part is missing"}}}},
        "/notes": {"post": {"operationId": "createNote",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewNote"}}}},
            "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}},
                "422": {"description": "invalid"}}}},
        "/tags": {"post": {"operationId": "createTag",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["label"], "properties": {"label": {"type": "string", "minLength": 1}}}}}},
            "responses": {"201": {"description": "created", "headers": {"Location": {"schema": {"type": "string"}}}},
                "422": {"description": "invalid"}}}},
        "/tags/{tag}": {"get": {"operationId": "getTag",
            "parameters": [{"name": "tag", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the tag", "content": {"application/json": {"schema": {
                "type": "object", "required": ["label"], "properties": {"label": {"type": "string"}}}}}},
                "404": {"description": "no such tag"}}}},
        "/notes/{id}": {
            "get": {"operationId": "getNote", "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "the note", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}},
                    "404": {"description": "no such note"}}},
            "delete": {"operationId": "deleteNote", "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"204": {"description": "gone"}, "404": {"description": "no such note"}}}},
    },
    "components": {"schemas": {
        "NewNote": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "minLength": 1}}},
        "Note": {"type": "object", "required": ["id", "title"], "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}},
    }},
}
NOTES = {}
NOTES_MADE = 0
TAGS = {}
REQUESTED = []


def remote_documents():
    def get(operation, schema):
        return {"get": {"operationId": operation, "responses": {"200": {"description": "ok",
            "content": {"application/json": {"schema": {"$ref": schema}}}}}}}
    return {
        "remote.json": {"openapi": "3.0.3", "info": {"title": "remote", "version": "1"}, "paths": {
            "/avatar-info": get("getAvatarInfo", f"http://127.0.0.1:{PORT}/docs/schema.json#/Info"),
            "/secret": get("getSecret", f"http://localhost:{PORT}/docs/secret.json#/Secret"),
            "/moved": get("getMoved", f"http://127.0.0.1:{PORT}/docs/moved.json#/Secret"),
        }},
        "schema.json": {"Info": {"type": "object"}},
        "secret.json": {"Secret": {"type": "object"}},
    }
NOTES_LOCK = threading.Lock()


def accepts(header, media):
    kinds = [part.split(";")[0].strip().lower() for part in (header or "").split(",")]
    major = media.split("/")[0]
    return media in kinds or f"{major}/*" in kinds or "*/*" in kinds


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", media="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path == "/health":
            return self.send(200, b"{}")
        if self.path == "/openapi.json":
            return self.send(200, json.dumps(DOCUMENT).encode())
        if self.path.startswith("/notes/"):
            with NOTES_LOCK:
                note = NOTES.get(self.path.rsplit("/", 1)[1])
            if note is None:
                return self.send(404, b'{"error": "no such note"}')
            shown = dict(note, title="") if FAULT == "note-not-stored" else note
            return self.send(200, json.dumps(shown).encode())
        if self.path.startswith("/docs/"):
            name = self.path[len("/docs/"):]
            if name == "requested":
                return self.send(200, json.dumps(REQUESTED).encode())
            REQUESTED.append(name)
            if name == "moved.json":
                # On the document's own host, but sending smoke to another, private one.
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{PORT}/docs/secret.json")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            document = remote_documents().get(name)
            if document is None:
                return self.send(404, b"{}")
            return self.send(200, json.dumps(document).encode())
        if self.path.startswith("/tags/"):
            with NOTES_LOCK:
                tag = TAGS.get(urllib.parse.unquote(self.path.rsplit("/", 1)[1]))
            if tag is None:
                return self.send(404, b'{"error": "no such tag"}')
            return self.send(200, json.dumps(tag).encode())
        if self.path == "/avatar":
            if not accepts(self.headers.get("Accept"), "image/png"):
                return self.send(406, b'{"error": "only image/png is served here"}')
            return self.send(200, PNG, "image/png")
        self.send(404, b"{}")

    def do_POST(self):
        media = (self.headers.get("Content-Type") or "").lower()
        raw = self.body()
        if self.path == "/notes":
            try:
                title = json.loads(raw)["title"]
            except (ValueError, KeyError, TypeError):
                return self.send(422, b'{"error": "a title"}')
            if not isinstance(title, str) or not title:
                return self.send(422, b'{"error": "a title"}')
            global NOTES_MADE
            with NOTES_LOCK:
                # Ids are never reused, as a database's are not: a note deleted keeps its id.
                NOTES_MADE += 1
                note = {"id": NOTES_MADE, "title": title}
                NOTES[str(note["id"])] = note
            return self.send(201, json.dumps(note).encode())
        if self.path == "/tags":
            try:
                label = json.loads(raw)["label"]
            except (ValueError, KeyError, TypeError):
                return self.send(422, b'{"error": "a label"}')
            if not isinstance(label, str) or not label:
                return self.send(422, b'{"error": "a label"}')
            with NOTES_LOCK:
                key = f"tag {len(TAGS) + 1}"
                TAGS[key] = {"label": label}
            named = "tag 0" if FAULT == "location-wrong" else key
            self.send_response(201)
            # An absolute URL, its last segment percent-encoded: what the id is taken from.
            self.send_header("Location", f"http://127.0.0.1:{PORT}/tags/{urllib.parse.quote(named)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/login":
            if not media.startswith("application/x-www-form-urlencoded"):
                return self.send(415, b'{"error": "a form, please"}')
            fields = urllib.parse.parse_qs(raw.decode())
            if not fields.get("user") or not fields.get("password"):
                return self.send(422, b'{"error": "user and password"}')
            return self.send(200, json.dumps({"token": "t-" + fields["user"][0]}).encode())
        if self.path == "/uploads":
            if not media.startswith("multipart/form-data"):
                return self.send(415, b'{"error": "multipart, please"}')
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw
            )
            parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
            title, upload = parts.get("title"), parts.get("file")
            if title is None or upload is None or upload.get_filename() is None:
                return self.send(422, b'{"error": "title and a file"}')
            if FAULT == "upload-500":
                return self.send(500, b'{"error": "boom"}')
            return self.send(201, json.dumps({"size": len(upload.get_payload(decode=True))}).encode())
        self.send(404, b"{}")


if "--document" in sys.argv:
    print(json.dumps(DOCUMENT, indent=1))
    sys.exit(0)
def do_DELETE(self):
    key = self.path.rsplit("/", 1)[1] if self.path.startswith("/notes/") else None
    with NOTES_LOCK:
        if key not in NOTES:
            return self.send(404, b'{"error": "no such note"}')
        if FAULT != "delete-ignored":
            del NOTES[key]
    self.send(204)


Handler.do_DELETE = do_DELETE
threading.Thread(target=lambda: (time.sleep(120), os._exit(0)), daemon=True).start()
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
