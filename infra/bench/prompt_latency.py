#!/usr/bin/env python3
"""Prompt accepted -> task completed, through a running local stack with the `local` provider.

Each client owns a context and sends its prompts one after another, waiting for each answer before
the next. The latency of a prompt is the task's own record: `finished_at - created_at` (the 202 is
sent right after `created_at`), so the client's polling interval does not blur it. Also printed:
the queue wait (`created_at -> started_at`) and the worker's run (`started_at -> finished_at`).

Usage: prompt_latency.py --url http://127.0.0.1:3200 --key mcpf_... [--prompts 20]
Stdlib only.
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


def client(base, key, prompts, poll, results, errors):
    try:
        ctx = call(f"{base}/api/v1/mcp/contexts", key, "POST", {"model_id": "local-echo"})["context_id"]
        for i in range(prompts):
            task_id = call(f"{base}/api/v1/mcp/contexts/{ctx}/prompt", key, "POST",
                           {"prompt": f"benchmark prompt {i}", "priority": 5})["task_id"]
            while True:
                task = call(f"{base}/api/v1/mcp/tasks/{task_id}", key)
                if task["status"] not in ("pending", "running"):
                    break
                time.sleep(poll)
            if task["status"] != "completed":
                raise RuntimeError(f"task {task_id} ended {task['status']}: {task.get('error')}")
            results.append((ms_between(task["created_at"], task["finished_at"]),
                            ms_between(task["created_at"], task["started_at"]),
                            ms_between(task["started_at"], task["finished_at"])))
    except Exception as err:  # reported below; a failed run prints no figures
        errors.append(err)


def run(base, key, clients, prompts, poll):
    results, errors = [], []
    threads = [threading.Thread(target=client, args=(base, key, prompts, poll, results, errors))
               for _ in range(clients)]
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
    ap.add_argument("--key", required=True)
    ap.add_argument("--prompts", type=int, default=10, help="prompts per client")
    ap.add_argument("--poll", type=float, default=0.2, help="seconds between status reads")
    args = ap.parse_args()
    run(args.url, args.key, 1, 2, args.poll)  # warm every function once; not counted
    rows = {}
    for clients in (1, 20):
        results, elapsed = run(args.url, args.key, clients, args.prompts, args.poll)
        total = [r[0] for r in results]
        rows[clients] = statistics.median(total)
        print(f"{clients:>2} client(s) x {args.prompts} prompts: {len(results)} completed in {elapsed:.1f} s;"
              f" accepted->completed p50 {statistics.median(total):.0f} ms, p95 {pct(total, 95):.0f} ms;"
              f" queue wait p50 {statistics.median(r[1] for r in results):.0f} ms,"
              f" worker run p50 {statistics.median(r[2] for r in results):.0f} ms")
    print(f"p50 with 20 clients / p50 with 1 client: {rows[20] / rows[1]:.2f}")


if __name__ == "__main__":
    main()
