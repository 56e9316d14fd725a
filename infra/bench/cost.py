#!/usr/bin/env python3
"""The AWS bill per 1 million REST calls, per 1 million MCP calls and per 1,000 prompts, computed from what `make bench`
measured (functions.json: each function's warm duration and AWS round trips by operation) and what
`make bench-mcp` measured for the Python FastMCP peer (mcp.json), at the list prices below.

A REST or MCP call through the HTTP API is: one API Gateway request, one authorizer invocation (the
template caches no authorizer result, so revocation is immediate), one function invocation, and the
DynamoDB and SQS requests both made. Lambda bills each invocation's duration rounded up to 1 ms at the
function's memory size (template.yaml: 128 MB, `mcp` 256 MB), at arm64's price per GB-second.

Estimates, stated so that they can be checked:
- DynamoDB on-demand: a read (GetItem, Query page) is 1 read request unit (strongly consistent, under
  4 KB); a write (PutItem, UpdateItem, DeleteItem) 1 write request unit (under 1 KB); a
  TransactWriteItems 2 units per item, with TRANSACT_ITEMS items; a BatchGetItem BATCH_ITEMS reads.
- Durations are the local stack's: DynamoDB Local and moto answer in about a millisecond on loopback,
  a real regional endpoint in a few, so a deployed function waits (and is billed) somewhat longer.
- The REST and MCP lines count no index writes (most routes write no indexed item; a task's create
  writes five, as the prompt line counts).
- Cold starts are left out (Lambda bills the init phase too; the table beside this shows its length).
- CloudWatch Logs ingestion, data transfer and the free tier are left out.
- The authorizer's fixture is a refused key (it makes no AWS call), so a caller's API key is priced
  as README's round trips say it costs: its measured warm duration plus AUTHORIZER_OPS at the median
  wait of one AWS call in the same run.
- The peer runs behind the same API Gateway and authorizer, with its measured warm `tools/list`
  duration and the smallest Lambda memory size that holds its measured peak RSS with a quarter to spare.
- A prompt is its `POST …/prompt` (through API Gateway and the authorizer) and its task's run in
  `task-worker`, each with the round trips `make test` holds them to (PROMPT_OPS, WORKER_OPS; README,
  Round trips per route), priced at its measured own CPU time plus the median wait of one AWS call per
  round trip (their fixtures are a missing context's 404 and an unknown task, which make fewer), the
  task item's index entries (PROMPT_INDEX_WRITES, WORKER_INDEX_WRITES), and the event source's
  receive and delete of its message. Every item is taken to be under 1 KB; a task holding a long
  reply is larger and costs a unit more per KB at each of its writes and index writes. Left out: the provider's own bill (tokens),
  the metrics samples (a busy function writes them added up every 5 s, not per prompt), WebSocket
  pushes to subscribers, reading the answer back, and the event source's empty long polls (a fixed
  cost per queue, not per prompt).

Usage: cost.py --functions functions.json [--mcp mcp.json]
"""

import argparse
import json
import math
import statistics

# us-east-1 list prices (USD), as published for 2026; one place to update them.
PRICES = {
    "api_gateway_http_request": 1.00 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_arm64_gb_second": 0.0000133334,
    "dynamodb_read_unit": 0.125 / 1e6,
    "dynamodb_write_unit": 0.625 / 1e6,
    "sqs_request": 0.40 / 1e6,
}
# An API key's authorization: the key's GetItem and the rate bucket's UpdateItem.
AUTHORIZER_OPS = {"DynamoDB.GetItem": 1, "DynamoDB.UpdateItem": 1}
# A prompt's request: the context's reservation, the transaction (task with its outbox entry, prompt
# node, counters: 3 items) and the send. Its task in the worker: start, counters, context, reply node,
# the finish's transaction (task, counters: 2 items), the subscribers of the completed update's two
# topics and the update kept under both (one BatchWriteItem of 2 items); the event source's
# ReceiveMessage and DeleteMessage. The task item's index entries are written too (1 unit each; an
# entry whose key changes is a delete and a put): the create puts gsi1-gsi4 and gsi5 (5); the start
# moves gsi1 (2), rewrites gsi2-gsi4 (3, they project every attribute) and removes gsi5 (1); the
# finish moves gsi1 and rewrites gsi2-gsi4 again (5).
PROMPT_OPS = {"DynamoDB.UpdateItem": 1, "DynamoDB.TransactWriteItems": 1, "SQS.SendMessage": 1}
PROMPT_TRANSACT_ITEMS = 3
WORKER_OPS = {"DynamoDB.UpdateItem": 2, "DynamoDB.Query": 3, "DynamoDB.PutItem": 1,
              "DynamoDB.TransactWriteItems": 1, "DynamoDB.BatchWriteItem": 1}
WORKER_TRANSACT_ITEMS = 2
WORKER_BATCH_ITEMS = 2
EVENT_SOURCE_SQS_REQUESTS = 2
PROMPT_INDEX_WRITES = 5
WORKER_INDEX_WRITES = 11
TRANSACT_ITEMS = 4
BATCH_ITEMS = 12
MEMORY_MB = {"mcp": 256}
DEFAULT_MEMORY_MB = 128
READS = {"GetItem": 1, "Query": 1, "Scan": 1, "BatchGetItem": BATCH_ITEMS, "TransactGetItems": 2 * TRANSACT_ITEMS}
WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1, "TransactWriteItems": 2 * TRANSACT_ITEMS,
          "BatchWriteItem": 1}


def aws_cost(ops, transact_items=TRANSACT_ITEMS, batch_write_items=1):
    """The DynamoDB and SQS share of one invocation's AWS calls ({"DynamoDB.GetItem": 1, ...})."""
    writes = dict(WRITES, TransactWriteItems=2 * transact_items, BatchWriteItem=batch_write_items)
    total = 0.0
    for name, n in ops.items():
        service, operation = name.split(".", 1)
        if service == "DynamoDB":
            total += n * READS.get(operation, 0) * PRICES["dynamodb_read_unit"]
            total += n * writes.get(operation, 0) * PRICES["dynamodb_write_unit"]
        elif service == "SQS":
            total += n * PRICES["sqs_request"]
    return total


def invocation_cost(duration_ms, memory_mb):
    billed_seconds = math.ceil(duration_ms) / 1000
    return PRICES["lambda_request"] + billed_seconds * memory_mb / 1024 * PRICES["lambda_arm64_gb_second"]


def call_cost(row, authorizer):
    """One call through the HTTP API to the function of `row`, split into its parts."""
    memory = MEMORY_MB.get(row["function"], DEFAULT_MEMORY_MB)
    parts = {
        "api_gateway": PRICES["api_gateway_http_request"],
        "lambda": invocation_cost(authorizer["warm_ms"], DEFAULT_MEMORY_MB) + invocation_cost(row["warm_ms"], memory),
        "dynamodb_sqs": aws_cost(authorizer["ops"]) + aws_cost(row["ops"]),
    }
    return parts


def lambda_memory_for(rss_mb):
    """The smallest Lambda memory size (MB, 128 upwards in 1 MB steps, rounded to a multiple of 64 here)
    that holds `rss_mb` with a quarter to spare."""
    return max(128, math.ceil(rss_mb * 1.25 / 64) * 64)


def per_million(parts):
    return {k: v * 1e6 for k, v in parts.items()}


def own_ms(row, ops, per_call):
    """An invocation's billed time: its own CPU (`own_us`, else its warm time) and a wait per call."""
    own = row["own_us"] / 1000 if row.get("own_us") is not None else row["warm_ms"]
    return own + per_call * sum(ops.values())


def prompt_cost(rows, authorizer, per_call):
    """One prompt: its request through the HTTP API, its task's run in the worker, split into parts."""
    request, worker = rows["contexts-prompt"], rows["task-worker"]
    memory = MEMORY_MB.get("task-worker", DEFAULT_MEMORY_MB)
    return {
        "api_gateway": PRICES["api_gateway_http_request"],
        "lambda": (invocation_cost(authorizer["warm_ms"], DEFAULT_MEMORY_MB)
                   + invocation_cost(own_ms(request, PROMPT_OPS, per_call), DEFAULT_MEMORY_MB)
                   + invocation_cost(own_ms(worker, WORKER_OPS, per_call), memory)),
        "dynamodb_sqs": (aws_cost(authorizer["ops"]) + aws_cost(PROMPT_OPS, PROMPT_TRANSACT_ITEMS)
                         + aws_cost(WORKER_OPS, WORKER_TRANSACT_ITEMS, WORKER_BATCH_ITEMS)
                         + (PROMPT_INDEX_WRITES + WORKER_INDEX_WRITES) * PRICES["dynamodb_write_unit"]
                         + EVENT_SOURCE_SQS_REQUESTS * PRICES["sqs_request"]),
    }


def line(label, parts):
    total = sum(parts.values())
    cells = " | ".join(f"${parts[k]:.3f}" for k in ("api_gateway", "lambda", "dynamodb_sqs"))
    return f"| {label} | {cells} | **${total:.3f}** |"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--functions", required=True, help="make bench's functions.json")
    ap.add_argument("--mcp", help="make bench-mcp's mcp.json (the FastMCP peer's figures)")
    args = ap.parse_args()
    with open(args.functions) as f:
        rows = {r["function"]: r for r in json.load(f)}
    measured = rows.get("authorizer")
    if measured is None:
        raise SystemExit("functions.json has no authorizer row: run `make bench` without ONLY")
    per_call = statistics.median(r["aws_ms"] / r["aws_calls"] for r in rows.values() if r["aws_calls"])
    authorizer = {"warm_ms": measured["warm_ms"] + per_call * sum(AUTHORIZER_OPS.values()), "ops": AUTHORIZER_OPS}

    print("| per 1 million calls | API Gateway | Lambda | DynamoDB + SQS | total |")
    print("| --- | --- | --- | --- | --- |")
    rest = {name: per_million(call_cost(row, authorizer)) for name, row in rows.items()
            if row["trigger"] == "http" and name not in ("mcp", "mcp-metadata")}
    totals = sorted(sum(p.values()) for p in rest.values())
    if rest:
        median_route = min(rest, key=lambda n: abs(sum(rest[n].values()) - statistics.median(totals)))
        print(line(f"REST, the median route (`{median_route}`, of {len(rest)} measured)", rest[median_route]))
        cheapest, dearest = min(rest, key=lambda n: sum(rest[n].values())), max(rest, key=lambda n: sum(rest[n].values()))
        print(line(f"REST, the cheapest route (`{cheapest}`)", rest[cheapest]))
        print(line(f"REST, the dearest route (`{dearest}`)", rest[dearest]))
    if "mcp" in rows:
        print(line("MCP, Rust `mcp` (its `initialize` fixture, 256 MB)", per_million(call_cost(rows["mcp"], authorizer))))
    if args.mcp:
        with open(args.mcp) as f:
            peer = json.load(f)
        for label, figures in (("Rust `mcp`", peer["rust"]), ("Python FastMCP peer", peer["python"])):
            memory = MEMORY_MB["mcp"] if label.startswith("Rust") else lambda_memory_for(figures["rss_mb"])
            row = {"function": "peer", "warm_ms": figures["list_p50_ms"], "ops": {}}
            parts = call_cost(row, authorizer)
            parts["lambda"] = (invocation_cost(authorizer["warm_ms"], DEFAULT_MEMORY_MB)
                               + invocation_cost(figures["list_p50_ms"], memory))
            print(line(f"MCP `tools/list`, {label} ({figures['list_p50_ms']:.2f} ms at {memory} MB; "
                       f"cold start {figures['cold_ms']:.0f} ms, not billed here)", per_million(parts)))
    if "contexts-prompt" in rows and "task-worker" in rows:
        parts = {k: v * 1000 for k, v in prompt_cost(rows, authorizer, per_call).items()}
        print(line("**per 1,000 prompts** (`local` provider: the provider's bill not included)", parts))
    print(f"\nAn authorizer call priced at {authorizer['warm_ms']:.2f} ms with {AUTHORIZER_OPS}; "
          f"one AWS call waited {per_call:.2f} ms (median).")
    print(f"Prices: {', '.join(f'{k} ${v:.10g}' for k, v in PRICES.items())} (us-east-1 list prices).")


if __name__ == "__main__":
    main()
