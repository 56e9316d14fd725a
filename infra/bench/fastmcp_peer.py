#!/usr/bin/env python3
"""The Python peer of the `mcp` function for `make bench-mcp`: a FastMCP server (stateless HTTP, JSON
responses) whose `get_task_status` reads the same DynamoDB item the Rust tool reads and answers the
same structured shape (functions/src/mcp/views.rs `status()`); `create_task` is listed with a
comparable schema but not implemented.

NO AUTHENTICATION: every caller acts as --tenant. Only for a benchmark on 127.0.0.1.

Usage: fastmcp_peer.py --port N [--tenant local] [--table NAME]
Runs in $MCPFLOW_CACHE/venv-bench (infra/bench/requirements.txt). DynamoDB is reached through
AWS_ENDPOINT_URL_DYNAMODB and the dummy credentials of infra/stack/env.sh; the table defaults to
TABLE_NAME from the functions' environment.
"""

import argparse
import json
import os
from datetime import datetime, timezone
from typing import Annotated

import boto3
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import Field

STATUS_NAMES = {"pending": "PENDING", "running": "PROCESSING", "completed": "COMPLETED", "failed": "FAILED",
                "cancelled": "CANCELLED"}
STATUSES = list(STATUS_NAMES.values())
TEXT = {"type": ["string", "null"]}
NUMBER = {"type": ["integer", "null"]}
# functions/src/mcp/tools.rs status_output() and task_ref_output().
STATUS_OUTPUT = {"type": "object", "required": ["task_id", "status", "type", "created_at"], "properties": {
    "task_id": {"type": "string"}, "type": {"type": "string"}, "status": {"enum": STATUSES},
    "priority": {"type": "integer"}, "created_at": {"type": "string"}, "started_at": TEXT, "finished_at": TEXT,
    "attempts": {"type": "integer"}, "processing_time_ms": NUMBER, "elapsed_ms": NUMBER, "provider": TEXT,
    "model": TEXT, "error": TEXT}}
TASK_REF_OUTPUT = {"type": "object", "required": ["task_id", "status"],
                   "properties": {"task_id": {"type": "string"}, "status": {"enum": STATUSES}}}

TaskId = Annotated[str, Field(min_length=1, max_length=128, description="The id create_task or add_prompt returned")]
Prompt = Annotated[str, Field(min_length=1, max_length=1000, description="What the model should answer")]
Priority = Annotated[int, Field(ge=1, le=10, description="1-3 low, 4-7 medium, 8-10 high")]
Provider = Annotated[str | None, Field(description="Only if the model's chain includes this provider")]


def millis_between(start, end):
    if not start or not end:
        return None
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return int(delta.total_seconds() * 1000)  # truncates toward zero, as chrono's num_milliseconds


def now_stamp():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def task_from_item(item):
    """shared/src/conversation/dynamodb/tasks/mod.rs task_from_item: the `doc` JSON, overridden by the
    attributes the conditional updates maintain."""
    task = json.loads(item["doc"]["S"])
    task["status"] = item.get("status", {}).get("S", "pending")
    if "attempts" in item:
        task["attempts"] = int(item["attempts"]["N"])
    for stamp in ("started_at", "finished_at"):
        if stamp in item:
            task[stamp] = item[stamp]["S"]
    return task


def status_view(task):
    """functions/src/mcp/views.rs status()."""
    finished = task["status"] in ("completed", "failed", "cancelled")
    return {"task_id": task["task_id"], "type": task["type"], "status": STATUS_NAMES[task["status"]],
            "priority": task["priority"], "created_at": task["created_at"], "started_at": task.get("started_at"),
            "finished_at": task.get("finished_at"), "attempts": task["attempts"],
            "processing_time_ms": millis_between(task["created_at"], task.get("finished_at")),
            "elapsed_ms": None if finished else millis_between(task["created_at"], now_stamp()),
            "provider": task.get("provider"), "model": task.get("model"), "error": task.get("error")}


def build(tenant, table):
    # The region as the Rust SDK reads it; boto3 itself reads only AWS_DEFAULT_REGION.
    dynamodb = boto3.client("dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"))
    mcp = FastMCP("mcpflow-fastmcp-peer")

    @mcp.tool(title="Task status", description="Status, timestamps and processing time of a task.",
              output_schema=STATUS_OUTPUT, annotations={"readOnlyHint": True, "destructiveHint": False})
    def get_task_status(task_id: TaskId) -> dict:
        key = {"pk": {"S": f"TENANT#{tenant}"}, "sk": {"S": f"TASK#{task_id}"}}
        item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            raise ToolError(f"task {task_id} not found")
        return status_view(task_from_item(item))

    @mcp.tool(title="Create an AI task", output_schema=TASK_REF_OUTPUT,
              description="Queue a prompt for a model; returns the task id to poll with get_task_status.",
              annotations={"readOnlyHint": False, "destructiveHint": False})
    def create_task(prompt: Prompt, model: str = "local-echo", priority: Priority = 5,
                    provider: Provider = None) -> dict:
        raise ToolError("the benchmark peer lists create_task for comparison only; it does not queue tasks")

    return mcp


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tenant", default=os.environ.get("MCPFLOW_TENANT", "local"))
    ap.add_argument("--table", default=os.environ.get("TABLE_NAME"))
    args = ap.parse_args()
    if not args.table:
        raise SystemExit("no table: pass --table or set TABLE_NAME (source $MCPFLOW_RUN/functions.env)")
    build(args.tenant, args.table).run(transport="http", host="127.0.0.1", port=args.port, path="/mcp",
                                       stateless_http=True, json_response=True, show_banner=False,
                                       log_level="WARNING")


if __name__ == "__main__":
    main()
