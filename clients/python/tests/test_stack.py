"""The client against the local stack (`make test` runs these with MCPFLOW_URL, MCPFLOW_WS_URL and
MCPFLOW_KEY set): a connection killed in the middle of a streamed reply recovers without missing
its task's update, and tools answer through the same connection."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from mcpflow_client import Diagnostic, Event, MCPClient, MCPError

STACK = {name: os.environ.get(name) for name in ("MCPFLOW_URL", "MCPFLOW_WS_URL", "MCPFLOW_KEY")}
pytestmark = pytest.mark.skipif(not all(STACK.values()), reason="needs the local stack (make test)")


def client() -> MCPClient:
    return MCPClient(str(STACK["MCPFLOW_WS_URL"]), str(STACK["MCPFLOW_KEY"]), "2.0", http_url=STACK["MCPFLOW_URL"])


async def until(condition: Any, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_connection_killed_mid_stream_recovers_without_missing_the_tasks_update() -> None:
    mcp = client()
    # Away long enough for the reply to finish meanwhile: its update must come from the catch-up.
    mcp.backoff = lambda attempt: 4.0  # type: ignore[method-assign]
    events: list[Event] = []
    diagnostics: list[Diagnostic] = []
    mcp.on_event(events.append)
    mcp.enable_diagnostics()
    mcp.on_diagnostic(diagnostics.append)
    await mcp.connect()
    try:
        await killed_mid_stream(mcp, events, diagnostics)
    finally:
        await mcp.close()


async def killed_mid_stream(mcp: MCPClient, events: list[Event], diagnostics: list[Diagnostic]) -> None:
    # GIVEN a context on the slow stand-in, subscribed to
    context = await mcp.rest("POST", "/api/v1/mcp/contexts", {"model_id": "standin"})
    await mcp.subscribe([f"context:{context['context_id']}"])
    words = " ".join(f"w{i}" for i in range(8))
    accepted = await mcp.rest("POST", f"/api/v1/mcp/contexts/{context['context_id']}/prompt",
                              {"prompt": f"[chunk-delay 0.2] {words}", "stream": True})
    task_id = accepted["task_id"]
    # WHEN its first chunk has arrived, the connection is killed (no close frame)
    await until(lambda: any(e.event_type == "completion_chunk" for e in events), 30)
    assert mcp._ws is not None
    mcp._ws.transport.abort()
    # THEN the client reconnects, and the task's final update arrives exactly once, from the catch-up
    def finals() -> list[Event]:
        return [e for e in events if e.event_type == "task_update" and e.data.get("task_id") == task_id
                and e.data.get("status") == "completed"]

    await until(lambda: len(finals()) >= 1, 60)
    await asyncio.sleep(1)  # any repeat would have come by now
    (final,) = finals()
    assert final.replayed, "the update was sent while the connection was down"
    assert words in str(final.data.get("output")), final.data
    stats = mcp.get_diagnostics()
    assert stats["reconnects"] == 1 and stats["replayed_events"] >= 1, stats
    codes = [d.code for d in diagnostics]
    assert codes.index("CONNECTION_LOST") < codes.index("RECONNECTED"), codes


async def test_tools_answer_over_the_connection_and_refusals_count_as_violations() -> None:
    async with client() as mcp:
        names = {t["name"] for t in await mcp.list_tools()}
        assert {"create_task", "system/diagnostics"} <= names, names
        answer = await mcp.call_tool("system/diagnostics", {})
        assert answer["isError"] is False and "health" in answer["structuredContent"], answer
        with pytest.raises(MCPError) as refused:
            await mcp.request("no/such/method")
        assert refused.value.code == "INVALID_MESSAGE_FORMAT"
        stats = mcp.get_diagnostics()
        assert stats["violations"] == {"INVALID_MESSAGE_FORMAT": 1}, stats
        assert stats["connected"] and stats["client_id"], stats
