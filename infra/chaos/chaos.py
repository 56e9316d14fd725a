#!/usr/bin/env python3
"""The chaos run's client: contexts, prompts, the wait for quiescence, and the check.

Every prompt is unique (`c<context> p<k>`); the stand-in answers `standin: <n> message(s); last:
<prompt>`, so each completed task shows the history it was computed from. For the k-th prompt of a
context that history is every earlier prompt plus every earlier reply that was stored, plus itself.

  lost          a task neither completed nor failed once everything is quiet
  duplicated    a task whose reply the context holds more than once
  out_of_order  a context where a reply was computed from another history than its place gives, or
                where the stored reply is not the task's output
The last line is `tasks N completed C failed F lost L duplicated D out_of_order O`.
"""
import argparse
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

KEY = os.environ["MCPFLOW_ADMIN_KEY"]


def call(url, method="GET", body=None, tries=20):
    """A request with the admin key; retried on 429/5xx/connection errors (the gateway is busy)."""
    data = json.dumps(body).encode() if body is not None else None
    for attempt in range(tries):
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"x-api-key": KEY, "content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code < 500 and e.code != 429:
                return e.code, json.loads(e.read() or b"null")
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            pass
        time.sleep(min(0.2 * 2 ** attempt, 5))
    raise RuntimeError(f"{method} {url} kept failing")


def create_contexts(base, count):
    def one(i):
        status, body = call(f"{base}/api/v1/mcp/contexts", "POST", {"model_id": "standin", "user_id": "chaos"})
        assert status == 201, body
        return body["context_id"]
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def send_prompts(base, contexts, per_context, total):
    """Each context's prompts one after another (their order is the sent order), contexts in parallel.
    A context keeps one priority, so its prompts share one queue (ordering is per context and band)."""
    sent = {c: [] for c in contexts}

    def run(index, context):
        priority = random.choice(["high", "medium", "low"])
        for k in range(per_context[index]):
            prompt = f"c{index} p{k}"
            status, body = call(f"{base}/api/v1/mcp/contexts/{context}/prompt", "POST",
                                {"prompt": prompt, "priority": priority})
            assert status == 202, body
            sent[context].append((body["task_id"], prompt))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda a: run(*a), enumerate(contexts)))
    assert sum(len(v) for v in sent.values()) == total
    return sent


def tasks_of(base, context):
    tasks, cursor = {}, None
    while True:
        url = f"{base}/api/v1/mcp/tasks?context_id={context}&limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = call(url)
        assert status == 200, page
        tasks.update({t["task_id"]: t for t in page["tasks"]})
        cursor = page.get("next_cursor")
        if not cursor:
            return tasks


def wait_quiet(base, contexts, timeout):
    """Every task finished, or the timeout: the tasks by id."""
    deadline = time.time() + timeout
    while True:
        with ThreadPoolExecutor(8) as pool:
            found = {}
            for page in pool.map(lambda c: tasks_of(base, c), contexts):
                found.update(page)
        open_ = sum(1 for t in found.values() if t["status"] in ("pending", "running"))
        print(f"  {len(found)} tasks, {open_} still pending or running", flush=True)
        if open_ == 0 or time.time() > deadline:
            return found
        time.sleep(5)


def check(base, sent, tasks):
    counts = dict(completed=0, failed=0, lost=0, duplicated=0, out_of_order=0)
    for context, prompts in sent.items():
        status, ctx = call(f"{base}/api/v1/mcp/contexts/{context}")
        assert status == 200, ctx
        replies = {}
        for node in ctx["nodes"]:
            if node["metadata"].get("role") == "assistant":
                replies.setdefault(node["metadata"].get("task_id"), []).append(node["content"])
        answered, wrong = 0, False
        for k, (task_id, prompt) in enumerate(prompts):
            task = tasks.get(task_id, {"status": "missing"})
            stored = replies.get(task_id, [])
            if len(stored) > 1:
                counts["duplicated"] += 1
            if task["status"] == "completed":
                counts["completed"] += 1
                expected = f"standin: {k + answered + 1} message(s); last: {prompt}"
                if task.get("output") != expected or stored[:1] != [expected]:
                    wrong = True
                answered += 1
            elif task["status"] == "failed":
                counts["failed"] += 1
                wrong |= bool(stored)
            else:
                counts["lost"] += 1
        counts["out_of_order"] += wrong
        if wrong and counts["out_of_order"] <= 3:
            print(f"  out of order: context {context}", flush=True)
            for task_id, prompt in prompts:
                task = tasks.get(task_id, {})
                print(f"    {prompt}: {task.get('status')} attempts {task.get('attempts')} "
                      f"{task.get('output') or task.get('error_code')} stored {replies.get(task_id)}", flush=True)
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--contexts", type=int, default=200)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait for quiescence")
    args = parser.parse_args()
    started = time.time()
    contexts = create_contexts(args.url, min(args.contexts, args.tasks))
    per = [args.tasks // len(contexts) + (1 if i < args.tasks % len(contexts) else 0) for i in range(len(contexts))]
    print(f"chaos: {args.tasks} prompts over {len(contexts)} contexts", flush=True)
    sent = send_prompts(args.url, contexts, per, args.tasks)
    print(f"  all sent after {time.time() - started:.0f} s", flush=True)
    tasks = wait_quiet(args.url, contexts, args.timeout)
    counts = check(args.url, sent, tasks)
    errors, samples = {}, {}
    for t in tasks.values():
        if t["status"] == "failed":
            errors[t.get("error_code")] = errors.get(t.get("error_code"), 0) + 1
            samples.setdefault(t.get("error_code"), (t.get("error") or "")[:300])
    for code, sample in samples.items():
        print(f"  e.g. {code}: {sample}", flush=True)
    print(f"  failed by code: {errors}; wall time {time.time() - started:.0f} s", flush=True)
    print(f"tasks {args.tasks} completed {counts['completed']} failed {counts['failed']} lost {counts['lost']} "
          f"duplicated {counts['duplicated']} out_of_order {counts['out_of_order']}", flush=True)
    sys.exit(1 if counts["lost"] or counts["duplicated"] or counts["out_of_order"] else 0)


if __name__ == "__main__":
    main()
