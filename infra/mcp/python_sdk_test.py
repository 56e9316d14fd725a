#!/usr/bin/env python3
"""End-to-end check of an mcpflow MCP endpoint with the official Python SDK (mcp 2.3.0).

Env:
  MCP_URL           endpoint, e.g. http://127.0.0.1:3100/mcp (required)
  MCP_API_KEY       sent as X-API-Key (required)
  MCP_TASK_TIMEOUT  seconds to wait for a task to complete (default 60)
  MCP_STRICT        1: a skipped check fails the run (make test sets it: mcpflow supports every check)

Prints one line per check (PASS/FAIL/SKIP), then "N passed, N failed, N skipped";
exits 1 if any check failed.

The main session uses the initialize handshake (Client mode="legacy"). Task-augmented
execution is tried both ways mcp 2.3.0 can express it:
  * 2025-11-25 `tasks` utility (SEP-1686): only types in the SDK (CallToolRequestParams.task,
    GetTaskRequest, GetTaskPayloadRequest, ListTasksRequest, CreateTaskResult, ...), no
    client methods, and the typed tools/call path rejects a CreateTaskResult. So the
    augmented tools/call is one raw JSON-RPC POST; tasks/get, tasks/result and tasks/list
    go through ClientSession.send_request with the SDK's own request/result types.
  * 2026-07-28 `io.modelcontextprotocol/tasks` extension (SEP-2663): the SDK has the generic
    SEP-2133 ClientExtension/ResultClaim machinery but no tasks extension; a small one is
    defined here. Needs a server answering server/discover (Client mode="auto").
Each runs only if the server advertises it, else it is reported as SKIP.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ConfigDict, Field

EXPECTED_TOOLS = {"create_task", "get_task_status", "get_task_result"}
EXPECTED_RESOURCES = {"data://tasks/schema", "data://tasks/statuses", "data://models/available",
                      "data://system/stats"}
TASK_TEMPLATE = "data://tasks/{task_id}"
EXPECTED_PROMPTS = {"task_summary", "system_health", "task_analysis", "performance_review"}
PROMPT = "What is the capital of France?"
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"


def prompt_arguments(task_id: str | None) -> dict[str, dict[str, str]]:
    """Valid arguments for each known prompt."""
    return {
        "task_summary": {"task_ids": task_id} if task_id else {},
        "system_health": {"time_period": "day", "include_performance": "true", "check_resources": "true"},
        "task_analysis": {"task_group": "ai.completion", "analysis_depth": "overview", "focus_area": "usage"},
        "performance_review": {"review_period": "last week", "benchmark_type": "historical"},
    }


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


@dataclass
class Report:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def ok(self, name: str, detail: str = "") -> None:
        self.passed += 1
        self._line("PASS", name, detail)

    def fail(self, name: str, detail: str) -> None:
        self.failed += 1
        self._line("FAIL", name, detail)

    def skip(self, name: str, reason: str) -> None:
        self.skipped += 1
        self._line("SKIP", name, reason)

    @staticmethod
    def _line(verdict: str, name: str, detail: str) -> None:
        detail = " ".join(detail.split())  # one line per check, whatever the server said
        print(f"{verdict} {name}" + (f" - {detail}" if detail else ""), flush=True)

    def check(self, name: str, condition: bool, detail: str) -> bool:
        (self.ok if condition else self.fail)(name, detail)
        return condition


@dataclass
class State:
    """What earlier checks learned, for the later ones."""

    url: str
    api_key: str
    task_timeout: float
    task_id: str | None = None
    tools: dict[str, types.Tool] = field(default_factory=dict)
    resources: list[types.Resource] = field(default_factory=list)
    templates: list[types.ResourceTemplate] = field(default_factory=list)
    prompts: list[types.Prompt] = field(default_factory=list)


def describe(exc: BaseException) -> str:
    """The innermost useful message, also out of (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        return f"JSON-RPC error {exc.code}: {exc.error.message}"
    return f"{type(exc).__name__}: {exc}"


async def guarded(report: Report, name: str, check: Awaitable[None]) -> None:
    """Run one check; an unexpected exception fails it instead of the whole run."""
    try:
        await check
    except Exception as exc:  # noqa: BLE001 - report and go on
        report.fail(name, describe(exc))


def structured(result: types.CallToolResult) -> dict[str, Any]:
    return result.structured_content if isinstance(result.structured_content, dict) else {}


def text_of(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))[:200]


# ---------------------------------------------------------------------------
# Plain HTTP checks (outside the SDK)
# ---------------------------------------------------------------------------


async def check_http_rules(report: Report, state: State) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=30) as http:
        denied = await http.post(state.url, json=body, headers=accept)
        report.check("http: POST without X-API-Key is 401", denied.status_code == 401,
                     f"status {denied.status_code}")
        keyed = {**accept, "x-api-key": state.api_key}
        for method in ("GET", "DELETE"):
            answer = await http.request(method, state.url, headers=keyed)
            report.check(f"http: {method} /mcp is 405", answer.status_code == 405,
                         f"status {answer.status_code}")


# ---------------------------------------------------------------------------
# Handshake and listings
# ---------------------------------------------------------------------------


async def check_initialize(report: Report, client: Client) -> None:
    caps = client.server_capabilities
    info = client.server_info
    report.check("initialize", bool(client.protocol_version) and caps.tools is not None,
                 f"protocol {client.protocol_version}, server {info.name if info else '?'}"
                 f" {info.version if info else ''}, capabilities "
                 + ",".join(k for k, v in caps.model_dump(exclude_none=True).items() if v is not None))


async def list_all(fetch: Callable[..., Awaitable[Any]], attribute: str) -> list[Any]:
    """Every item of a paginated list method, following nextCursor (at most 50 pages)."""
    items, cursor = [], None
    for _ in range(50):
        page = await fetch(cursor=cursor)
        items += getattr(page, attribute)
        cursor = page.next_cursor
        if not cursor:
            break
    return items


def listed(name: str, found: set[str], expected: set[str]) -> tuple[str, bool, str]:
    missing = expected - found
    return name, not missing, f"{sorted(found)}" + (f"; missing {sorted(missing)}" if missing else "")


async def check_listings(report: Report, client: Client, state: State) -> None:
    state.tools = {t.name: t for t in await list_all(client.list_tools, "tools")}
    report.check(*listed("tools/list", set(state.tools), EXPECTED_TOOLS))
    state.resources = await list_all(client.list_resources, "resources")
    report.check(*listed("resources/list", {str(r.uri) for r in state.resources}, EXPECTED_RESOURCES))
    state.templates = await list_all(client.list_resource_templates, "resource_templates")
    report.check(*listed("resources/templates/list", {t.uri_template for t in state.templates}, {TASK_TEMPLATE}))
    state.prompts = await list_all(client.list_prompts, "prompts")
    report.check(*listed("prompts/list", {p.name for p in state.prompts}, EXPECTED_PROMPTS))


# ---------------------------------------------------------------------------
# The task flow through the tools
# ---------------------------------------------------------------------------


async def check_create_task(report: Report, client: Client, state: State) -> None:
    result = await client.call_tool("create_task", {"prompt": PROMPT})
    data = structured(result)
    if report.check("tools/call create_task", not result.is_error and "task_id" in data and "status" in data,
                    f"structuredContent {data}" if data else f"isError={result.is_error} {text_of(result)}"):
        state.task_id = str(data["task_id"])


async def check_poll_status(report: Report, client: Client, state: State) -> None:
    deadline = time.monotonic() + state.task_timeout
    seen: list[str] = []
    while True:
        result = await client.call_tool("get_task_status", {"task_id": state.task_id})
        status = str(structured(result).get("status"))
        if result.is_error:
            return report.fail("tools/call get_task_status", f"isError: {text_of(result)}")
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "COMPLETED":
            return report.ok("tools/call get_task_status -> COMPLETED", " -> ".join(seen))
        if status.upper() in ("FAILED", "CANCELLED", "CANCELED", "COMPLETED"):
            return report.fail("tools/call get_task_status -> COMPLETED", f"ended as {' -> '.join(seen)}")
        if time.monotonic() > deadline:
            return report.fail("tools/call get_task_status -> COMPLETED",
                               f"not COMPLETED after {state.task_timeout:.0f}s: {' -> '.join(seen)}")
        await asyncio.sleep(0.5)


async def check_task_result(report: Report, client: Client, state: State) -> None:
    result = await client.call_tool("get_task_result", {"task_id": state.task_id})
    data = structured(result)
    answer, ms = data.get("result"), data.get("processing_time_ms")
    report.check("tools/call get_task_result",
                 not result.is_error and isinstance(answer, str) and bool(answer.strip())
                 and isinstance(ms, (int, float)) and not isinstance(ms, bool),
                 f"result {answer!r:.80}, processing_time_ms {ms!r}" if data else f"isError {text_of(result)}")


# ---------------------------------------------------------------------------
# Resources and prompts
# ---------------------------------------------------------------------------


def check_contents(contents: list[Any]) -> str | None:
    """None when the contents look right, else what is wrong."""
    if not contents:
        return "no contents"
    for item in contents:
        text = getattr(item, "text", None)
        if text is None and getattr(item, "blob", None) is None:
            return f"content for {item.uri} has neither text nor blob"
        if text is not None and (item.mime_type or "").endswith("json"):
            try:
                json.loads(text)
            except ValueError as exc:
                return f"{item.uri}: mimeType {item.mime_type} but not JSON ({exc})"
    return None


async def check_read_resources(report: Report, client: Client, state: State) -> None:
    for resource in state.resources:
        name = f"resources/read {resource.uri}"
        try:
            contents = (await client.read_resource(str(resource.uri))).contents
        except MCPError as exc:
            report.fail(name, f"JSON-RPC error {exc.code}: {exc}")
            continue
        problem = check_contents(contents)
        report.check(name, problem is None, problem or f"{len(contents)} content(s), {contents[0].mime_type}")


async def check_read_template(report: Report, client: Client, state: State) -> None:
    uri = TASK_TEMPLATE.replace("{task_id}", state.task_id or "")
    contents = (await client.read_resource(uri)).contents
    problem = check_contents(contents)
    if problem is None and not any(state.task_id in (getattr(c, "text", "") or "") for c in contents):
        problem = "the task id does not appear in the contents"
    report.check(f"resources/read {uri}", problem is None, problem or f"{len(contents)} content(s)")


async def check_prompts(report: Report, client: Client, state: State) -> None:
    known = prompt_arguments(state.task_id)
    for prompt in state.prompts:
        declared = {a.name: a for a in prompt.arguments or []}
        args = {k: v for k, v in known.get(prompt.name, {}).items() if k in declared}
        filled = [a.name for a in declared.values() if a.required and a.name not in args]
        args.update({name: "test" for name in filled})
        name = f"prompts/get {prompt.name}"
        try:
            result = await client.get_prompt(prompt.name, args)
        except MCPError as exc:
            report.fail(name, f"args {args}: JSON-RPC error {exc.code}: {exc}")
            continue
        note = f" (filled unknown required args {filled} with 'test')" if filled else ""
        report.check(name, len(result.messages) >= 1, f"args {args}: {len(result.messages)} message(s){note}")


# ---------------------------------------------------------------------------
# Error shapes
# ---------------------------------------------------------------------------


async def expect_error(report: Report, name: str, call: Awaitable[types.CallToolResult]) -> None:
    try:
        result = await call
    except MCPError as exc:
        return report.ok(name, f"JSON-RPC error {exc.code}: {exc.error.message}")
    report.check(name, result.is_error, f"tool result isError=true: {text_of(result)[:120]}"
                 if result.is_error else f"accepted: {structured(result) or text_of(result)}")


async def expect_code(report: Report, name: str, code: int, call: Awaitable[Any]) -> None:
    try:
        answer = await call
    except MCPError as exc:
        return report.check(name, exc.code == code, f"JSON-RPC error {exc.code}: {exc.error.message}")
    report.fail(name, f"answered {answer!r}, not JSON-RPC error {code}")


async def check_error_shapes(report: Report, client: Client) -> None:
    await expect_error(report, "tools/call create_task {prompt: ''} is refused",
                       client.call_tool("create_task", {"prompt": ""}))
    await expect_error(report, "tools/call of an unknown tool is refused",
                       client.call_tool("no_such_tool_mcpflow_harness", {}))
    await check_jsonrpc_codes(report, client)


async def check_jsonrpc_codes(report: Report, client: Client) -> None:
    """JSON-RPC's codes through the SDK's own request path, in the session's era."""
    era = client.protocol_version
    unknown = types.Request[dict[str, Any] | None, str](method="no/such/method", params=None)
    await expect_code(report, f"{era}: an unknown method is -32601", -32601,
                      client.session.send_request(unknown, dict))
    misfit = types.Request[dict[str, Any], str](method="prompts/get", params={"name": "task_summary", "arguments": 3})
    await expect_code(report, f"{era}: params of the wrong shape are -32602", -32602,
                      client.session.send_request(misfit, dict))


async def check_jsonrpc_codes_stateless(report: Report, http: httpx2.AsyncClient, state: State) -> None:
    """The same codes in the stateless era (server/discover, 2026-07-28)."""
    async with Client(streamable_http_client(state.url, http_client=http), mode="auto", cache=None) as client:
        if client.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return report.skip("JSON-RPC codes (stateless era)", f"negotiated {client.protocol_version}")
        await check_jsonrpc_codes(report, client)


# ---------------------------------------------------------------------------
# Tasks, 2025-11-25 (SEP-1686): tools/call with params.task
# ---------------------------------------------------------------------------


async def raw_rpc(http: httpx2.AsyncClient, url: str, protocol: str, method: str, params: dict[str, Any]) -> Any:
    """One JSON-RPC request outside the SDK (JSON or single-event SSE answer)."""
    answer = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                             headers={"accept": "application/json, text/event-stream",
                                      "mcp-protocol-version": protocol})
    answer.raise_for_status()
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in answer.text.splitlines() if line.startswith("data:")]
        message = json.loads(next(d for d in data if d))
    else:
        message = answer.json()
    if "error" in message:
        raise MCPError.from_error_data(types.ErrorData.model_validate(message["error"]))
    return message["result"]


async def poll_until_terminal(get: Callable[[], Awaitable[Any]], timeout: float) -> tuple[Any, list[str]]:
    deadline, seen = time.monotonic() + timeout, []
    while True:
        task = await get()
        if not seen or seen[-1] != task.status:
            seen.append(task.status)
        if task.status in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return task, seen
        interval = getattr(task, "poll_interval", None) or getattr(task, "poll_interval_ms", None) or 500
        await asyncio.sleep(min(max(interval, 100), 2000) / 1000)


async def check_tasks_sep1686(report: Report, client: Client, http: httpx2.AsyncClient, state: State) -> None:
    name = "tasks (2025-11-25)"
    caps = client.server_capabilities.tasks
    if caps is None or caps.requests is None or caps.requests.tools is None or caps.requests.tools.call is None:
        return report.skip(name, "server does not advertise capabilities.tasks.requests.tools.call")
    execution = state.tools["create_task"].execution if "create_task" in state.tools else None
    support = execution.task_support if execution else None
    if support not in ("optional", "required"):
        return report.skip(name, f"create_task execution.taskSupport is {support!r} (absent means forbidden)")

    params = {"name": "create_task", "arguments": {"prompt": PROMPT}, "task": {"ttl": 60_000}}
    answer = await raw_rpc(http, state.url, client.protocol_version, "tools/call", params)
    if "task" not in answer:
        return report.fail(f"{name}: task-augmented tools/call create_task",
                           f"expected CreateTaskResult {{task: ...}}, got a plain result: {str(answer)[:160]}")
    created = types.CreateTaskResult.model_validate(answer, by_name=False)
    task_id = created.task.task_id
    report.ok(f"{name}: task-augmented tools/call create_task", f"taskId {task_id}, status {created.task.status}")

    async def get() -> types.GetTaskResult:
        request = types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task_id))
        return await client.session.send_request(request, types.GetTaskResult)

    final, seen = await poll_until_terminal(get, state.task_timeout)
    if not report.check(f"{name}: tasks/get -> completed", final.status == "completed", " -> ".join(seen)):
        return
    request = types.GetTaskPayloadRequest(params=types.GetTaskPayloadRequestParams(task_id=task_id))
    payload = await client.session.send_request(request, types.CallToolResult)
    data = structured(payload)
    report.check(f"{name}: tasks/result", not payload.is_error and "task_id" in data,
                 f"structuredContent {data}" if data else f"isError={payload.is_error} {text_of(payload)}")
    if caps.list is not None:
        listed = await client.session.send_request(types.ListTasksRequest(), types.ListTasksResult)
        report.check(f"{name}: tasks/list", any(t.task_id == task_id for t in listed.tasks),
                     f"{len(listed.tasks)} task(s)")


# ---------------------------------------------------------------------------
# Tasks, 2026-07-28 extension (SEP-2663): io.modelcontextprotocol/tasks
# ---------------------------------------------------------------------------


class _TaskFields(types.Result):
    model_config = ConfigDict(populate_by_name=True)
    task_id: str = Field(alias="taskId")
    status: Literal["working", "input_required", "completed", "failed", "cancelled"]
    status_message: str | None = Field(default=None, alias="statusMessage")
    poll_interval_ms: int | None = Field(default=None, alias="pollIntervalMs")


class CreatedTask(_TaskFields):
    """The claimed tools/call result: {resultType: "task", taskId, status, ...}."""

    result_type: Literal["task"] = Field(alias="resultType")


class DetailedTask(_TaskFields):
    """tasks/get: the task fields plus the inlined result/error/inputRequests."""

    result_type: Literal["complete"] = Field(default="complete", alias="resultType")
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class TaskIdParams(types.RequestParams):
    model_config = ConfigDict(populate_by_name=True)
    task_id: str = Field(serialization_alias="taskId")


class GetTaskRequest(types.Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskIdParams
    name_param = "taskId"  # SEP-2663 wants the task id in the Mcp-Name header


async def _resolve_by_hand(created: CreatedTask, ctx: ClaimContext) -> types.CallToolResult:
    raise RuntimeError("this harness drives tasks/get itself (call_tool with allow_claimed=True)")


class TasksExtension(ClientExtension):
    """Advertises SEP-2663 and claims resultType "task" on tools/call."""

    identifier = TASKS_EXTENSION

    def claims(self) -> tuple[ResultClaim[Any], ...]:
        return (ResultClaim(result_type="task", model=CreatedTask, resolve=_resolve_by_hand,
                            protocol_versions=frozenset(MODERN_PROTOCOL_VERSIONS)),)


async def check_tasks_sep2663(report: Report, http: httpx2.AsyncClient, state: State) -> None:
    name = "tasks (2026-07-28 extension)"
    try:
        async with Client(streamable_http_client(state.url, http_client=http), mode="auto", cache=None,
                          extensions=[TasksExtension()]) as client:
            if client.protocol_version not in MODERN_PROTOCOL_VERSIONS:
                return report.skip(name, f"server/discover not answered; negotiated {client.protocol_version}")
            advertised = TASKS_EXTENSION in (client.server_capabilities.extensions or {})
            await client.list_tools()
            # Tried even when not advertised: the client's ad alone may make the server task it.
            created = await client.session.call_tool("create_task", {"prompt": PROMPT}, allow_claimed=True)
            if not isinstance(created, CreatedTask):
                return report.skip(name, f"{client.protocol_version} server ran create_task synchronously"
                                   f" ({TASKS_EXTENSION} {'advertised' if advertised else 'not advertised'})")
            report.ok(f"{name}: tools/call create_task", f"taskId {created.task_id}, status {created.status}"
                      + ("" if advertised else f" (note: capabilities.extensions lacks {TASKS_EXTENSION})"))

            async def get() -> DetailedTask:
                request = GetTaskRequest(params=TaskIdParams(task_id=created.task_id))
                return await client.session.send_request(request, DetailedTask)

            final, seen = await poll_until_terminal(get, state.task_timeout)
            data = (final.result or {}).get("structuredContent") or {}
            report.check(f"{name}: tasks/get -> completed with result",
                         final.status == "completed" and "task_id" in data,
                         f"{' -> '.join(seen)}; structuredContent {data}")
    except MCPError as exc:
        report.skip(name, f"modern connection refused: {describe(exc)}")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


async def run(state: State) -> Report:
    report = Report()
    await guarded(report, "http rules", check_http_rules(report, state))
    # The SDK takes extra headers only through the httpx2 client it is given.
    async with httpx2.AsyncClient(headers={"X-API-Key": state.api_key}, timeout=httpx2.Timeout(30, read=120)) as http:
        await guarded(report, "connect (initialize handshake)", run_session(report, http, state))
        await guarded(report, "tasks (2026-07-28 extension)", check_tasks_sep2663(report, http, state))
        await guarded(report, "JSON-RPC codes (stateless era)", check_jsonrpc_codes_stateless(report, http, state))
    return report


async def run_session(report: Report, http: httpx2.AsyncClient, state: State) -> None:
    """Every check on one handshake-era session (Client mode="legacy": initialize)."""
    transport = streamable_http_client(state.url, http_client=http)
    async with Client(transport, mode="legacy", cache=None, read_timeout_seconds=60) as client:
        await guarded(report, "initialize", check_initialize(report, client))
        await guarded(report, "listings", check_listings(report, client, state))
        await guarded(report, "tools/call create_task", check_create_task(report, client, state))
        if state.task_id:
            await guarded(report, "get_task_status", check_poll_status(report, client, state))
            await guarded(report, "get_task_result", check_task_result(report, client, state))
        else:
            report.skip("task status/result/template", "create_task gave no task_id")
        await guarded(report, "resources/read", check_read_resources(report, client, state))
        if state.task_id:
            await guarded(report, "resource template", check_read_template(report, client, state))
        await guarded(report, "prompts/get", check_prompts(report, client, state))
        await guarded(report, "error shapes", check_error_shapes(report, client))
        await guarded(report, "tasks (2025-11-25)", check_tasks_sep1686(report, client, http, state))


def main() -> int:
    url, key = os.environ.get("MCP_URL"), os.environ.get("MCP_API_KEY")
    if not url or not key:
        print("usage: MCP_URL=http://127.0.0.1:3100/mcp MCP_API_KEY=... python_sdk_test.py", file=sys.stderr)
        return 2
    state = State(url=url, api_key=key, task_timeout=float(os.environ.get("MCP_TASK_TIMEOUT", "60")))
    report = asyncio.run(run(state))
    print(f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    strict = os.environ.get("MCP_STRICT") == "1"
    return 1 if report.failed or (strict and report.skipped) else 0


if __name__ == "__main__":
    sys.exit(main())
