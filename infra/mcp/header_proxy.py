#!/usr/bin/env python3
"""Loopback HTTP proxy that adds one header to every request (stdlib only).

The MCP conformance suite (0.1.16) has no option for extra request headers, so
conformance.sh points it at this proxy, which adds `X-API-Key` and forwards to
the real endpoint. Bodies stream both ways, so SSE answers pass through.

Usage: header_proxy.py UPSTREAM_BASE HEADER_NAME [PORTFILE]
  UPSTREAM_BASE  e.g. http://127.0.0.1:3100 (the request path is kept)
  HEADER_NAME    e.g. X-API-Key; the value comes from $PROXY_HEADER_VALUE, not argv
  PORTFILE       where to write the port it listens on (127.0.0.1; $PROXY_PORT, else chosen by the OS)

The client's Host header is passed through unchanged when the upstream is a
loopback address (so Host/Origin checks see what the suite sent); otherwise it
is set to the upstream's host.
"""

from __future__ import annotations

import http.client
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def make_handler(upstream: str, header_name: str, header_value: str) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)
    connection_class = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    keep_host = target.hostname in LOOPBACK

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: object) -> None:  # quiet
            pass

        def forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if not keep_host:
                headers = {k: v for k, v in headers.items() if k.lower() != "host"}
                headers["Host"] = target.netloc
            headers = {k: v for k, v in headers.items() if k.lower() != header_name.lower()}
            headers[header_name] = header_value
            conn = connection_class(target.hostname, target.port, timeout=300)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for key, value in headers.items():
                    conn.putheader(key, value)
                conn.endheaders(body)
                answer = conn.getresponse()
                self.send_response_only(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Connection", "close")  # body ends when we close
                self.end_headers()
                while chunk := answer.read1(65536):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError as exc:
                self.send_error(502, f"upstream: {exc}")
            finally:
                conn.close()
                self.close_connection = True

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_HEAD = forward

    return Handler


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    upstream, header_name = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PROXY_PORT") or 0)),
                                 make_handler(upstream, header_name, os.environ.get("PROXY_HEADER_VALUE", "")))
    server.daemon_threads = True
    port = server.server_address[1]
    if len(sys.argv) > 3:
        with open(sys.argv[3] + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(sys.argv[3] + ".tmp", sys.argv[3])
    print(f"header proxy 127.0.0.1:{port} -> {upstream}", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
