#!/usr/bin/env python3
"""A slow, failing OpenAI-compatible LLM for tests: NOT an LLM, and never used outside tests.

POST /v1/chat/completions answers `standin: <n> message(s); last: <last user message>`, so a test can
check what history each reply was computed from, followed by ` sampled {…}` with the request's
`temperature`, `top_p` and `stop` when it has any, and ` key <12 hex>` (the SHA-256 prefix of the bearer
key, never the key) when it was sent one. Directives in the last user message change it:
`[sleep S]` answers after S seconds, `[hang]` never answers, `[status N]` answers HTTP N.
A request with `"stream": true` is answered as server-sent events, one word a chunk (chunked
transfer encoding), ending `data: [DONE]`: `[chunk-delay S]` waits S seconds before each chunk, and
`[break-after N]` drops the connection after N chunks, without the last chunk of the encoding.
Offered `tools`, `[call NAME {json}]` (one or more) makes the first answer after the last user message
call those tools with those arguments, and `[call-loop NAME {json}]` calls it in every answer; a
later answer adds ` tools [<each tool message's content>]`, so a test can see the tools' answers
arrived. Streamed, a call's arguments come in two pieces. With STANDIN_CHAOS=1 every other request is random: STANDIN_FAIL_RATE (0.3) of them fail — a
third each 429, 500 and a hang — and the rest answer after a uniform 0..STANDIN_MAX_DELAY (3) s.
Every answer is appended to STANDIN_LOG (one JSON line) when set. PORT (default 4100).
"""
import hashlib
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


def tool_directives(last, directive):
    """[(name, arguments JSON text)] of each `[directive NAME {json}]` in the last user message."""
    calls, decoder, at = [], json.JSONDecoder(), 0
    while (at := last.find(f"[{directive} ", at)) >= 0:
        m = re.match(r"([\w-]+) ", last[at + len(directive) + 2:])
        if not m:
            break
        start = at + len(directive) + 2 + m.end()
        try:
            args, end = decoder.raw_decode(last, start)
        except ValueError:
            break
        calls.append((m.group(1), json.dumps(args)))
        at = end
    return calls


def tool_calls(request, last):
    """The tool calls this answer makes: none without tools, else per the directives."""
    if not request.get("tools"):
        return []
    messages = request.get("messages", [])
    after_user = len(messages) - next(i for i, m in enumerate(reversed(messages)) if m.get("role") == "user")
    rounds = sum(1 for m in messages[after_user:] if m.get("role") == "assistant" and m.get("tool_calls"))
    loop = tool_directives(last, "call-loop")
    calls = loop or (tool_directives(last, "call") if rounds == 0 else [])
    return [{"id": f"call_{rounds}_{i}", "type": "function", "function": {"name": name, "arguments": args}}
            for i, (name, args) in enumerate(calls)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streams need it
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
        answered = [m.get("content") for m in messages if m.get("role") == "tool"]
        if answered:
            text += " tools " + json.dumps(answered)
        calls = tool_calls(request, last)
        # The sampling parameters it was sent, so a test can see they arrived.
        sampled = {k: request[k] for k in ("temperature", "top_p", "stop") if k in request}
        if sampled:
            text += " sampled " + json.dumps(sampled, sort_keys=True)
        # A bearer key as its SHA-256 prefix, never the key: a test can see which key was sent.
        auth = self.headers.get("authorization", "")
        if auth.startswith("Bearer ") and len(auth) > 7:
            text += " key " + hashlib.sha256(auth[7:].encode()).hexdigest()[:12]
        if request.get("stream"):
            self.stream(request, last, "" if calls else text, calls)
            return
        if LOG:
            with lock, open(LOG, "a") as f:
                f.write(json.dumps({"messages": len(messages), "last": last, "text": text}) + "\n")
        self.send(200, {"id": "standin", "object": "chat.completion", "model": request.get("model"),
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": calls}
                                     if calls else {"role": "assistant", "content": text},
                                     "finish_reason": "tool_calls" if calls else "stop"}],
                        "usage": {"prompt_tokens": len(messages), "completion_tokens": 1, "total_tokens": 0}})

    def chunk(self, data):
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()

    def stream(self, request, last, text, calls=()):
        delay = float(m.group(1)) if (m := re.search(r"\[chunk-delay ([0-9.]+)\]", last)) else 0
        cut = int(m.group(1)) if (m := re.search(r"\[break-after (\d+)\]", last)) else None
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        pieces = re.findall(r"\S+\s*", text)
        for i, piece in enumerate(pieces):
            if cut is not None and i == cut:
                self.close_connection = True
                return  # no terminating chunk: the client sees a broken body
            time.sleep(delay)
            self.chunk(json.dumps({"model": request.get("model"),
                                   "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}))
        for i, call in enumerate(calls):
            args = call["function"]["arguments"]
            half = len(args) // 2
            first = {"index": i, "id": call["id"], "type": "function",
                     "function": {"name": call["function"]["name"], "arguments": args[:half]}}
            for delta in (first, {"index": i, "function": {"arguments": args[half:]}}):
                time.sleep(delay)
                self.chunk(json.dumps({"model": request.get("model"),
                                       "choices": [{"index": 0, "delta": {"tool_calls": [delta]}, "finish_reason": None}]}))
        reason = "tool_calls" if calls else "stop"
        self.chunk(json.dumps({"model": request.get("model"), "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
                               "usage": {"prompt_tokens": len(request.get("messages", [])), "completion_tokens": len(pieces)}}))
        self.chunk("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        if LOG:
            with lock, open(LOG, "a") as f:
                f.write(json.dumps({"messages": len(request.get("messages", [])), "last": last, "text": text}) + "\n")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "4100"))), Handler)
    server.daemon_threads = True
    server.serve_forever()
