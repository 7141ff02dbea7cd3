"""What the upstream test servers share: a threading HTTP server on
127.0.0.1 (port 0; "LISTENING <port>" on standard output), faults a test
queues per operation (POST /_test/faults), what happened (GET /_test/state),
and the chain file of the test CA."""

import argparse
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from upstream_ca import TestCA


class Faults:
    """Faults queued per operation ("enroll", "collect", …), each used once:
    "500", "503", "429:SECONDS", "slow:SECONDS", "close-after-create",
    "empty-after-create", "wrong-key", "wrong-email", "foreign-chain"."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queued = {}

    def add(self, table):
        with self.lock:
            for operation, faults in table.items():
                self.queued.setdefault(operation, []).extend(faults)

    def take(self, operation):
        with self.lock:
            queue = self.queued.get(operation) or []
            return queue.pop(0) if queue else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "UpstreamTest/1"

    def parse_request(self):
        # One handler serves every request of a kept-alive connection.
        self.__dict__.pop("_body", None)
        return super().parse_request()

    def log_message(self, format, *args):  # quiet: the test reads its own output
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.command, self.path))

    # Answers -----------------------------------------------------------
    def answer(self, status, body=b"", content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def drop(self):
        """Closes the connection without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def body(self):
        """The request's body, read once (also before a fault answers, so
        that the connection stays in step)."""
        if "_body" not in self.__dict__:
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1024 * 1024:
                raise ValueError("body too large")
            self._body = self.rfile.read(length) if length else b""
        return self._body

    def json_body(self):
        return json.loads(self.body() or b"null")

    @property
    def query(self):
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    @property
    def route(self):
        return urlsplit(self.path).path

    def apply_transport_fault(self, fault):
        """The faults that happen before the operation: True if answered."""
        self.body()
        if fault is None:
            return False
        if fault in ("500", "503"):
            self.answer(int(fault), {"code": -1, "description": "internal error (test fault)"})
            return True
        if fault.startswith("429:"):
            self.answer(429, {"code": -1, "description": "too many requests (test fault)"},
                        headers=[("Retry-After", fault.split(":", 1)[1])])
            return True
        if fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
        return False

    def control(self):
        """The test's own endpoints."""
        if self.route == "/_test/faults" and self.command == "POST":
            self.server.faults.add(self.json_body())
            self.answer(204)
            return True
        if self.route == "/_test/state" and self.command == "GET":
            self.answer(200, self.server.state())
            return True
        return False


def serve(handler, make_state, description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--chain-out", required=True, help="where to write the test CA's chain (PEM)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds before an order can be collected / is answered")
    parser.add_argument("--verbose", action="store_true")
    arguments = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", arguments.port), handler)
    server.daemon_threads = True
    server.verbose = arguments.verbose
    server.delay = arguments.delay
    server.ca = TestCA()
    server.foreign = TestCA("Foreign")
    server.faults = Faults()
    server.lock = threading.Lock()
    make_state(server)
    with open(arguments.chain_out, "wb") as chain:
        chain.write(server.ca.chain_pem())
    print("LISTENING %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
