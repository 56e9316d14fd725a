"""An async client of mcpflow's WebSocket API (protocol 2.0), the brief's `MCPClient`."""

from mcpflow_client.client import Diagnostic, Event, MCPClient, MCPError

__all__ = ["Diagnostic", "Event", "MCPClient", "MCPError"]
