"""Request hardening that must hold on every route: the body size limit and the security headers."""

from __future__ import annotations

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse
from imgplatform.problems import CODES, PROBLEM_CONTENT_TYPE, problem_body


def _problem(code: str, detail: str) -> JsonResponse:
    response = JsonResponse(problem_body(code, detail), status=CODES[code][0], content_type=PROBLEM_CONTENT_TYPE)
    response["Connection"] = "close"  # the unread rest of the body must not be taken for a request
    return response


class RequestBodyLimitMiddleware:
    """Refuses a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (MAX_REQUEST_BYTES) with 413
    ``payload_too_large`` before anything reads it, on every route. A body sent with
    ``Transfer-Encoding: chunked`` (no Content-Length; Django alone would see it as empty) is read
    up to the limit and handed on as if it had had a length, or refused with 413 when longer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None:
            return self.get_response(request)
        too_large = f"The body must be at most {limit} bytes."
        raw_length = request.META.get("CONTENT_LENGTH") or ""
        try:
            length = int(raw_length) if raw_length else 0
        except ValueError:
            return _problem("invalid_request", "Content-Length is not a number.")
        if length < 0:
            return _problem("invalid_request", "Content-Length is not a number.")
        if length > limit:
            return _problem("payload_too_large", too_large)
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        stream = request.META.get("wsgi.input")
        if chunked and not length and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                return _problem("payload_too_large", too_large)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Content-Security-Policy on every response (Django's SecurityMiddleware and
    XFrameOptionsMiddleware add nosniff, Referrer-Policy, COOP, HSTS and X-Frame-Options)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


def client_ip(request) -> str | None:
    """The client's address for the admin login throttle: REMOTE_ADDR, or, behind a TLS proxy
    (BEHIND_TLS_PROXY), the last X-Forwarded-For entry, the one the proxy itself added (earlier
    entries come from the client and can be forged)."""
    if request is None:
        return None
    if getattr(settings, "BEHIND_TLS_PROXY", False):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")
