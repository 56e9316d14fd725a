"""`MCPClient`: one connection to mcpflow's WebSocket API that stays up.

It authenticates with an API key (or a JWT), heartbeats every 30 s and treats a heartbeat left
unanswered for `heartbeat_timeout` seconds as a lost connection (`HEARTBEAT_TIMEOUT`). A lost
connection is opened again with exponential backoff and jitter (1 s, 2 s, 4 s … up to 30 s), its
topics are subscribed again, and the events it missed are fetched with `events/since` from the last
event it saw, so a handler sees every kept event once (streamed chunks are not kept: the task's
`task_update` carries the whole text). Everything the client notices about its connection is a
`Diagnostic` for `on_diagnostic` handlers, and `get_diagnostics()` counts what it sent, received and
was refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

PROTOCOL_VERSION = "2.0"
#: Event ids remembered to drop the repeats a catch-up brings (it starts 5 s before the last one seen).
SEEN_IDS = 2048

EventHandler = Callable[["Event"], Awaitable[None] | None]
DiagnosticHandler = Callable[["Diagnostic"], Awaitable[None] | None]
H = TypeVar("H", bound=Callable[..., Any])


class MCPError(Exception):
    """A refusal: the server's `error` message (its `error_code`), or the client's own
    (`CONNECTION_LOST`, `RECONNECTION_FAILED`, `REQUEST_TIMEOUT`, `CLOSED`)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass(frozen=True)
class Event:
    """A pushed event: `task_update`, `completion_chunk`, `resource_update`, `agent_update`,
    `pipeline_progress`; `replayed` when it came through `events/since` after a reconnect."""

    event_type: str
    data: dict[str, Any]
    message_id: str
    replayed: bool = False


@dataclass(frozen=True)
class Diagnostic:
    """Something the client noticed about its connection: `level` info, warning or error, and a
    `code`: CONNECTED, CONNECTION_LOST, HEARTBEAT_TIMEOUT, RECONNECTING, RECONNECTED,
    RECONNECTION_FAILED, CATCH_UP_INCOMPLETE or PROTOCOL_ERROR (an `error` no request waited for)."""

    level: str
    code: str
    message: str


@dataclass
class _Counts:
    sent: int = 0
    received: int = 0
    events: int = 0
    replayed_events: int = 0
    duplicates_dropped: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    connects: int = 0
    reconnects: int = 0
    heartbeat_timeouts: int = 0
    last_heartbeat_rtt_ms: float | None = None


class MCPClient:
    """The brief's client: `await connect()`, then `subscribe`, `call_tool`, `request`; handlers
    registered with `@client.on_event` and `@client.on_diagnostic`; `await close()` at the end."""

    def __init__(
        self,
        uri: str,
        api_key: str,
        protocol_version: str = PROTOCOL_VERSION,
        *,
        http_url: str | None = None,
        heartbeat_interval: float = 30.0,
        heartbeat_timeout: float = 10.0,
        request_timeout: float = 30.0,
        max_backoff: float = 30.0,
        max_reconnect_attempts: int | None = None,
    ) -> None:
        if protocol_version != PROTOCOL_VERSION:
            raise ValueError(f"mcpflow speaks protocol {PROTOCOL_VERSION}, not {protocol_version}")
        self.uri = uri
        self.http_url = http_url
        self._key = api_key
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.request_timeout = request_timeout
        self.max_backoff = max_backoff
        self.max_reconnect_attempts = max_reconnect_attempts
        self.client_id: str | None = None
        self.last_event_id: str | None = None
        self.topics: list[str] = []
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._welcome: asyncio.Future[dict[str, Any]] | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._next_id = 0
        self._event_handlers: list[EventHandler] = []
        self._diagnostic_handlers: list[DiagnosticHandler] = []
        self._diagnostics_enabled = False
        self._counts = _Counts()
        self._connected_at: float | None = None

    # -- handlers ---------------------------------------------------------------------------------

    def enable_diagnostics(self) -> None:
        """Delivers `Diagnostic`s to the `on_diagnostic` handlers (counted either way)."""
        self._diagnostics_enabled = True

    def on_event(self, handler: H) -> H:
        """Registers a handler of every pushed event (a decorator; sync or async)."""
        self._event_handlers.append(handler)
        return handler

    def on_diagnostic(self, handler: H) -> H:
        """Registers a handler of the client's diagnostics (a decorator; sync or async)."""
        self._diagnostic_handlers.append(handler)
        return handler

    # -- lifecycle --------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Opens the connection (its welcome read) and keeps it open until `close()`.

        Raises `MCPError` (`CONNECTION_FAILED`) when the first connection cannot be opened: a refused
        key is not retried."""
        await self._open()
        self._counts.connects += 1
        await self._diagnose("info", "CONNECTED", f"connected to {self.uri} as {self.client_id}")
        self._supervisor = asyncio.create_task(self._supervise())

    async def close(self) -> None:
        """Closes the connection for good; pending requests fail with `CLOSED`."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._ws is not None:
            await self._ws.close()
        self._fail_pending("CLOSED", "the client was closed")

    async def __aenter__(self) -> MCPClient:
        await self.connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- requests ---------------------------------------------------------------------------------

    async def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Sends a `request` and returns its `result`; raises `MCPError` for an `error` answer, or
        when no answer came within `request_timeout` (a reconnect in between included)."""
        deadline = time.monotonic() + self.request_timeout
        try:
            await asyncio.wait_for(self._connected.wait(), self.request_timeout)
        except TimeoutError:
            raise MCPError("REQUEST_TIMEOUT", f"not connected within {self.request_timeout} s") from None
        message_id = self._message_id("req")
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = answer
        body: dict[str, Any] = {"method": method}
        if params is not None:
            body["params"] = params
        try:
            await self._send("request", message_id, body)
            reply = await asyncio.wait_for(answer, max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            raise MCPError("REQUEST_TIMEOUT", f"{method} had no answer within {self.request_timeout} s") from None
        finally:
            self._pending.pop(message_id, None)
        return reply.get("result")

    async def subscribe(self, topics: list[str]) -> dict[str, Any]:
        """Subscribes to `topics` (`task:<id>`, `context:<id>`, `resource:<uri>`, `agents`,
        `pipeline:<id>`), again after every reconnect; the server's answer."""
        result: dict[str, Any] = await self.request("subscribe", {"topics": topics})
        self.topics.extend(t for t in topics if t not in self.topics)
        return result

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """`tools/call`: MCP's `CallToolResult` (`content`, `structuredContent`, `isError`)."""
        result: dict[str, Any] = await self.request("tools/call", {"name": name, "arguments": arguments or {}})
        return result

    async def list_tools(self) -> list[dict[str, Any]]:
        result: dict[str, Any] = await self.request("tools/list")
        return list(result.get("tools", []))

    async def rest(self, method: str, path: str, body: Any = None) -> Any:
        """One call of the HTTP API at `http_url` with the same credentials; raises `MCPError` with
        the envelope's code for a refusal."""
        if self.http_url is None:
            raise ValueError("MCPClient(http_url=…) is needed for REST calls")
        async with httpx.AsyncClient(base_url=self.http_url, headers=self._headers(), timeout=30) as http:
            answer = await http.request(method, path, json=body)
        payload = answer.json() if answer.content else None
        if answer.status_code >= 400:
            error = (payload or {}).get("error", {}) if isinstance(payload, dict) else {}
            raise MCPError(str(error.get("code", answer.status_code)), str(error.get("message", answer.text)))
        return payload

    def get_diagnostics(self) -> dict[str, Any]:
        """The client's own counts: messages sent and received, events (and how many came through a
        catch-up, and repeats dropped), violations by error code, connects, reconnects, heartbeat
        timeouts, the last heartbeat's round trip, and where the connection stands."""
        c = self._counts
        return {
            "connected": self._connected.is_set(),
            "client_id": self.client_id,
            "uptime_secs": None if self._connected_at is None else round(time.monotonic() - self._connected_at, 3),
            "messages_sent": c.sent,
            "messages_received": c.received,
            "events": c.events,
            "replayed_events": c.replayed_events,
            "duplicates_dropped": c.duplicates_dropped,
            "violations": dict(c.violations),
            "connects": c.connects,
            "reconnects": c.reconnects,
            "heartbeat_timeouts": c.heartbeat_timeouts,
            "last_heartbeat_rtt_ms": c.last_heartbeat_rtt_ms,
            "subscriptions": list(self.topics),
            "last_event_id": self.last_event_id,
        }

    # -- the connection ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        jwt = self._key.count(".") == 2 and not self._key.startswith("mcpf_")
        return {"Authorization": f"Bearer {self._key}"} if jwt else {"X-API-Key": self._key}

    def _message_id(self, prefix: str) -> str:
        self._next_id += 1
        return f"{prefix}-{self._next_id}"

    async def _send(self, message_type: str, message_id: str, body: dict[str, Any] | None = None) -> None:
        if self._ws is None:
            raise MCPError("CONNECTION_LOST", "not connected")
        message = {"protocol_version": PROTOCOL_VERSION, "message_type": message_type, "message_id": message_id}
        message.update(body or {})
        await self._ws.send(json.dumps(message))
        self._counts.sent += 1

    async def _open(self) -> None:
        """Opens a connection and reads its welcome (the answer to a first heartbeat)."""
        try:
            self._ws = await websockets.connect(self.uri, additional_headers=self._headers(), max_size=256 * 1024)
        except (OSError, websockets.InvalidHandshake) as e:
            raise MCPError("CONNECTION_FAILED", f"cannot connect to {self.uri}: {e}") from e
        self._welcome = asyncio.get_running_loop().create_future()
        reader = asyncio.create_task(self._read(self._ws))
        try:
            await self._send("heartbeat", self._message_id("hb"))
            welcome = await asyncio.wait_for(asyncio.shield(self._welcome), self.heartbeat_timeout)
        except (TimeoutError, MCPError, websockets.ConnectionClosed) as e:
            reader.cancel()
            await self._ws.close()
            raise MCPError("CONNECTION_FAILED", f"no welcome from {self.uri}: {e!r}") from e
        self.client_id = welcome.get("client_id")
        self._reader = reader
        self._connected_at = time.monotonic()
        self._connected.set()

    async def _supervise(self) -> None:
        """Heartbeats while the connection is up; when it goes, opens it again and catches up."""
        while not self._closing:
            lost = await self._until_lost()
            if self._closing:
                return
            self._connected.clear()
            self._fail_pending("CONNECTION_LOST", lost)
            await self._diagnose("warning", "CONNECTION_LOST", lost)
            if not await self._reconnect():
                return

    async def _until_lost(self) -> str:
        """Heartbeats every `heartbeat_interval`; returns why the connection is gone."""
        reader, ws = self._reader, self._ws
        if reader is None or ws is None:
            return "not connected"
        while True:
            done, _ = await asyncio.wait({reader}, timeout=self.heartbeat_interval)
            if done:
                return f"the connection closed ({self._close_reason()})"
            hb_id = self._message_id("hb")
            answered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending[hb_id] = answered
            sent_at = time.monotonic()
            try:
                await self._send("heartbeat", hb_id)
                await asyncio.wait_for(asyncio.shield(answered), self.heartbeat_timeout)
                self._counts.last_heartbeat_rtt_ms = round((time.monotonic() - sent_at) * 1000, 1)
            except TimeoutError:
                self._counts.heartbeat_timeouts += 1
                await self._diagnose(
                    "error", "HEARTBEAT_TIMEOUT", f"no heartbeat answer within {self.heartbeat_timeout} s"
                )
                reader.cancel()
                await ws.close()
                return "HEARTBEAT_TIMEOUT"
            except (MCPError, websockets.ConnectionClosed):
                return f"the connection closed ({self._close_reason()})"
            finally:
                self._pending.pop(hb_id, None)

    def _close_reason(self) -> str:
        ws = self._ws
        if ws is None or ws.close_code is None:
            return "no close frame"
        return f"code {ws.close_code}{': ' + ws.close_reason if ws.close_reason else ''}"

    async def _reconnect(self) -> bool:
        """Opens the connection again with backoff, subscribes again and catches up; `False` once
        `max_reconnect_attempts` have failed."""
        attempt = 0
        while not self._closing:
            attempt += 1
            if self.max_reconnect_attempts is not None and attempt > self.max_reconnect_attempts:
                await self._diagnose("error", "RECONNECTION_FAILED", f"gave up after {attempt - 1} attempts")
                self._fail_pending("RECONNECTION_FAILED", "the connection could not be opened again")
                return False
            delay = self.backoff(attempt)
            await self._diagnose("info", "RECONNECTING", f"attempt {attempt} in {delay:.1f} s")
            await asyncio.sleep(delay)
            try:
                await self._open()
                if self.topics:
                    await self.request("subscribe", {"topics": list(self.topics)})
                await self._catch_up()
            except MCPError as e:
                await self._diagnose("warning", "RECONNECTING", f"attempt {attempt} failed: {e}")
                if self._ws is not None:
                    await self._ws.close()
                self._connected.clear()
                continue
            self._counts.reconnects += 1
            await self._diagnose("info", "RECONNECTED", f"reconnected as {self.client_id} after {attempt} attempt(s)")
            return True
        return False

    def backoff(self, attempt: int) -> float:
        """The wait before reconnect `attempt` (from 1): 1, 2, 4 … s up to `max_backoff`, each
        drawn between half and all of it, so clients that lost the server together do not return
        together."""
        ceiling = min(self.max_backoff, 2.0 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def _catch_up(self) -> None:
        """The events missed while away: `events/since` the last one seen, page by page."""
        if not self.topics:
            return
        params: dict[str, Any] = {"after": self.last_event_id} if self.last_event_id else {}
        while True:
            page: dict[str, Any] = await self.request("events/since", params)
            for message in page.get("events", []):
                await self._on_event(message, replayed=True)
            if not page.get("complete", True):
                await self._diagnose(
                    "warning", "CATCH_UP_INCOMPLETE", "events older than the server keeps may be missing"
                )
            if not page.get("more"):
                return
            params = {"cursor": page["next_cursor"]}

    async def _read(self, ws: ClientConnection) -> None:
        """Reads every message of one connection until it closes."""
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                self._counts.received += 1
                try:
                    message = json.loads(raw)
                except ValueError:
                    await self._diagnose("warning", "PROTOCOL_ERROR", "a message that is not JSON")
                    continue
                await self._dispatch(message)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("message_type")
        if kind == "event" and message.get("event_type") == "welcome":
            # The first welcome's id marks where this client started: a catch-up before any other
            # event asks from there (a later welcome must not move it past what was missed).
            if self.last_event_id is None:
                self.last_event_id = str(message.get("message_id"))
            if self._welcome is not None and not self._welcome.done():
                self._welcome.set_result(message.get("data", {}))
        elif kind == "event":
            await self._on_event(message, replayed=False)
        elif kind in ("response", "heartbeat"):
            waiting = self._pending.get(str(message.get("request_id")))
            if waiting is not None and not waiting.done():
                waiting.set_result(message)
        elif kind == "error":
            code = str(message.get("error_code", "UNKNOWN"))
            self._counts.violations[code] = self._counts.violations.get(code, 0) + 1
            error = MCPError(code, str(message.get("error_message", "")), message.get("details"))
            waiting = self._pending.get(str(message.get("request_id")))
            if waiting is not None and not waiting.done():
                waiting.set_exception(error)
            else:
                await self._diagnose("warning", "PROTOCOL_ERROR", str(error))

    async def _on_event(self, message: dict[str, Any], *, replayed: bool) -> None:
        message_id = str(message.get("message_id", ""))
        if message_id in self._seen:
            self._counts.duplicates_dropped += 1
            return
        self._seen[message_id] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        event = Event(str(message.get("event_type")), message.get("data") or {}, message_id, replayed)
        # Event ids sort by time, kept or not (a streamed chunk is not kept, yet its id still says
        # when it was sent): the latest is where a catch-up starts.
        if self.last_event_id is None or message_id > self.last_event_id:
            self.last_event_id = message_id
        self._counts.events += 1
        self._counts.replayed_events += int(replayed)
        for handler in self._event_handlers:
            await _call(handler, event)

    async def _diagnose(self, level: str, code: str, message: str) -> None:
        if not self._diagnostics_enabled:
            return
        diagnostic = Diagnostic(level, code, message)
        for handler in self._diagnostic_handlers:
            await _call(handler, diagnostic)

    def _fail_pending(self, code: str, why: str) -> None:
        for waiting in self._pending.values():
            if not waiting.done():
                waiting.set_exception(MCPError(code, why))
        self._pending.clear()


async def _call(handler: Callable[[Any], Awaitable[None] | None], argument: Any) -> None:
    result = handler(argument)
    if asyncio.iscoroutine(result):
        await result
