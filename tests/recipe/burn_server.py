"""A tiny HTTP server for the profiler tests: each GET /test burns ``BURN_MS`` of one core.

One request at a time, in arrival order (FCFS): single-threaded, and HTTP/1.0 (the connection closes after
each answer, so waiting clients queue in the listen backlog rather than behind one kept-alive connection).
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

BURN_S = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.02


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/test":
            end = time.thread_time() + BURN_S
            x = 0
            while time.thread_time() < end:
                x += 1
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class Server(HTTPServer):
    request_queue_size = 128


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
