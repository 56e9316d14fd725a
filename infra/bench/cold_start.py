#!/usr/bin/env python3
"""A minimal Lambda Runtime API (the protocol Lambda speaks to `bootstrap`) that the benchmarks run
function binaries behind: functions.py (`make bench`, every function) and mcp_compare.py
(`make bench-mcp`). Stdlib only.
"""

import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RuntimeApi(ThreadingHTTPServer):
    """Serves `event` once per `arm()` (`arm(other)` replaces it first), and records when each response
    arrives. `keep_alive`: HTTP/1.1 connections without Nagle, as Lambda's own Runtime API keeps them,
    instead of a connection (and a thread here) per request."""

    daemon_threads = True

    def __init__(self, event, keep_alive=False):
        super().__init__(("127.0.0.1", 0), KeepAliveHandler if keep_alive else Handler)
        self.event = event
        self.pending = threading.Semaphore(0)
        self.responded = threading.Event()
        self.response_at = 0.0
        self.last_response = b""
        self.seq = 0

    def arm(self, event=None):
        if event is not None:
            self.event = event
        self.responded.clear()
        self.pending.release()

    def start(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self):
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # /2018-06-01/runtime/invocation/next
        self.server.pending.acquire()
        self.server.seq += 1
        body = self.server.event
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"bench-{self.server.seq}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # .../invocation/{id}/response or /error, /init/error
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            payload = self.read_chunked()
        else:
            payload = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Lambda-Runtime-Function-Response-Mode", "").lower() == "streaming":
            # A function URL's streamed response: its prelude (status and headers, JSON), 8 NUL bytes,
            # the body. The figures keep the prelude; the response counts as posted at its last byte.
            payload = payload.split(b"\0" * 8, 1)[0]
        self.server.response_at = time.perf_counter()
        self.server.last_response = payload
        if "error" in self.path:
            print(f"  function reported an error on {self.path}: {payload[:300]!r}")
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.responded.set()


    def read_chunked(self):
        """A body sent with `Transfer-Encoding: chunked` (a streamed response), trailers skipped."""
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body)
            body += self.rfile.read(size)
            self.rfile.readline()


class KeepAliveHandler(Handler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def handle(self):
        try:
            super().handle()
        except ConnectionResetError:  # the function was killed between two requests
            pass


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def lambda_env(binary, api):
    """The environment Lambda gives `bootstrap`, pointed at `api`."""
    return dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}",
                AWS_LAMBDA_FUNCTION_NAME=os.path.basename(binary), AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
                AWS_LAMBDA_FUNCTION_VERSION="$LATEST")


def spawn(binary, env):
    return subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
