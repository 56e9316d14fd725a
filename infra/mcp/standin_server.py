#!/usr/bin/env python3
"""STAND-IN MCP server: a test fixture for the infra/mcp client harness ONLY.

This is not mcpflow. It fakes the shapes the Rust MCP server exposes (tools,
resources, resource template, prompts) with in-memory data, so the harness
scripts (python_sdk_test.py, conformance.sh, inspector.sh,
mcp_remote_check.sh) can be developed and checked without the real server.

Transport, as the real server does it: Streamable HTTP at POST /mcp,
stateless (no Mcp-Session-Id), JSON responses (never SSE); GET and DELETE
/mcp answer 405; every request needs `X-API-Key: $MCP_API_KEY` (401 without);
a non-loopback Origin is refused with 403.

The standard MCP surface is served by the official SDK (`mcp` MCPServer,
which answers both the initialize handshake and 2026-07-28 server/discover).
A thin ASGI layer in front adds the auth/Origin/405 rules, answers an unknown
tool with JSON-RPC -32602 (the SDK would give an isError result), and serves
protocol-level tasks, which mcp 2.3.0's server does not: the 2025-11-25
`tasks` utility and the 2026-07-28 `io.modelcontextprotocol/tasks` extension
(see the "Tasks" section below).

Env: PORT (default 3100), HOST (127.0.0.1), MCP_API_KEY (default
"standin-key"), STANDIN_TASK_SECONDS (fake processing time, default 1.0),
STANDIN_TASKS=0 (serve no protocol-level tasks, to see the harness skip them),
STANDIN_DISCOVER=0 (answer server/discover with -32601, like a 2025-era server).
Run: $MCPFLOW_CACHE/venv-mcp/bin/python infra/mcp/standin_server.py
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field

API_KEY = os.environ.get("MCP_API_KEY", "standin-key")
TASK_SECONDS = float(os.environ.get("STANDIN_TASK_SECONDS", "1.0"))
SERVE_TASKS = os.environ.get("STANDIN_TASKS", "1") != "0"  # 0: no protocol-level tasks at all
SERVE_DISCOVER = os.environ.get("STANDIN_DISCOVER", "1") != "0"  # 0: act 2025-era only
MCP_PATH = "/mcp"
STATUSES = ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"]
MODELS = [
    {"model_id": "local-echo", "provider": "local", "description": "stand-in echo model"},
    {"model_id": "gpt-4o-mini", "provider": "openai", "description": "fake entry"},
]
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------
# In-memory fake task store
# --------------------------------------------------------------------------


class FakeTask:
    def __init__(self, prompt: str, model_id: str, priority: int):
        self.task_id = "task_" + uuid.uuid4().hex[:24]
        self.prompt = prompt
        self.model_id = model_id
        self.priority = priority
        self.created = time.monotonic()
        self.created_at = now_iso()
        self.cancelled = False

    @property
    def status(self) -> str:
        if self.cancelled:
            return "CANCELLED"
        age = time.monotonic() - self.created
        if age >= TASK_SECONDS:
            return "COMPLETED"
        return "PROCESSING" if age >= TASK_SECONDS / 3 else "PENDING"

    def summary(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "status": self.status,
            "model_id": self.model_id,
            "priority": self.priority,
            "created_at": self.created_at,
        }

    def result(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "status": self.status,
            "result": f"[stand-in, not an LLM] you asked: {self.prompt}",
            "processing_time_ms": int(TASK_SECONDS * 1000),
            "model_id": self.model_id,
        }


TASKS: dict[str, FakeTask] = {}


def find_task(task_id: str) -> FakeTask:
    task = TASKS.get(task_id)
    if task is None:
        raise ToolError(f"task not found: {task_id}")
    return task


# --------------------------------------------------------------------------
# MCP surface (official SDK)
# --------------------------------------------------------------------------

mcp = MCPServer(name="mcpflow-standin", version="0.0.0-standin",
                instructions="Stand-in for the mcpflow MCP server (test fixture).")


class CreatedTask(BaseModel):
    task_id: str
    status: str
    created_at: str


class TaskStatus(BaseModel):
    task_id: str
    status: str
    model_id: str
    priority: int
    created_at: str


class TaskResult(BaseModel):
    task_id: str
    status: str
    result: str
    processing_time_ms: int
    model_id: str


@mcp.tool(description="Queue an AI completion task for a prompt; returns its task_id.")
def create_task(
    prompt: Annotated[str, Field(min_length=1, max_length=32000, description="The prompt")],
    model_id: Annotated[str, Field(description="Model to use")] = "local-echo",
    priority: Annotated[int, Field(ge=1, le=10, description="1 (low) .. 10 (high)")] = 5,
) -> CreatedTask:
    task = FakeTask(prompt, model_id, priority)
    TASKS[task.task_id] = task
    return CreatedTask(task_id=task.task_id, status=task.status, created_at=task.created_at)


@mcp.tool(description="Status of a task.")
def get_task_status(task_id: Annotated[str, Field(min_length=1)]) -> TaskStatus:
    return TaskStatus(**find_task(task_id).summary())


@mcp.tool(description="Result of a completed task.")
def get_task_result(task_id: Annotated[str, Field(min_length=1)]) -> TaskResult:
    task = find_task(task_id)
    if task.status != "COMPLETED":
        raise ToolError(f"task {task_id} is {task.status}, not COMPLETED")
    return TaskResult(**task.result())


TASK_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["task_id", "status", "created_at"],
    "properties": {
        "task_id": {"type": "string"},
        "status": {"enum": STATUSES},
        "model_id": {"type": "string"},
        "priority": {"type": "integer", "minimum": 1, "maximum": 10},
        "created_at": {"type": "string", "format": "date-time"},
    },
}


@mcp.resource("data://tasks/schema", name="task_schema", mime_type="application/json",
              description="JSON Schema of a task")
def task_schema() -> str:
    return json.dumps(TASK_SCHEMA)


@mcp.resource("data://tasks/statuses", name="task_statuses", mime_type="application/json",
              description="Task statuses")
def task_statuses() -> str:
    return json.dumps({"statuses": STATUSES})


@mcp.resource("data://models/available", name="available_models", mime_type="application/json",
              description="Models a task can use")
def available_models() -> str:
    return json.dumps({"models": MODELS})


@mcp.resource("data://system/stats", name="system_stats", mime_type="application/json",
              description="Task counts by status")
def system_stats() -> str:
    counts = {s: 0 for s in STATUSES}
    for task in TASKS.values():
        counts[task.status] += 1
    return json.dumps({"total_tasks": len(TASKS), "by_status": counts, "generated_at": now_iso()})


@mcp.resource("data://tasks/{task_id}", name="task", mime_type="application/json",
              description="One task by id")
def task_resource(task_id: str) -> str:
    task = TASKS.get(task_id)
    if task is None:
        raise ValueError(f"task not found: {task_id}")
    return json.dumps(task.summary())


def one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {'|'.join(allowed)}, got {value!r}")


@mcp.prompt(description="Summarise tasks, optionally filtered.")
def task_summary(task_ids: str | None = None, date_range: str | None = None,
                 status_filter: str | None = None) -> list[Message]:
    one_of("status_filter", status_filter, tuple(STATUSES))
    return [UserMessage(
        f"Summarise tasks {task_ids or '(all)'} in {date_range or 'any period'}"
        f" with status {status_filter or 'any'}.")]


@mcp.prompt(description="Check system health over a period.")
def system_health(time_period: str, include_performance: str | None = None,
                  check_resources: str | None = None) -> list[Message]:
    one_of("time_period", time_period, ("hour", "day", "week"))
    one_of("include_performance", include_performance, ("true", "false"))
    one_of("check_resources", check_resources, ("true", "false"))
    return [UserMessage(f"Report system health for the last {time_period}"
                        f" (performance: {include_performance or 'false'},"
                        f" resources: {check_resources or 'false'}).")]


@mcp.prompt(description="Analyse a group of tasks.")
def task_analysis(task_group: str, analysis_depth: str | None = None,
                  focus_area: str | None = None) -> list[Message]:
    one_of("analysis_depth", analysis_depth, ("deep", "shallow", "overview"))
    one_of("focus_area", focus_area, ("performance", "errors", "usage"))
    return [UserMessage(f"Analyse task group {task_group!r}: depth {analysis_depth or 'overview'},"
                        f" focus {focus_area or 'usage'}.")]


@mcp.prompt(description="Review performance over a period.")
def performance_review(review_period: str, benchmark_type: str | None = None,
                       focus_metrics: str | None = None) -> list[Message]:
    one_of("benchmark_type", benchmark_type, ("historical", "industry"))
    return [UserMessage(f"Review performance for {review_period} against"
                        f" {benchmark_type or 'historical'} benchmarks;"
                        f" metrics: {focus_metrics or 'all'}.")]


# --------------------------------------------------------------------------
# Tasks, served in front of the SDK (mcp 2.3.0's server dispatches neither):
#  - 2025-11-25 `tasks` utility (SEP-1686) on handshake-era requests:
#    tools/call with params.task -> {task}, tasks/get, tasks/result,
#    tasks/list, tasks/cancel; capability `tasks` in the initialize result.
#  - 2026-07-28 `io.modelcontextprotocol/tasks` extension (SEP-2663) on
#    modern requests whose _meta client capabilities opt in: tools/call ->
#    flat {resultType: "task", taskId, ...}, tasks/get (result inlined),
#    tasks/update, tasks/cancel; advertised in server/discover.
# Only create_task is ever run as a task.
# --------------------------------------------------------------------------

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
MODERN = "2026-07-28"
TASKABLE_TOOLS = ("create_task",)
TASKS_CAPABILITY = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
TERMINAL = ("completed", "failed", "cancelled")


class ProtocolTask:
    """A task-augmented tools/call: its result shows once the fake work is done."""

    def __init__(self, payload: dict[str, Any], ttl: int | None):
        self.task_id = "mcptask_" + uuid.uuid4().hex[:20]
        self.payload, self.ttl = payload, ttl
        self.created = time.monotonic()
        self.created_at = now_iso()
        self.cancelled = False

    def status(self) -> str:
        if self.cancelled:
            return "cancelled"
        if time.monotonic() - self.created < TASK_SECONDS:
            return "working"
        return "failed" if self.payload.get("isError") else "completed"

    def wire(self, modern: bool) -> dict[str, Any]:
        ttl_key, poll_key = ("ttlMs", "pollIntervalMs") if modern else ("ttl", "pollInterval")
        return {"taskId": self.task_id, "status": self.status(), "createdAt": self.created_at,
                "lastUpdatedAt": now_iso(), ttl_key: self.ttl, poll_key: 200}


PROTOCOL_TASKS: dict[str, ProtocolTask] = {}


def rpc_result(msg_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "result": result}


def rpc_error(msg_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


async def call_tool_via_sdk(name: str, arguments: dict[str, Any], modern: bool) -> dict[str, Any]:
    """Run a tool through the SDK and return the CallToolResult wire dict."""
    try:
        result = await mcp.call_tool(name, arguments)
    except Exception as exc:  # the tool's own error, as the SDK would report it
        result_wire = {"content": [{"type": "text", "text": str(exc)}], "isError": True}
    else:
        result_wire = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    if modern:
        result_wire["resultType"] = "complete"
    else:
        result_wire.pop("resultType", None)  # not a 2025-11-25 field
    return result_wire


def opted_into_tasks(params: dict[str, Any]) -> bool:
    caps = (params.get("_meta") or {}).get("io.modelcontextprotocol/clientCapabilities") or {}
    return TASKS_EXTENSION in (caps.get("extensions") or {})


async def handle_tasks_message(msg: dict[str, Any]) -> dict[str, Any] | None:
    """Answer the task-related JSON-RPC messages; None means 'not ours'."""
    method, params, msg_id = msg.get("method"), msg.get("params") or {}, msg.get("id")
    modern = (params.get("_meta") or {}).get("io.modelcontextprotocol/protocolVersion") == MODERN
    if method == "tools/call":
        augmented = opted_into_tasks(params) if modern else isinstance(params.get("task"), dict)
        if not augmented or params.get("name") not in TASKABLE_TOOLS:
            return None
        ttl = 60_000 if modern else params["task"].get("ttl") or 60_000
        task = ProtocolTask(await call_tool_via_sdk(params["name"], params.get("arguments") or {}, modern), ttl)
        PROTOCOL_TASKS[task.task_id] = task
        return rpc_result(msg_id, {"resultType": "task", **task.wire(True)} if modern
                          else {"task": task.wire(False)})
    if not isinstance(method, str) or not method.startswith("tasks/"):
        return None
    if method == "tasks/list" and not modern:
        return rpc_result(msg_id, {"tasks": [t.wire(False) for t in PROTOCOL_TASKS.values()]})
    served = ("tasks/get", "tasks/update", "tasks/cancel") if modern else ("tasks/get", "tasks/result", "tasks/cancel")
    if method not in served:
        return rpc_error(msg_id, -32601, f"Method not found: {method}")
    task = PROTOCOL_TASKS.get(params.get("taskId", ""))
    if task is None:
        return rpc_error(msg_id, -32602, f"Unknown taskId: {params.get('taskId')}")
    if method == "tasks/cancel":
        if task.status() in TERMINAL:
            return rpc_error(msg_id, -32602, f"task {task.task_id} is already {task.status()}")
        task.cancelled = True
        return rpc_result(msg_id, {"resultType": "complete"} if modern else task.wire(False))
    if method == "tasks/update":
        return rpc_result(msg_id, {"resultType": "complete"})
    if method == "tasks/get":
        if not modern:
            return rpc_result(msg_id, task.wire(False))
        detail: dict[str, Any] = {"resultType": "complete", **task.wire(True)}
        if task.status() == "completed":
            detail["result"] = task.payload
        elif task.status() == "failed":
            detail["error"] = {"code": -32603, "message": "tool failed"}
        return rpc_result(msg_id, detail)
    # tasks/result (2025-11-25): the stand-in answers only once the task is
    # terminal; a real server may instead hold the request until then.
    if task.status() == "working":
        return rpc_error(msg_id, -32602, f"task {task.task_id} is still working")
    if task.status() == "cancelled":
        return rpc_error(msg_id, -32602, f"task {task.task_id} was cancelled")
    meta = {"io.modelcontextprotocol/related-task": {"taskId": task.task_id}}
    return rpc_result(msg_id, {**task.payload, "_meta": meta})


KNOWN_TOOLS = ("create_task", "get_task_status", "get_task_result")


def unknown_tool_error(msg: dict[str, Any]) -> dict[str, Any] | None:
    """The SDK answers an unknown tool with an isError result; mcpflow uses -32602."""
    params = msg.get("params") or {}
    if msg.get("method") == "tools/call" and params.get("name") not in KNOWN_TOOLS:
        return rpc_error(msg.get("id"), -32602, f"Unknown tool: {params.get('name')}")
    return None


def patch_initialize(doc: dict[str, Any]) -> None:
    doc["result"]["capabilities"]["tasks"] = TASKS_CAPABILITY


def patch_discover(doc: dict[str, Any]) -> None:
    caps = doc["result"].setdefault("capabilities", {})
    caps.setdefault("extensions", {})[TASKS_EXTENSION] = {}


def patch_tools_list(doc: dict[str, Any]) -> None:
    for tool in doc["result"]["tools"]:
        if tool["name"] in TASKABLE_TOOLS:
            tool["execution"] = {"taskSupport": "optional"}


PATCHES = {"initialize": patch_initialize, "server/discover": patch_discover,
           "tools/list": patch_tools_list}


# --------------------------------------------------------------------------
# ASGI front: API key, Origin, 405, tasks; everything else goes to the SDK app
# --------------------------------------------------------------------------


def origin_allowed(origin: str | None) -> bool:
    if not origin:
        return True  # non-browser clients send none
    for host in LOOPBACK_HOSTS:
        for scheme in ("http://", "https://"):
            base = scheme + host
            if origin == base or origin.startswith(base + ":"):
                return True
    return False


async def send_json(send: Any, status: int, body: Any, extra: list[tuple[bytes, bytes]] = ()) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    headers = [(b"content-type", b"application/json")] if body is not None else []
    headers += [(b"content-length", str(len(data)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def read_body(receive: Any) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def make_app() -> Any:
    sdk_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH, json_response=True, stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != MCP_PATH:
            return await sdk_app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if headers.get("x-api-key") != API_KEY:
            return await send_json(send, 401, {"error": {"code": "unauthorized",
                                                         "message": "missing or invalid X-API-Key"}})
        if not origin_allowed(headers.get("origin")):
            return await send_json(send, 403, {"error": {"code": "forbidden",
                                                         "message": "Origin not allowed"}})
        if scope["method"] != "POST":
            return await send_json(send, 405, None, [(b"allow", b"POST")])
        body = await read_body(receive)
        try:
            msg = json.loads(body)
        except ValueError:
            msg = None
        if isinstance(msg, dict) and not SERVE_DISCOVER and msg.get("method") == "server/discover":
            return await send_json(send, 200, rpc_error(msg.get("id"), -32601, "Method not found"))
        if isinstance(msg, dict):
            answer = unknown_tool_error(msg) or (await handle_tasks_message(msg) if SERVE_TASKS else None)
            if answer is not None:
                return await send_json(send, 200, answer)
            if SERVE_TASKS and msg.get("method") in PATCHES:
                return await forward_patched(sdk_app, scope, body, send, PATCHES[msg["method"]])
        return await sdk_app(scope, replay(body), send)

    return app, sdk_app


async def forward_patched(sdk_app: Any, scope: Any, body: bytes, send: Any, patch: Any) -> None:
    """Pass a request to the SDK, then patch its successful JSON answer."""
    start: dict[str, Any] = {}
    parts: list[bytes] = []

    async def capture(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            parts.append(message.get("body", b""))

    await sdk_app(scope, replay(body), capture)
    data = b"".join(parts)
    try:
        doc = json.loads(data)
        patch(doc)
        data = json.dumps(doc).encode()
    except (ValueError, KeyError, TypeError):
        pass  # an error answer: pass it on untouched
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(data)).encode()))
    await send({"type": "http.response.start", "status": start.get("status", 500), "headers": headers})
    await send({"type": "http.response.body", "body": data})


class Lifespan:
    """Run the SDK app's lifespan (its session manager) under our front app."""

    def __init__(self, front: Any, sdk_app: Any):
        self.front, self.sdk_app = front, sdk_app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await self.sdk_app(scope, receive, send)
        return await self.front(scope, receive, send)


def main() -> None:
    front, sdk_app = make_app()
    port = int(os.environ.get("PORT", "3100"))
    host = os.environ.get("HOST", "127.0.0.1")
    print(f"[standin] STAND-IN MCP server (test fixture) on http://{host}:{port}{MCP_PATH}", flush=True)
    uvicorn.run(Lifespan(front, sdk_app), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
