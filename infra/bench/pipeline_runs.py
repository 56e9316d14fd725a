#!/usr/bin/env python3
"""Pipeline executions with instant agents, through a running local stack.

Six agents (one per stage type) claim their stage and complete it at once, echoing their input, so
what is measured is the engine: Step Functions (moto's interpreter locally), stage-dispatcher, the
agent protocol and the execution record. Each pipeline runs RUNS times, one run at a time:

- the brief's six-stage chain, and a one-stage peer; the wall time of a run is the execution's own
  record, `created_at -> finished_at`. (six - one) / 5 is the engine's overhead per stage.
- state transitions per run: the execution history's `*StateEntered` events (Step Functions Standard
  bills each transition, $0.025 per 1,000), and its events in all (the limit is 25,000).

Usage: pipeline_runs.py --url http://127.0.0.1:3300 --key mcpf_... --state-machine ARN --sfn URL [--runs 10]
"""

import argparse
import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

import boto3

TYPES = ["data-ingestion", "transformation", "analysis", "validation", "processing", "output"]


def call(url, key, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("X-API-Key", key)
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=40) as resp:
        return json.load(resp)


def ms_between(a, b):
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() * 1000


def instant_agent(base, key, stage_type, stop):
    agent = call(f"{base}/api/v1/agents/register", key, "POST",
                 {"name": f"bench-{stage_type}", "type": "worker", "capabilities": [stage_type]})
    token, agent_id = agent["token"], agent["agent_id"]
    last_beat = 0.0
    while not stop.is_set():
        if time.time() - last_beat > 1:
            call(f"{base}/api/v1/agents/{agent_id}/heartbeat", token, "POST", {"status": "idle", "current_load": 0})
            last_beat = time.time()
        task = call(f"{base}/api/v1/agents/{agent_id}/tasks/next?wait=1", token)["task"]
        if task:
            call(f"{base}/api/v1/tasks/{task['task_id']}/complete", token, "POST", {"output": task["payload"]["input"]})


def run(base, key, pipeline, sfn, machine):
    started = call(f"{base}/api/v1/pipelines/{pipeline}/execute", key, "POST", {"input_data": {"records": [{"n": 1}]}})
    eid = started["execution_id"]
    while True:
        e = call(f"{base}/api/v1/pipelines/{pipeline}/executions/{eid}", key)
        if e["status"] != "running":
            break
        time.sleep(0.05)
    if e["status"] != "succeeded":
        raise RuntimeError(f"execution {eid} ended {e['status']}: {e.get('error')}")
    arn = machine.replace(":stateMachine:", ":execution:") + f":{eid}"
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = sum(1 for ev in events if ev["type"].endswith("StateEntered"))
    return ms_between(e["created_at"], e["finished_at"]), entered, len(events)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--state-machine", required=True)
    p.add_argument("--sfn", required=True)
    p.add_argument("--runs", type=int, default=10)
    a = p.parse_args()
    sfn = boto3.client("stepfunctions", endpoint_url=a.sfn, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    stop = threading.Event()
    for t in TYPES:
        threading.Thread(target=instant_agent, args=(a.url, a.key, t, stop), daemon=True).start()
    time.sleep(1.5)
    stages = [{"name": t, "type": t, "timeout": 60} for t in TYPES]
    six = call(f"{a.url}/api/v1/pipelines", a.key, "POST", {"name": "bench-six", "stages": stages,
               "dependencies": [{"from": i, "to": i + 1} for i in range(5)]})["pipeline_id"]
    one = call(f"{a.url}/api/v1/pipelines", a.key, "POST", {"name": "bench-one", "stages": stages[:1]})["pipeline_id"]
    results = {"six-stage": [], "one-stage": []}
    run(a.url, a.key, one, sfn, a.state_machine)  # warm every function once
    for _ in range(a.runs):
        results["six-stage"].append(run(a.url, a.key, six, sfn, a.state_machine))
        results["one-stage"].append(run(a.url, a.key, one, sfn, a.state_machine))
    stop.set()
    med = {}
    for name, rows in results.items():
        walls = [r[0] for r in rows]
        med[name] = statistics.median(walls)
        print(f"{name}: runs {len(rows)} | wall p50 {med[name]:.0f} ms (min {min(walls):.0f}, max {max(walls):.0f})"
              f" | state transitions {rows[0][1]} | history events {rows[0][2]}")
    per_stage = (med["six-stage"] - med["one-stage"]) / 5
    print(f"engine overhead per stage (six - one) / 5: {per_stage:.0f} ms; six/one wall ratio {med['six-stage'] / med['one-stage']:.2f}")
    transitions = results["six-stage"][0][1]
    print(f"cost of the six-stage run's transitions: ${transitions * 0.025 / 1000:.6f}")


if __name__ == "__main__":
    main()
