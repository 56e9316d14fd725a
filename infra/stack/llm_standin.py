#!/usr/bin/env python3
"""A slow, failing OpenAI-compatible LLM for tests: NOT an LLM, and never used outside tests.

POST /v1/chat/completions answers `standin: <n> message(s); last: <last user message>`, so a test can
check what history each reply was computed from. Directives in the last user message change it:
`[sleep S]` answers after S seconds, `[hang]` never answers, `[status N]` answers HTTP N.
With STANDIN_CHAOS=1 every other request is random: STANDIN_FAIL_RATE (0.3) of them fail — a
third each 429, 500 and a hang — and the rest answer after a uniform 0..STANDIN_MAX_DELAY (3) s.
Every answer is appended to STANDIN_LOG (one JSON line) when set. PORT (default 4100).
"""
import json
import os
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHAOS = os.environ.get("STANDIN_CHAOS") == "1"
FAIL_RATE = float(os.environ.get("STANDIN_FAIL_RATE", "0.3"))
MAX_DELAY = float(os.environ.get("STANDIN_MAX_DELAY", "3"))
LOG = os.environ.get("STANDIN_LOG")
lock = threading.Lock()


def behaviour(last):
    """(delay seconds, status or None, hang) for this request."""
    if m := re.search(r"\[sleep ([0-9.]+)\]", last):
        return float(m.group(1)), None, False
    if "[hang]" in last:
        return 0, None, True
    if m := re.search(r"\[status (\d{3})\]", last):
        return 0, int(m.group(1)), False
    if CHAOS:
        roll = random.random()
        if roll < FAIL_RATE / 3:
            return 0, 429, False
        if roll < 2 * FAIL_RATE / 3:
            return 0, 500, False
        if roll < FAIL_RATE:
            return 0, None, True
        return random.uniform(0, MAX_DELAY), None, False
    return 0, None, False


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        messages = request.get("messages", [])
        last = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        delay, status, hang = behaviour(last)
        if hang:
            time.sleep(3600)
            return
        time.sleep(delay)
        if status:
            headers = [("retry-after", "0")] if status == 429 else []
            self.send(status, {"error": {"message": f"stand-in answered {status}"}}, headers)
            return
        text = f"standin: {len(messages)} message(s); last: {last}"
        if LOG:
            with lock, open(LOG, "a") as f:
                f.write(json.dumps({"messages": len(messages), "last": last, "text": text}) + "\n")
        self.send(200, {"id": "standin", "object": "chat.completion", "model": request.get("model"),
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": len(messages), "completion_tokens": 1, "total_tokens": 0}})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "4100"))), Handler)
    server.daemon_threads = True
    server.serve_forever()
