"""A real HTTP receiver on 127.0.0.1 and a real callback worker (rq, burst mode, with its
scheduler) for the callback tests. Nothing is mocked: the receiver is reached through the SSRF
guard because the tests allow 127.0.0.0/8 with CALLBACK_ALLOWED_NETWORKS, as an on-premises
deployment would."""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering
    trickle: float = 0.0  # seconds between body bytes, to hold the connection open


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float


class Receiver:
    """Answers POSTs with the queued replies (then ``default``) and records every request."""

    def __init__(self):
        self.requests: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.arrived:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                    )
                    reply = receiver.replies.popleft() if receiver.replies else receiver.default
                    receiver.arrived.notify_all()
                try:
                    time.sleep(reply.delay)
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if reply.trickle:
                        for byte in reply.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(reply.trickle)
                    else:
                        self.wfile.write(reply.body)
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/images"

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def other_receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def callback_settings(settings):
    """The test receiver lives on 127.0.0.1: allow loopback the way a deployment allows its
    private networks. No jitter, so times can be asserted."""
    settings.CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.CALLBACK_RETRY_JITTER = 0
    settings.CALLBACK_TIMEOUT = 5.0
    settings.PUBLIC_BASE_URL = "http://testserver"
    return settings


@pytest.fixture
def run_callback_worker(transactional_db):
    """Run the real callback worker (``callbacks.worker.run``: recovery sweep, then rq's worker with
    its scheduler) in burst mode, in this process, again and again while an attempt is in flight
    or due within ``horizon`` seconds (or until ``timeout``). Retries come due through rq's
    scheduler, so tests shrink CALLBACK_RETRY_SCHEDULE to about a second."""
    from django.db.models import Q
    from django.utils import timezone

    from callbacks import worker
    from callbacks.models import CallbackDelivery

    Status = CallbackDelivery.Status

    def waiting(horizon: float) -> bool:
        soon = timezone.now() + timedelta(seconds=horizon)
        return CallbackDelivery.unscoped_objects.filter(
            Q(status=Status.DELIVERING) | Q(status=Status.PENDING, next_attempt_at__lte=soon)
        ).exists()

    def run(timeout: float = 15.0, horizon: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            worker.run(burst=True, name=f"test-callbacks-{uuid.uuid4().hex[:8]}")
            if not waiting(horizon) or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    return run
