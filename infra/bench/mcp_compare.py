#!/usr/bin/env python3
"""The release `mcp` function against a Python FastMCP peer (fastmcp_peer.py), with the same JSON-RPC
calls: `tools/list` and `tools/call get_task_status` of one completed task, created here through the
REST API of a running local stack.

cold  = process spawn -> first tools/list answer; median of --cold-runs starts of each, alternated
warm  = --warm tools/list and --warm get_task_status calls to one process of each server (after one
        untimed call), in chunks of 20 taking turns: p50, p99, and the process's CPU time per call
rss   = VmHWM of that process after its warm calls

Rust is served by cold_start.py's Lambda Runtime API, keeping its connection as Lambda does (API
Gateway payload 2.0 events shaped like events/mcp/initialize.json, with its fixed authorizer context;
no HTTP server in the function, no authorizer run). The peer is its own HTTP server (uvicorn), called
over one keep-alive connection, with no authentication.

Usage: mcp_compare.py --url http://127.0.0.1:3300 --key mcpf_... --binary .../release/mcp
         --event events/mcp/initialize.json --peer-python .../venv-bench/bin/python --peer fastmcp_peer.py
The function's environment (functions.env, infra/stack/env.sh) must be exported. Stdlib only.
"""

import argparse
import copy
import http.client
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time

from cold_start import RuntimeApi, lambda_env, peak_rss_kb, spawn
from prompt_latency import call as rest

MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2025-11-25"}


def rpc(request_id, method, params=None):
    message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def completed_task(base, key, timeout=60):
    """A `local-echo` prompt's task, once completed: the task both servers read."""
    ctx = rest(f"{base}/api/v1/mcp/contexts", key, "POST", {"model_id": "local-echo"})["context_id"]
    task_id = rest(f"{base}/api/v1/mcp/contexts/{ctx}/prompt", key, "POST",
                   {"prompt": "benchmark prompt for get_task_status", "priority": 5})["task_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = rest(f"{base}/api/v1/mcp/tasks/{task_id}", key)
        if task["status"] not in ("pending", "running"):
            if task["status"] != "completed":
                raise SystemExit(f"task {task_id} ended {task['status']}: {task.get('error')}")
            return task_id
        time.sleep(0.2)
    raise SystemExit(f"task {task_id} not completed within {timeout} s")


class RustFunction:
    """The `mcp` binary behind cold_start's Runtime API, one process per start()."""

    label = "rust mcp (Runtime API)"

    def __init__(self, binary, event_file, tenant):
        self.binary = binary
        with open(event_file) as f:
            self.template = json.load(f)
        self.template["headers"].update(MCP_HEADERS)
        self.template["requestContext"]["authorizer"]["lambda"]["tenant"] = tenant
        self.api = self.proc = None

    def event(self, body):
        event = copy.deepcopy(self.template)
        event["body"] = body.decode()
        event["headers"]["content-length"] = str(len(body))
        return json.dumps(event).encode()

    def start(self, body):
        self.api = RuntimeApi(self.event(body), keep_alive=True)
        self.api.start()
        env = lambda_env(self.binary, self.api)
        self.api.arm()
        started = time.perf_counter()
        self.proc = spawn(self.binary, env)
        return self._answer(started)

    def call(self, body):
        event = self.event(body)
        sent = time.perf_counter()
        self.api.arm(event)
        return self._answer(sent)

    def _answer(self, since):
        if not self.api.responded.wait(30):
            raise SystemExit(f"{self.binary}: no response within 30 s")
        ms = (self.api.response_at - since) * 1000
        response = json.loads(self.api.last_response)
        if response.get("statusCode") != 200 or response.get("isBase64Encoded"):
            raise SystemExit(f"{self.binary}: unexpected response {self.api.last_response[:300]!r}")
        return ms, response["body"].encode()

    def rss_mb(self):
        return peak_rss_kb(self.proc.pid) / 1024

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        if self.api:
            self.api.stop()
        self.api = self.proc = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FastMcpPeer:
    """fastmcp_peer.py as its own process and HTTP server, one process per start()."""

    label = "python FastMCP (HTTP)"

    def __init__(self, python, script, tenant):
        self.argv = [python, script, "--tenant", tenant]
        self.proc = self.conn = self.log = None

    def start(self, body):
        port = free_port()
        self.log = tempfile.TemporaryFile()
        started = time.perf_counter()
        self.proc = subprocess.Popen(self.argv + ["--port", str(port)], stdout=self.log, stderr=self.log)
        while time.perf_counter() - started < 60:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"the FastMCP peer exited: {self.log.read()[-2000:].decode(errors='replace')}")
            try:
                self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                return self._post(body, started)
            except ConnectionRefusedError:
                self.conn.close()
                time.sleep(0.005)
        raise SystemExit("the FastMCP peer did not answer within 60 s")

    def call(self, body):
        return self._post(body, time.perf_counter())

    def _post(self, body, since):
        self.conn.request("POST", "/mcp", body=body, headers=MCP_HEADERS)
        response = self.conn.getresponse()
        payload = response.read()
        ms = (time.perf_counter() - since) * 1000
        if response.status != 200:
            raise SystemExit(f"FastMCP peer: HTTP {response.status} {payload[:300]!r}")
        return ms, payload

    def rss_mb(self):
        return peak_rss_kb(self.proc.pid) / 1024

    def stop(self):
        if self.conn:
            self.conn.close()
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        if self.log:
            self.log.close()
        self.proc = self.conn = self.log = None


def result_of(label, payload):
    reply = json.loads(payload)
    if "result" not in reply:
        raise SystemExit(f"{label}: JSON-RPC error {reply.get('error')}")
    return reply["result"]


def tools_listed(label, payload):
    return {"names": [tool["name"] for tool in result_of(label, payload)["tools"]], "bytes": len(payload)}


def task_status(label, payload):
    result = result_of(label, payload)
    structured = result.get("structuredContent") or {}
    if result.get("isError") or structured.get("status") != "COMPLETED":
        raise SystemExit(f"{label}: get_task_status answered {json.dumps(result)[:300]}")
    return structured


def cold_starts(servers, runs):
    """Median spawn -> first tools/list answer; the servers take turns so both see the same load."""
    cold = {server.label: [] for server in servers}
    for _ in range(runs):
        for server in servers:
            try:
                ms, payload = server.start(rpc(1, "tools/list"))
                result_of(server.label, payload)
                cold[server.label].append(ms)
            finally:
                server.stop()
    return {label: statistics.median(values) for label, values in cold.items()}


def cpu_ms(pid):
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def timed_chunk(server, bodies, check, into):
    """Calls `bodies` in turn: their latencies, the process's CPU time and the last checked answer."""
    before = cpu_ms(server.proc.pid)
    for body in bodies:
        ms, payload = server.call(body)
        into["ms"].append(ms)
        into["last"] = check(server.label, payload)
    into["cpu"] += cpu_ms(server.proc.pid) - before


def warm_calls(servers, task_id, n, chunk=20):
    """n tools/list and n tools/call get_task_status to each server, one process each, after its cold
    tools/list and one untimed get_task_status; in chunks taking turns, so that all see the same load."""
    status = {"name": "get_task_status", "arguments": {"task_id": task_id}}
    plan = [("list", tools_listed, lambda i: rpc(i, "tools/list")),
            ("status", task_status, lambda i: rpc(i, "tools/call", status))]
    got = {(s.label, name): {"ms": [], "cpu": 0.0, "last": None} for s in servers for name, _, _ in plan}
    try:
        for server in servers:
            server.start(rpc(1, "tools/list"))
            server.call(rpc(2, "tools/call", status))
        for first in range(0, n, chunk):
            for server, (name, check, body) in ((s, p) for s in servers for p in plan):
                bodies = [body(3 + i) for i in range(first, min(first + chunk, n))]
                timed_chunk(server, bodies, check, got[server.label, name])
        rss = {server.label: server.rss_mb() for server in servers}
    finally:
        for server in servers:
            server.stop()
    return {s.label: summary(got[s.label, "list"], got[s.label, "status"], rss[s.label], n) for s in servers}


def summary(listed, status, rss, n):
    return {"list": listed["ms"], "list_cpu": listed["cpu"] / n, "status": status["ms"],
            "status_cpu": status["cpu"] / n, "rss": rss, "tools": listed["last"]["names"],
            "list_bytes": listed["last"]["bytes"], "structured": status["last"]}


def p99(values):
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def figures(cold, warm):
    return [cold, statistics.median(warm["list"]), p99(warm["list"]), warm["list_cpu"],
            statistics.median(warm["status"]), p99(warm["status"]), warm["status_cpu"], warm["rss"]]


def print_table(rows):
    heads = [("cold", "p50 ms"), ("list", "p50 ms"), ("list", "p99 ms"), ("list CPU", "ms/call"), ("status", "p50 ms"),
             ("status", "p99 ms"), ("status CPU", "ms/call"), ("peak RSS", "MB")]
    for line in (0, 1):
        print(f"{'':<24}" + "".join(f"{h[line]:>12}" for h in heads))
    for label, values, fmt in rows:
        print(f"{label:<24}" + "".join(f"{v:>12{fmt}}" for v in values))


def print_notes(args, warm, versions, loads):
    rust, python = (warm[label] for label in (RustFunction.label, FastMcpPeer.label))
    same = "identical" if rust["structured"] == python["structured"] else "DIFFERENT"
    print(f"\ncold: spawn -> first tools/list answer, median of {args.cold_runs} starts each, alternated.\n"
          f"warm: {args.warm} tools/list and {args.warm} tools/call get_task_status per server, one process each, "
          f"in chunks of 20 taking turns (after one untimed call);\n"
          f"      CPU = that process's user+system time per call (10 ms ticks, summed over the chunks).")
    print(f"tools/list answer: rust {len(rust['tools'])} tools, {rust['list_bytes']} bytes, the tenant's registered "
          f"tools (none here) from the instance's cache, checked by a version GetItem every "
          f"REGISTRY_LIST_CACHE_SECS ({os.environ.get('REGISTRY_LIST_CACHE_SECS', '2')} s; shared/src/registered/cache.rs); python "
          f"{len(python['tools'])} tools ({', '.join(python['tools'])}), {python['list_bytes']} bytes, static.")
    print(f"get_task_status structuredContent of both: {same}; each call reads one item from DynamoDB Local "
          f"(consistent read).")
    print("Not like for like: Rust is invoked through a Lambda Runtime API emulated in Python by this driver (no "
          "HTTP server in the function; a fixed authorizer context, no authorizer run); the Python peer answers "
          "through its own uvicorn HTTP server over a keep-alive connection, with NO authentication.")
    print(f"peer: {versions}. Load average (1 min) {loads[0]} at start, {loads[1]} at end, on "
          f"{os.cpu_count()} CPUs shared with DynamoDB Local, the stack and this driver.")
    if same != "identical":
        print(f"  rust:   {json.dumps(rust['structured'], sort_keys=True)}")
        print(f"  python: {json.dumps(python['structured'], sort_keys=True)}")


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def peer_versions(python):
    code = ("import importlib.metadata as m, sys; print(f\"fastmcp {m.version('fastmcp')}, mcp {m.version('mcp')}, "
            "boto3 {m.version('boto3')}, Python {sys.version.split()[0]}\")")
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("--url", "--key", "--binary", "--event", "--peer-python", "--peer"):
        ap.add_argument(name, required=True)
    ap.add_argument("--tenant", default="local", help="the tenant of --key")
    ap.add_argument("--cold-runs", type=int, default=10)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--json", help="also write both servers' figures here (infra/bench/cost.py reads them)")
    args = ap.parse_args()
    loads = [load_average()]
    task_id = completed_task(args.url, args.key)
    print(f"task {task_id} (tenant {args.tenant}) completed; measuring")
    servers = [RustFunction(args.binary, args.event, args.tenant),
               FastMcpPeer(args.peer_python, args.peer, args.tenant)]
    cold = cold_starts(servers, args.cold_runs)
    warm = warm_calls(servers, task_id, args.warm)
    rust, python = (figures(cold[s.label], warm[s.label]) for s in servers)
    print_table([(servers[0].label, rust, ".2f"), (servers[1].label, python, ".2f"),
                 ("ratio rust/python", [r / p for r, p in zip(rust, python)], ".3f")])
    if args.json:
        keys = ["cold_ms", "list_p50_ms", "list_p99_ms", "list_cpu_ms", "status_p50_ms", "status_p99_ms",
                "status_cpu_ms", "rss_mb"]
        with open(args.json, "w") as f:
            json.dump({"rust": dict(zip(keys, rust)), "python": dict(zip(keys, python))}, f, indent=1)
    loads.append(load_average())
    print_notes(args, warm, peer_versions(args.peer_python), loads)


if __name__ == "__main__":
    main()
