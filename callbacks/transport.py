"""One HTTP POST to a callback URL, safely. No Django imports.

- The URL is checked by :func:`imgplatform.ssrf.check_url` (one DNS lookup, every address checked),
  and the TCP connection goes to the checked address, never to the name again. The name is sent
  as the ``Host`` header and, for https, as SNI and the name the certificate must match.
- No redirects are followed: a 3xx is an answer like any other.
- One deadline bounds the whole exchange (connect, TLS, request, status line, headers, body): a
  watchdog shuts the socket down when it passes, so a receiver that trickles bytes cannot hold
  the worker for longer.
- At most ``max_bytes`` of the response body are read; the rest is never read. The body is not
  decompressed (``Accept-Encoding: identity``).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from imgplatform.ssrf import IPNetwork, Resolver, check_url, system_resolve
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.ssl_match_hostname import CertificateError

USER_AGENT = "imagegen-callbacks/1.0"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes  # at most max_bytes
    address: str
    elapsed_ms: float


class TransportError(Exception):
    """The exchange failed before a response arrived (refused, timed out, TLS, garbage)."""

    def __init__(self, reason: str, *, address: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.address = address


def _describe(exc: BaseException, timeout: float) -> str:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # the root cause names the problem best
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return f"timed out after {timeout:g} s"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"TLS certificate not valid for this host: {exc.verify_message or exc}"
        if isinstance(exc, CertificateError):  # urllib3's own name check
            return f"TLS certificate not valid for this host: {exc}"
        if isinstance(exc, ssl.SSLError):
            return f"TLS error: {exc.reason or exc}"
        if isinstance(exc, ConnectionResetError):
            return "connection reset by the receiver"
        if isinstance(exc, (http.client.RemoteDisconnected, http.client.IncompleteRead)):
            return "the receiver closed the connection without a complete response"
        if isinstance(exc, http.client.HTTPException):
            return f"invalid HTTP response ({type(exc).__name__})"
        exc = exc.__cause__ or exc.__context__
    return ""


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allowed_networks: Sequence[IPNetwork] = (),
    timeout: float = 15.0,
    max_bytes: int = 4096,
    resolve: Resolver = system_resolve,
    ca_certs: str | None = None,
) -> Response:
    """POST ``body`` to ``url``. Raises :class:`imgplatform.ssrf.UnsafeURL` (refused, nothing sent),
    :class:`imgplatform.ssrf.ResolutionFailed` (no address) or :class:`TransportError`."""
    target = check_url(url, allowed_networks=allowed_networks, resolve=resolve)
    address = str(target.address)
    conn = _connection(target, timeout=timeout, ca_certs=ca_certs)
    deadline = _Deadline(timeout)
    started = time.monotonic()
    deadline.start()
    try:
        request_headers = {
            "Host": target.url.host_header,
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            **headers,
        }
        response, data = _exchange(conn, target.url.target, body, request_headers, max_bytes, deadline)
        return Response(
            status=response.status,
            headers={name.lower(): value for name, value in response.headers.items()},
            body=data or b"",
            address=address,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )
    except (OSError, Urllib3Error, http.client.HTTPException, ValueError) as exc:
        if deadline.expired.is_set():
            reason = f"timed out after {timeout:g} s"
        else:
            reason = _describe(exc, timeout) or f"{type(exc).__name__}: {exc}"
        raise TransportError(reason, address=address) from exc
    finally:
        deadline.cancel()
        conn.close()


def _connection(target, *, timeout: float, ca_certs: str | None) -> HTTPConnection:
    """A connection to the checked address; for https, the name for SNI and the certificate."""
    address, parsed = str(target.address), target.url
    if parsed.scheme == "https":
        return HTTPSConnection(
            host=address,
            port=parsed.port,
            timeout=timeout,
            server_hostname=None if parsed.literal else parsed.host,
            assert_hostname=parsed.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs,
        )
    return HTTPConnection(host=address, port=parsed.port, timeout=timeout)


class _Deadline:
    """A watchdog thread that shuts the exchange's sockets down when ``timeout`` seconds pass."""

    def __init__(self, timeout: float):
        self.expired = threading.Event()
        self.sockets: list[socket.socket] = []  # http.client drops conn.sock once a response says "close"
        self._timer = threading.Timer(timeout, self._abort)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def check(self) -> None:
        if self.expired.is_set():
            raise TimeoutError("deadline passed")

    def _abort(self) -> None:  # runs in the watchdog thread when the deadline passes
        self.expired.set()
        for sock in self.sockets:
            try:  # the plain socket's shutdown (not SSLSocket's): wakes up a blocked read at once
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def _exchange(conn: HTTPConnection, target: str, body: bytes, headers: dict, max_bytes: int, deadline: _Deadline):
    """Connect, send, and read the status, the headers and at most ``max_bytes`` of the body."""
    conn.connect()
    deadline.sockets.append(conn.sock)
    deadline.check()
    conn.request("POST", target, body=body, headers=headers, preload_content=False)
    response = conn.getresponse()
    data = response.read(max_bytes, decode_content=False) if max_bytes > 0 else b""
    deadline.check()
    return response, data
