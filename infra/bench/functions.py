#!/usr/bin/env python3
"""Every function, measured the same way: its release binary behind cold_start.py's Lambda Runtime API,
invoked with one of its events/ fixtures against a running local stack.

size     = the x86_64 release binary this script runs, and the arm64 `bootstrap` that `sam build`
           deploys (when --arm64-dir holds one)
cold     = process spawn -> first response posted (init + first event, its AWS calls included; their
           waits, summed, in brackets, with the writes made after the response: concurrent calls can
           add up past the wall time)
warm     = each later event served to the same process -> its response (--warm per start)
own      = the invocation's `time.busy`: the time the Lambda runtime's invoke span was polled, i.e. the
           process's own work (our handler, serde, the SDK's signing and parsing) without its waits
aws      = the AWS round trips a warm invocation made, and how long it waited for them
rss      = VmHWM of the process after its last event

The budgets (issue 15): bootstrap <= 8 MB, cold <= 25 ms for the functions behind API Gateway, own
<= 100 us, RSS <= 32 MB. A breach is marked with `!`. Figures are medians over all starts; the
peer figures in the same run are the `models` row (a handler that reads nothing) and each row's
cold/warm ratio.

Usage: functions.py --release-dir DIR [--arm64-dir DIR] [--runs N] [--warm N] [--warmup N] [--only fn,fn] [--json FILE]
The local stack's environment must be exported (infra/stack/env.sh and functions.env). Stdlib only.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

from cold_start import RuntimeApi, lambda_env, peak_rss_kb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVENTS = os.path.join(ROOT, "events")
OK_OUTCOMES = re.compile(r"^(2\d\d|authorizer:true|sqs:0|sweep:\d+)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REQUEST = re.compile(r'requestId="bench-(\d+)"')
BUSY = re.compile(r"time\.busy=([\d.]+)(ns|µs|us|ms|s)\b")
AWS_CALL = re.compile(r"mcpflow::aws_call: aws call operation=(\S+) micros=(\d+)")
UNITS = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}
BUDGET_MB, BUDGET_COLD_MS, BUDGET_OWN_US, BUDGET_RSS_MB = 8.0, 25.0, 100.0, 32.0


def fixtures():
    """Each function's fixture: the first (by name) whose outcome in events/outcomes.txt is a success,
    else its first."""
    outcomes = {}
    with open(os.path.join(EVENTS, "outcomes.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, outcome = line.split()
                outcomes[name] = outcome
    chosen = {}
    for fn in sorted(os.listdir(EVENTS)):
        folder = os.path.join(EVENTS, fn)
        if not os.path.isdir(folder):
            continue
        files = sorted(f for f in os.listdir(folder) if f.endswith(".json"))
        good = [f for f in files if OK_OUTCOMES.match(outcomes.get(f"{fn}/{f}", ""))]
        if files:
            chosen[fn] = os.path.join(folder, (good or files)[0])
    return chosen


def kind(event):
    """What invokes the function: API Gateway (HTTP, WebSocket, the authorizer), SQS, or a schedule."""
    if "Records" in event:
        return "sqs"
    context = event.get("requestContext", {})
    if "eventType" in context:
        return "ws"
    if event.get("type") == "REQUEST" or "identitySource" in event:
        return "authorizer"
    if "http" in context:
        return "http"
    return "schedule"


def invocation_figures(log_path):
    """Per request id: the invoke span's busy microseconds, and the AWS calls (operation, micros)."""
    busy, calls = {}, {}
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = ANSI.sub("", raw)
            request = REQUEST.search(line)
            if not request:
                continue
            seq = int(request.group(1))
            if (m := AWS_CALL.search(line)) is not None:
                calls.setdefault(seq, []).append((m.group(1), int(m.group(2))))
            elif "lambda_runtime::layers::trace" in line and (m := BUSY.search(line)) is not None:
                busy[seq] = float(m.group(1)) * UNITS[m.group(2)]
    return busy, calls


def measure(binary, event_file, runs, warm_per_run):
    with open(event_file, "rb") as f:
        event = f.read()
    cold, cold_aws, warm, own, aws_ms, aws_n, rss, statuses = [], [], [], [], [], [], [], set()
    ops = {}
    for _ in range(runs):
        api = RuntimeApi(event, keep_alive=True)
        api.start()
        env = lambda_env(binary, api)
        with tempfile.NamedTemporaryFile(prefix="bench-fn-", suffix=".log") as log:
            api.arm()
            started = time.perf_counter()
            proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=log)
            try:
                if not api.responded.wait(30):
                    raise SystemExit(f"{binary}: no response within 30 s")
                cold.append((api.response_at - started) * 1000)
                for _ in range(warm_per_run):
                    api.arm()
                    sent = time.perf_counter()
                    if not api.responded.wait(30):
                        raise SystemExit(f"{binary}: no warm response within 30 s")
                    warm.append((api.response_at - sent) * 1000)
                rss.append(peak_rss_kb(proc.pid) / 1024)
                time.sleep(0.05)  # the last lines of the log
            finally:
                proc.kill()
                proc.wait()
                api.stop()
            response = json.loads(api.last_response or b"{}")
            statuses.add(outcome(response))
            busy, calls = invocation_figures(log.name)
        cold_aws.append(sum(us for _, us in calls.get(1, [])) / 1000)
        for seq in range(2, warm_per_run + 2):
            if seq in busy:
                own.append(busy[seq])
            aws_ms.append(sum(us for _, us in calls.get(seq, [])) / 1000)
            aws_n.append(len(calls.get(seq, [])))
        last = calls.get(warm_per_run + 1, [])
        ops = {op: sum(1 for o, _ in last if o == op) for op, _ in last}
    return {
        "cold_ms": statistics.median(cold),
        "cold_aws_ms": statistics.median(cold_aws),
        "warm_ms": statistics.median(warm),
        "own_us": statistics.median(own) if own else None,
        "aws_calls": statistics.median(aws_n) if aws_n else 0,
        "aws_ms": statistics.median(aws_ms) if aws_ms else 0.0,
        "ops": ops,  # the last warm invocation's AWS calls by operation
        "rss_mb": max(rss),
        "outcome": ",".join(sorted(statuses)),
    }


def outcome(response):
    """What events/outcomes.txt would call this answer."""
    if not isinstance(response, dict):
        return "?"
    if "statusCode" in response:
        return str(response["statusCode"])
    if "isAuthorized" in response:
        return f"authorizer:{str(response['isAuthorized']).lower()}"
    if "batchItemFailures" in response:
        return f"sqs:{len(response['batchItemFailures'])}"
    if "sent" in response:
        return f"sweep:{response['sent']}"
    return "?"


def warm_up(release_dir, chosen, starts):
    """Starts of the first function that has a binary, not measured: a DynamoDB Local just started (its
    JIT cold) otherwise makes the first rows' AWS calls several times slower than the rest."""
    for fn, event_file in chosen.items():
        binary = os.path.join(release_dir, fn)
        if starts > 0 and os.path.exists(binary):
            print(f"(warming the emulators up: {starts} unmeasured starts of `{fn}`)", flush=True)
            measure(binary, event_file, starts, 20)
            return


def mark(value, budget, text):
    return f"{text} !" if value is not None and value > budget else text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release-dir", required=True)
    parser.add_argument("--arm64-dir", help="cargo lambda's output: <dir>/<function>/bootstrap")
    parser.add_argument("--runs", type=int, default=10, help="process starts per function")
    parser.add_argument("--warm", type=int, default=20, help="warm invocations per start")
    parser.add_argument("--only", help="comma-separated function names")
    parser.add_argument("--warmup", type=int, default=3,
                        help="unmeasured starts of the first function, so the emulators are warm before the first row")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    env_needed = {"MCPFLOW_SPAN_TIMES": "1", "MCPFLOW_COUNT_CALLS": "1",
                  "RUST_LOG": "warn,lambda_runtime::layers::trace=info,mcpflow::aws_call=debug", "NO_COLOR": "1"}
    os.environ.update(env_needed)
    os.environ.pop("AWS_LAMBDA_LOG_FORMAT", None)  # the text format keeps span timings

    chosen = {fn: event for fn, event in fixtures().items() if not only or fn in only}
    warm_up(args.release_dir, chosen, args.warmup)
    rows = []
    print("| function | trigger | x86_64 / arm64 MB | cold p50 ms (AWS wait) | warm p50 ms | own p50 µs "
          "| AWS calls (wait ms) | peak RSS MB | answered |")
    print("| " + " | ".join(["---"] * 9) + " |")
    for fn, event_file in chosen.items():
        binary = os.path.join(args.release_dir, fn)
        if not os.path.exists(binary):
            print(f"| `{fn}` | no release binary at {binary} |")
            continue
        with open(event_file) as f:
            trigger = kind(json.load(f))
        figures = measure(binary, event_file, args.runs, args.warm)
        x86 = os.path.getsize(binary) / 1e6
        arm = None
        if args.arm64_dir and os.path.exists(os.path.join(args.arm64_dir, fn, "bootstrap")):
            arm = os.path.getsize(os.path.join(args.arm64_dir, fn, "bootstrap")) / 1e6
        figures.update(function=fn, trigger=trigger, fixture=os.path.relpath(event_file, EVENTS),
                       x86_mb=x86, arm64_mb=arm)
        rows.append(figures)
        gateway = trigger in ("http", "ws", "authorizer")
        own = figures["own_us"]
        size = f"{x86:.2f}" + (f" / {mark(arm, BUDGET_MB, f'{arm:.2f}')}" if arm is not None else "")
        print("| " + " | ".join([
            f"`{fn}`", trigger, size,
            mark(figures["cold_ms"] if gateway else None, BUDGET_COLD_MS,
                 f"{figures['cold_ms']:.1f} ({figures['cold_aws_ms']:.1f})"),
            f"{figures['warm_ms']:.2f}",
            mark(own, BUDGET_OWN_US, f"{own:.0f}") if own is not None else "-",
            f"{figures['aws_calls']:g} ({figures['aws_ms']:.2f})",
            mark(figures["rss_mb"], BUDGET_RSS_MB, f"{figures['rss_mb']:.1f}"),
            figures["outcome"],
        ]) + " |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    breaches = [r["function"] for r in rows if (r["arm64_mb"] or 0) > BUDGET_MB or (r["rss_mb"] > BUDGET_RSS_MB)
                or (r["own_us"] or 0) > BUDGET_OWN_US
                or (r["trigger"] in ("http", "ws", "authorizer") and r["cold_ms"] > BUDGET_COLD_MS)]
    print(f"\n{len(rows)} functions, {args.runs} starts x {args.warm} warm events each; "
          f"{len(breaches)} over a budget: {', '.join(breaches) or 'none'}")


if __name__ == "__main__":
    main()
