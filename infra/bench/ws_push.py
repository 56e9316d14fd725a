#!/usr/bin/env python3
"""WebSocket push latency through a running local stack: a task's state change (its `finished_at`,
stamped by the worker as it finishes the task) -> its `task_update` received, for 1 and for N
connections subscribed to one context, and the gateway's resident memory with N connections open.

For each run, the connections subscribe to a fresh context, then `--prompts` prompts are sent one
after another (the `local` provider), each waiting until every connection has its `task_update`.
A latency is the receiving client's clock minus `finished_at` (one machine, one clock). Printed per
run: p50/p95 over every (task, connection), and p50 of each task's last arrival; then the ratio of
the N run's p50 to the 1-connection run's (the peer run in the same command).

Usage: ws_push.py --url http://127.0.0.1:3400 --ws ws://127.0.0.1:3401/v1 --key mcpf_... \
         --gateway-pid PID [--connections 500] [--prompts 10]
"""

import argparse
import asyncio
import json
import math
import statistics
import time
import urllib.request
from datetime import datetime

import websockets


def call(url, key, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("X-API-Key", key)
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def memory_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)] if ordered else None


async def watcher(ws_url, key, topic, opened):
    async with opened:
        socket = await websockets.connect(ws_url, additional_headers={"X-API-Key": key}, max_queue=None)
        await socket.send(json.dumps({"protocol_version": "2.0", "message_type": "request", "message_id": "sub-1",
                                      "method": "subscribe", "params": {"topics": [topic]}}))
        while True:  # the welcome, then the subscription's answer
            msg = json.loads(await socket.recv())
            if msg.get("message_type") == "response":
                return socket
            if msg.get("message_type") == "error":
                raise RuntimeError(f"subscribe refused: {msg}")


async def updates(socket, arrivals):
    """Records (task id, arrival time) of every task_update until the socket closes."""
    try:
        async for text in socket:
            msg = json.loads(text)
            if msg.get("event_type") == "task_update" and msg["data"]["status"] == "completed":
                arrivals.append((msg["data"]["task_id"], time.time()))
    except websockets.ConnectionClosed:
        pass


async def run(args, connections):
    loop = asyncio.get_running_loop()
    ctx = (await loop.run_in_executor(None, call, f"{args.url}/api/v1/mcp/contexts", args.key, "POST",
                                      {"model_id": "local-echo"}))["context_id"]
    opened = asyncio.Semaphore(50)
    sockets = await asyncio.gather(*(watcher(args.ws, args.key, f"context:{ctx}", opened)
                                     for _ in range(connections)))
    rss_kib = memory_kib(args.gateway_pid, "VmRSS")
    arrivals = [[] for _ in sockets]
    readers = [asyncio.create_task(updates(s, a)) for s, a in zip(sockets, arrivals)]
    samples, lasts = [], []
    for i in range(args.prompts):
        task_id = (await loop.run_in_executor(None, call, f"{args.url}/api/v1/mcp/contexts/{ctx}/prompt", args.key,
                                              "POST", {"prompt": f"push benchmark {i}"}))["task_id"]
        deadline = time.monotonic() + 60
        while not all(any(t == task_id for t, _ in a) for a in arrivals):
            if time.monotonic() > deadline:
                raise RuntimeError(f"task {task_id}: not every connection got its task_update within 60 s")
            await asyncio.sleep(0.01)
        task = await loop.run_in_executor(None, call, f"{args.url}/api/v1/mcp/tasks/{task_id}", args.key)
        finished = datetime.fromisoformat(task["finished_at"]).timestamp()
        got = [(at - finished) * 1000 for a in arrivals for t, at in a if t == task_id]
        samples.extend(got)
        lasts.append(max(got))
    for socket in sockets:
        await socket.close()
    await asyncio.gather(*readers)
    return samples, lasts, rss_kib


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ws", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--gateway-pid", type=int, required=True)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--prompts", type=int, default=10)
    args = parser.parse_args()
    p50 = {}
    for n in (1, args.connections):
        samples, lasts, rss_kib = asyncio.run(run(args, n))
        p50[n] = statistics.median(samples)
        print(f"{n:>4} connection(s), {args.prompts} tasks: push latency p50 {p50[n]:.0f} ms, "
              f"p95 {percentile(samples, 0.95):.0f} ms, last arrival p50 {statistics.median(lasts):.0f} ms; "
              f"gateway RSS {rss_kib / 1024:.1f} MiB with them open")
    print(f"ratio p50 {args.connections} / 1 connection: {p50[args.connections] / max(p50[1], 0.001):.1f}x; "
          f"gateway peak RSS (VmHWM) {memory_kib(args.gateway_pid, 'VmHWM') / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
