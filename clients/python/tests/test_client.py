"""The client against small stand-in servers: heartbeat timeouts, reconnection, catch-up and its
repeats, refusals counted as violations. No mcpflow needed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from mcpflow_client import Diagnostic, Event, MCPClient, MCPError


def envelope(message_type: str, message_id: str, **body: Any) -> str:
    return json.dumps({"protocol_version": "2.0", "message_type": message_type, "message_id": message_id, **body})


class StandIn:
    """A server speaking enough of protocol 2.0: a welcome on the first message, heartbeats answered
    unless `silent`, `subscribe` and `events/since` answered from `kept`, anything else refused."""

    def __init__(self) -> None:
        self.silent = False
        self.connections = 0
        self.kept: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.live: list[ServerConnection] = []

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.live.append(ws)
        welcomed = False
        async for raw in ws:
            message = json.loads(raw)
            if not welcomed:
                welcomed = True
                data = {"client_id": f"c{self.connections}", "heartbeat_interval_secs": 30}
                await ws.send(envelope("event", "evt_" + "0" * 28, event_type="welcome", data=data))
            kind, mid = message["message_type"], message["message_id"]
            if kind == "heartbeat":
                if not self.silent:
                    await ws.send(envelope("heartbeat", "hb", request_id=mid, client_id="c", uptime=1.0))
                continue
            self.requests.append(message)
            method = message.get("method")
            if method == "subscribe":
                result: dict[str, Any] = {"subscribed": message["params"]["topics"], "tasks": {}}
            elif method == "events/since":
                result = {"events": self.kept, "more": False, "next_cursor": None, "complete": True}
            else:
                await ws.send(envelope("error", "err", error_code="INVALID_MESSAGE_FORMAT",
                                       error_message=f"unknown method {method}", request_id=mid))
                continue
            await ws.send(envelope("response", "resp", request_id=mid, result=result))


def event(message_id: str, task_id: str, status: str) -> dict[str, Any]:
    return {"protocol_version": "2.0", "message_type": "event", "message_id": message_id,
            "event_type": "task_update", "data": {"task_id": task_id, "status": status}}


@pytest.fixture
async def stand_in():
    server = StandIn()
    async with serve(server.handler, "127.0.0.1", 0) as running:
        port = running.sockets[0].getsockname()[1]
        yield server, f"ws://127.0.0.1:{port}/v1"


def quick(uri: str, **kwargs: Any) -> MCPClient:
    client = MCPClient(uri, "mcpf_0000000000000000_secret", heartbeat_interval=0.2, heartbeat_timeout=0.3,
                       request_timeout=5, **kwargs)
    client.backoff = lambda attempt: 0.05  # type: ignore[method-assign]
    return client


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_an_unanswered_heartbeat_is_a_lost_connection_that_is_opened_again(stand_in) -> None:
    server, uri = stand_in
    client = quick(uri)
    seen: list[Diagnostic] = []
    client.enable_diagnostics()
    client.on_diagnostic(seen.append)
    await client.connect()
    # WHEN the server stops answering heartbeats
    server.silent = True
    await until(lambda: client.get_diagnostics()["heartbeat_timeouts"] >= 1)
    server.silent = False
    # THEN the client says so, opens the connection again, and is usable
    await until(lambda: client.get_diagnostics()["reconnects"] >= 1)
    codes = [d.code for d in seen]
    assert codes[0] == "CONNECTED" and "HEARTBEAT_TIMEOUT" in codes and "RECONNECTED" in codes, codes
    assert server.connections >= 2
    assert await client.subscribe(["task:t1"]) == {"subscribed": ["task:t1"], "tasks": {}}
    await client.close()


async def test_after_a_drop_topics_are_subscribed_again_and_missed_events_arrive_once(stand_in) -> None:
    server, uri = stand_in
    client = quick(uri)
    got: list[Event] = []
    client.on_event(got.append)
    await client.connect()
    await client.subscribe(["context:c1"])
    # GIVEN one event seen live
    first = event("evt_01a0000000000000000000000001", "t1", "running")
    await server.live[-1].send(json.dumps(first))
    await until(lambda: len(got) == 1)
    # WHEN the connection drops, and the server keeps that event and one sent meanwhile
    missed = event("evt_01a0000000000000000000000002", "t1", "completed")
    server.kept = [first, missed]
    server.live[-1].transport.abort()
    await until(lambda: client.get_diagnostics()["reconnects"] == 1)
    # THEN the topic is subscribed again, the catch-up asks from the last event seen, and only the
    # missed event is delivered, marked replayed
    methods = [(r["method"], r.get("params")) for r in server.requests]
    assert methods[-2:] == [("subscribe", {"topics": ["context:c1"]}),
                            ("events/since", {"after": "evt_01a0000000000000000000000001"})], methods
    assert [(e.message_id, e.replayed) for e in got] == [(first["message_id"], False), (missed["message_id"], True)]
    stats = client.get_diagnostics()
    assert (stats["duplicates_dropped"], stats["replayed_events"]) == (1, 1)
    assert stats["last_event_id"] == missed["message_id"]
    await client.close()


async def test_a_refusal_raises_with_its_code_and_counts_as_a_violation(stand_in) -> None:
    _, uri = stand_in
    async with quick(uri) as client:
        with pytest.raises(MCPError) as refused:
            await client.request("no/such/method")
        assert refused.value.code == "INVALID_MESSAGE_FORMAT"
        stats = client.get_diagnostics()
        assert stats["violations"] == {"INVALID_MESSAGE_FORMAT": 1}
        assert stats["messages_sent"] >= 2 and stats["messages_received"] >= 2


async def test_a_server_that_is_not_there_fails_connect_and_one_that_goes_is_given_up_on(stand_in) -> None:
    with pytest.raises(MCPError) as failed:
        await quick("ws://127.0.0.1:9/v1").connect()
    assert failed.value.code == "CONNECTION_FAILED"
    server, uri = stand_in
    client = quick(uri, max_reconnect_attempts=2)
    seen: list[Diagnostic] = []
    client.enable_diagnostics()
    client.on_diagnostic(seen.append)
    await client.connect()
    client.uri = "ws://127.0.0.1:9/v1"  # where it reconnects to: nothing listens
    server.live[-1].transport.abort()
    await until(lambda: any(d.code == "RECONNECTION_FAILED" for d in seen))
    with pytest.raises(MCPError):
        await client.request("subscribe", {"topics": ["agents"]})
    await client.close()


def test_backoff_doubles_up_to_its_ceiling_with_jitter() -> None:
    client = MCPClient("ws://x", "k", max_backoff=30)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (6, 30), (20, 30)]:
        waits = [client.backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (attempt, waits)
        assert len(set(waits)) > 1, "no jitter"


def test_only_protocol_2_0_is_spoken() -> None:
    with pytest.raises(ValueError):
        MCPClient("ws://x", "k", protocol_version="1.0")
