"""The MCP conformance suite's fixture tools, resources and prompts, registered through mcpflow's
own REST API (never built into the server), and an HTTP server answering the fixture tools'
endpoints.

Usage: python3 fixtures.py API_BASE API_KEY READY_FILE
  Serves the tool endpoints on 127.0.0.1 (any free port), registers every fixture in the key's tenant
  (deleting a leftover of the same name first), writes READY_FILE, and on SIGTERM or SIGINT deletes
  what it registered and stops. The stack must allow private tool endpoints
  (AllowPrivateToolEndpoints=true, as `make test`'s stack does).
python3 fixtures.py --scenarios
  Prints the suite's scenarios these fixtures serve, one a line.

Stdlib only. Tool endpoints answer MCP tool results (`answer_format: mcp`); the logging and progress
tools answer NDJSON: their notifications 50 ms apart, then the result.
"""

import base64
import io
import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCENARIOS = [
    "completion-complete",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "json-schema-2020-12",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
]

# A 1x1 red PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def wav() -> str:
    """A tenth of a second of silence, 8 kHz mono 16-bit, base64."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    return base64.b64encode(out.getvalue()).decode()


def text(t: str) -> dict:
    return {"type": "text", "text": t}


def image() -> dict:
    return {"type": "image", "data": PNG, "mimeType": "image/png"}


ANSWERS = {
    "test_simple_text": {"content": [text("This is a simple text response for testing.")]},
    "test_image_content": {"content": [image()]},
    "test_audio_content": {"content": [{"type": "audio", "data": wav(), "mimeType": "audio/wav"}]},
    "test_embedded_resource": {
        "content": [
            {
                "type": "resource",
                "resource": {
                    "uri": "test://embedded-resource",
                    "mimeType": "text/plain",
                    "text": "This is an embedded resource content.",
                },
            }
        ]
    },
    "test_multiple_content_types": {
        "content": [
            text("Multiple content types test:"),
            image(),
            {
                "type": "resource",
                "resource": {
                    "uri": "test://mixed-content-resource",
                    "mimeType": "application/json",
                    "text": json.dumps({"test": "data", "value": 123}),
                },
            },
        ]
    },
    "test_error_handling": {
        "isError": True,
        "content": [text("This tool intentionally returns an error for testing")],
    },
}


def log(message: str) -> dict:
    return {"method": "notifications/message", "params": {"level": "info", "data": message}}


def progress(n: int) -> dict:
    return {"method": "notifications/progress", "params": {"progress": n, "total": 100}}


STREAMS = {
    "test_tool_with_logging": (
        [log("Tool execution started"), log("Tool processing data"), log("Tool execution completed")],
        {"content": [text("Tool with logging executed successfully")]},
    ),
    "test_tool_with_progress": (
        [progress(0), progress(50), progress(100)],
        {"content": [text("Tool with progress executed successfully")]},
    ),
}

SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
    "additionalProperties": False,
}


class Endpoints(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("content-length") or 0)
        args = json.loads(self.rfile.read(length) or b"{}")
        name = self.path.rsplit("/", 1)[-1]
        if name in STREAMS:
            notes, result = STREAMS[name]
            self.send_response(200)
            self.send_header("content-type", "application/x-ndjson")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for line in [*notes, result]:
                self.chunk((json.dumps(line) + "\n").encode())
                time.sleep(0.05)
            self.chunk(b"")
            return
        if name == "json_schema_2020_12_tool":
            answer = {"content": [text(f"received {json.dumps(args, sort_keys=True)}")]}
        else:
            answer = ANSWERS.get(name)
        body = json.dumps(answer).encode()
        self.send_response(200 if answer else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def registrations(endpoints: str) -> list:
    """(REST collection, key, body) of every fixture."""
    no_args = {"type": "object", "properties": {}}
    tools = [
        (name, f"Conformance fixture {name}", no_args)
        for name in [*ANSWERS, *STREAMS]
    ]
    tools.append(("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", SCHEMA_2020_12))
    out = [
        (
            "tools",
            name,
            {
                "name": name,
                "description": description,
                "input_schema": schema,
                "endpoint": f"{endpoints}/tools/{name}",
                "answer_format": "mcp",
            },
        )
        for name, description, schema in tools
    ]
    resources = [
        {
            "uri": "test://static-text",
            "name": "Static text",
            "description": "Conformance fixture: text",
            "mime_type": "text/plain",
            "content": "This is the content of the static text resource.",
        },
        {
            "uri": "test://static-binary",
            "name": "Static binary",
            "description": "Conformance fixture: binary",
            "mime_type": "image/png",
            "blob": PNG,
        },
        {
            "uri_template": "test://template/{id}/data",
            "name": "Template data",
            "description": "Conformance fixture: a resource template",
            "mime_type": "application/json",
            "content": '{"id":"{{id}}","templateTest":true,"data":"Data for ID: {{id}}"}',
        },
    ]
    out += [("resources", r.get("uri") or r["uri_template"], r) for r in resources]
    prompts = [
        {"name": "test_simple_prompt", "description": "A simple prompt", "template": "This is a simple prompt for testing."},
        {
            "name": "test_prompt_with_arguments",
            "description": "A prompt with arguments",
            "arguments": [
                {"name": "arg1", "description": "First test argument", "required": True,
                 "values": ["paris", "park", "party", "test", "testValue1"]},
                {"name": "arg2", "description": "Second test argument", "required": True},
            ],
            "template": "Prompt with arguments: arg1='{{arg1}}', arg2='{{arg2}}'",
        },
        {
            "name": "test_prompt_with_embedded_resource",
            "description": "A prompt with an embedded resource",
            "arguments": [{"name": "resourceUri", "description": "URI of the resource", "required": True}],
            "messages": [
                {"role": "user", "content": {"type": "resource", "resource": {
                    "uri": "{{resourceUri}}", "mimeType": "text/plain", "text": "Embedded resource content for testing."}}},
                {"role": "user", "content": text("Please process the embedded resource above.")},
            ],
        },
        {
            "name": "test_prompt_with_image",
            "description": "A prompt with an image",
            "messages": [
                {"role": "user", "content": image()},
                {"role": "user", "content": text("Please analyze the image above.")},
            ],
        },
    ]
    out += [("prompts", p["name"], p) for p in prompts]
    return out


def call(method: str, url: str, key: str, body: object = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"X-API-Key": key, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        if method == "POST":
            raise SystemExit(f"{method} {url} answered {e.code}: {e.read()[:500]!r}") from e
        return e.code


def main() -> None:
    if sys.argv[1:] == ["--scenarios"]:
        print("\n".join(SCENARIOS))
        return
    api, key, ready = sys.argv[1:4]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoints)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    items = registrations(f"http://127.0.0.1:{server.server_address[1]}")
    item_url = lambda kind, item_key: f"{api}/api/v1/{kind}/{urllib.parse.quote(item_key, safe='')}"  # noqa: E731
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        for kind, item_key, body in items:
            call("DELETE", item_url(kind, item_key), key)
            call("POST", f"{api}/api/v1/{kind}", key, body)
        with open(ready, "w") as f:
            f.write(f"{len(items)} fixtures registered\n")
        done.wait()
    finally:
        for kind, item_key, _ in items:
            call("DELETE", item_url(kind, item_key), key)
        server.shutdown()


if __name__ == "__main__":
    main()
