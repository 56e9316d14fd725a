#!/usr/bin/env python3
"""Prompt accepted -> task completed, through a running local stack with the `local` provider.

Each client has an API key of its own (an operator key the admin key makes, as 20 users would: 20
clients on one key would all spend one rate bucket, one DynamoDB item) and a context, and sends its
prompts one after another, waiting for each answer before the next. The latency of a prompt is the task's own record: `finished_at - created_at` (the 202 is
sent right after `created_at`), so the client's polling interval does not blur it. Also printed:
the queue wait (`created_at -> started_at`) and the worker's run (`started_at -> finished_at`).

How a client waits for its answer is the load it adds, so each run is made twice: polling the task
every `--poll` seconds (20 clients then read 100 times a second), and waiting on the WebSocket API for
the task's `task_update` (subscribed to the context; one read of the task once it is pushed).

Usage: prompt_latency.py --url http://127.0.0.1:3200 --ws ws://127.0.0.1:3201/v1 --key mcpf_... [--prompts 20]
Needs `websockets` (venv-bench) for the WebSocket runs.
"""

import argparse
import json
import statistics
import threading
import time
import urllib.request
from datetime import datetime


def call(url, key, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("X-API-Key", key)
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def ms_between(a, b):
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() * 1000


def polled(base, key, task_id, poll):
    while True:
        task = call(f"{base}/api/v1/mcp/tasks/{task_id}", key)
        if task["status"] not in ("pending", "running"):
            return task
        time.sleep(poll)


def subscribed(ws_url, key, ctx):
    from websockets.sync.client import connect  # venv-bench; mcp_compare and load import this file without it

    socket = connect(ws_url, additional_headers={"X-API-Key": key})
    socket.send(json.dumps({"protocol_version": "2.0", "message_type": "request", "message_id": "sub-1",
                            "method": "subscribe", "params": {"topics": [f"context:{ctx}"]}}))
    while True:  # the welcome, then the subscription's answer
        msg = json.loads(socket.recv(timeout=30))
        if msg.get("message_type") == "response":
            return socket
        if msg.get("message_type") == "error":
            raise RuntimeError(f"subscribe refused: {msg}")


def pushed(base, key, socket, task_id):
    from websockets.exceptions import ConnectionClosed

    while True:
        try:
            msg = json.loads(socket.recv(timeout=60))
        except (TimeoutError, ConnectionClosed):  # a push lost: the record still says how long it took
            return polled(base, key, task_id, 0.2)
        data = msg.get("data") or {}
        if (msg.get("event_type") == "task_update" and data.get("task_id") == task_id
                and data.get("status") not in ("pending", "running")):
            return call(f"{base}/api/v1/mcp/tasks/{task_id}", key)


def client(base, key, prompts, wait, results, errors):
    socket = None
    try:
        ctx = call(f"{base}/api/v1/mcp/contexts", key, "POST", {"model_id": "local-echo"})["context_id"]
        if wait["ws"]:
            socket = subscribed(wait["ws"], key, ctx)
        for i in range(prompts):
            task_id = call(f"{base}/api/v1/mcp/contexts/{ctx}/prompt", key, "POST",
                           {"prompt": f"benchmark prompt {i}", "priority": 5})["task_id"]
            task = pushed(base, key, socket, task_id) if socket else polled(base, key, task_id, wait["poll"])
            if task["status"] != "completed":
                raise RuntimeError(f"task {task_id} ended {task['status']}: {task.get('error')}")
            results.append((ms_between(task["created_at"], task["finished_at"]),
                            ms_between(task["created_at"], task["started_at"]),
                            ms_between(task["started_at"], task["finished_at"])))
    except Exception as err:  # reported below; a failed run prints no figures
        errors.append(err)
    finally:
        if socket:
            socket.close()


def client_keys(base, admin_key, count):
    """`count` operator keys, made with the admin key (revoked again by `revoke`; a revoked key still
    counts against the tenant's 100, so a run makes 20 and every run of it shares them)."""
    made = [call(f"{base}/api/v1/keys", admin_key, "POST", {"name": f"bench-{i}", "role": "operator"})
            for i in range(count)]
    return [(k["key_id"], k["key"]) for k in made]


def revoke(base, admin_key, keys):
    for key_id, _ in keys:
        call(f"{base}/api/v1/keys/{key_id}", admin_key, "DELETE")


def run(base, keys, clients, prompts, wait):
    results, errors = [], []
    threads = [threading.Thread(target=client, args=(base, key, prompts, wait, results, errors))
               for _, key in keys[:clients]]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        raise SystemExit(f"{clients} client(s): {errors[0]}")
    return results, elapsed


def pct(values, p):
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ws", required=True, help="the WebSocket API, ws://host:port/v1")
    ap.add_argument("--key", required=True, help="an admin key (it makes a key per client)")
    ap.add_argument("--prompts", type=int, default=10, help="prompts per client")
    ap.add_argument("--poll", type=float, default=0.2, help="seconds between status reads")
    args = ap.parse_args()
    keys = client_keys(args.url, args.key, 20)
    try:
        measure(args, keys)
    finally:
        revoke(args.url, args.key, keys)


def measure(args, keys):
    for name, wait in ((f"polling every {args.poll:g} s", {"ws": None, "poll": args.poll}),
                       ("waiting on the WebSocket", {"ws": args.ws, "poll": None})):
        run(args.url, keys, 1, 3, wait)  # warm every function once; not counted
        rows = {}
        for clients in (1, 20):
            results, elapsed = run(args.url, keys, clients, args.prompts, wait)
            total = [r[0] for r in results]
            rows[clients] = statistics.median(total)
            print(f"{name}: {clients:>2} client(s) x {args.prompts} prompts: {len(results)} completed in"
                  f" {elapsed:.1f} s; accepted->completed p50 {statistics.median(total):.0f} ms,"
                  f" p95 {pct(total, 95):.0f} ms; queue wait p50 {statistics.median(r[1] for r in results):.0f} ms,"
                  f" worker run p50 {statistics.median(r[2] for r in results):.0f} ms")
        print(f"{name}: p50 with 20 clients / p50 with 1 client: {rows[20] / rows[1]:.2f}")


if __name__ == "__main__":
    main()
