#!/usr/bin/env python3
"""Throughput through the local gateway at 1, 10 and 50 concurrent clients, beside the Python FastMCP
peer under the same load: requests per second and latency p50/p95/p99, from `oha` (a Rust HTTP load
generator) run for --seconds per cell.

Targets, each its own cell per concurrency:
  rest      GET /api/v1/mcp/tasks/{id} of one completed task, through the gateway, its authorizer and the
            tasks-get function (an API key: the key's GetItem, the rate bucket's UpdateItem, the task's
            GetItem)
  mcp       POST /mcp tools/list through the gateway, its authorizer and the mcp function
  peer      POST /mcp tools/list to fastmcp_peer.py's own HTTP server (no gateway, no authentication)

Not like for like, and printed with the figures: the local gateway invokes each function's debug
build through a Runtime API of its own per instance (an emulation, on these 2 cores with DynamoDB
Local and the load generator), where API Gateway and Lambda would run the instances on their own
hosts; the peer is one process.

Usage: load.py --url http://127.0.0.1:3500 --key mcpf_... --oha PATH --peer-url http://127.0.0.1:N
       [--seconds 10] [--clients 1,10,50] [--json FILE]
"""

import argparse
import json
import subprocess
import sys

from mcp_compare import MCP_HEADERS, completed_task

TOOLS_LIST = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})


def oha(binary, url, clients, seconds, method="GET", body=None, headers=()):
    argv = [binary, "--no-tui", "--output-format", "json", "-z", f"{seconds}s", "-c", str(clients), "-m", method]
    for name, value in headers:
        argv += ["-H", f"{name}: {value}"]
    if body is not None:
        argv += ["-d", body]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    summary, percentiles = result["summary"], result["latencyPercentiles"]
    codes = dict(result.get("statusCodeDistribution", {}))
    codes.update(result.get("errorDistribution", {}))  # connection errors, timeouts
    ms = lambda key: (percentiles.get(key) or 0) * 1000  # noqa: E731 (seconds in oha's JSON)
    return {"rps": summary["requestsPerSec"], "p50": ms("p50"), "p95": ms("p95"), "p99": ms("p99"),
            "ok": summary.get("successRate", 0.0), "codes": codes}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("--url", "--key", "--oha", "--peer-url"):
        ap.add_argument(name, required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", default="1,10,50")
    ap.add_argument("--json")
    ap.add_argument("--profile", default="debug", help="the functions' build the gateway hosts")
    args = ap.parse_args()
    task_id = completed_task(args.url, args.key)
    mcp_headers = [(k, v) for k, v in MCP_HEADERS.items()]
    targets = {
        "rest": dict(url=f"{args.url}/api/v1/mcp/tasks/{task_id}", headers=[("x-api-key", args.key)]),
        "mcp": dict(url=f"{args.url}/mcp", method="POST", body=TOOLS_LIST,
                    headers=mcp_headers + [("x-api-key", args.key)]),
        "peer": dict(url=f"{args.peer_url}/mcp", method="POST", body=TOOLS_LIST, headers=mcp_headers),
    }
    rows = []
    print("| target | clients | requests/s | p50 ms | p95 ms | p99 ms | answers |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for clients in (int(c) for c in args.clients.split(",")):
        for name, target in targets.items():
            figures = oha(args.oha, clients=clients, seconds=args.seconds, **target)
            figures.update(target=name, clients=clients)
            rows.append(figures)
            codes = ", ".join(f"{code}: {n}" for code, n in sorted(figures["codes"].items()))
            print(f"| {name} | {clients} | {figures['rps']:.0f} | {figures['p50']:.1f} | {figures['p95']:.1f} "
                  f"| {figures['p99']:.1f} | {codes} |", flush=True)
    by = {(r["target"], r["clients"]): r for r in rows}
    print("\nratio mcp/peer (requests/s, p50): " + "; ".join(
        f"{c} clients {by['mcp', c]['rps'] / by['peer', c]['rps']:.2f}, {by['mcp', c]['p50'] / by['peer', c]['p50']:.2f}"
        for c in sorted({r["clients"] for r in rows}) if by["peer", c]["rps"] and by["peer", c]["p50"]))
    print(f"{args.seconds} s per cell. Not like for like: the gateway invokes the functions' {args.profile} builds through "
          "Runtime APIs of its own on these cores, with authentication; the peer is one process with its own HTTP "
          "server and no authentication.", file=sys.stdout)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
