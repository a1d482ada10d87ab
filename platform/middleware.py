"""Request hardening that must hold on every route: the body size limit and the security headers."""

from __future__ import annotations

import io
import logging
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware import clickjacking, common, csrf, security
from imgplatform import metrics
from imgplatform.offloop import run_sync
from imgplatform.problems import CODES, PROBLEM_CONTENT_TYPE, problem_body
from whitenoise.middleware import WhiteNoiseMiddleware

log = logging.getLogger(__name__)


def _problem(code: str, detail: str) -> JsonResponse:
    response = JsonResponse(problem_body(code, detail), status=CODES[code][0], content_type=PROBLEM_CONTENT_TYPE)
    response["Connection"] = "close"  # the unread rest of the body must not be taken for a request
    return response


class _HandlersMode:
    """Sync and async capable: a middleware that takes the mode of the handler it wraps, so under
    ASGI it is awaited on the event loop instead of being run in a thread for every request, as
    Django does for sync-only middleware."""

    sync_capable = True
    async_capable = True

    def _take_mode_of(self, get_response) -> None:
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)


class _SyncAndAsync(_HandlersMode):
    """A middleware in the handler's own mode. Subclasses implement ``process_request`` (answer
    early) and ``process_response``; neither may block."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._take_mode_of(get_response)

    def __call__(self, request):
        if self._async:
            return self.__acall__(request)
        return self.process_response(request, self.process_request(request) or self.get_response(request))

    async def __acall__(self, request):
        response = self.process_request(request)
        if response is None:
            response = await self.get_response(request)
        return self.process_response(request, response)

    def process_request(self, request):
        return None

    def process_response(self, request, response):
        return response


class HttpMetricsMiddleware(_SyncAndAsync):
    """Counts every response by route pattern (``api/v2/task/<uuid:task_id>``, never the raw path;
    ``unmatched`` for a path no pattern took, static files included), method and status, and
    times it (imgplatform.metrics)."""

    def process_request(self, request):
        request._metrics_started = time.perf_counter()

    def process_response(self, request, response):
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        metrics.HTTP_REQUESTS.labels(route=route, method=request.method, status=str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(route=route).observe(time.perf_counter() - request._metrics_started)
        return response


class RequestBodyLimitMiddleware(_SyncAndAsync):
    """Refuses a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (MAX_REQUEST_BYTES) with 413
    ``payload_too_large`` before anything reads it, on every route. A body sent with
    ``Transfer-Encoding: chunked`` (no Content-Length; Django alone would see it as empty under
    WSGI, and read it whole under ASGI) is read up to the limit and handed on as if it had had a
    length, or refused with 413 when longer. Under ASGI the server has already received the body
    (Django spools it to a temporary file); reading that file here does not wait on the client."""

    def process_request(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None:
            return None
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
        # WSGI: the socket's stream; ASGI: the spooled body (ASGIRequest reads from it directly).
        stream = request.META.get("wsgi.input") or getattr(request, "_stream", None)
        if chunked and not length and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                return _problem("payload_too_large", too_large)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))
        return None


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RequestFieldLimitMiddleware(_SyncAndAsync):
    """Parses the query string (and a form body) up front so that more fields than
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` (or files than ``DATA_UPLOAD_MAX_NUMBER_FILES``) is a 400
    ``invalid_request`` problem on every route, with or without a key, and one warning line in the
    log: left to the view, Django's TooManyFieldsSent is a 500 inside DRF and a traceback at ERROR
    (``django.security``) elsewhere. A form body has been spooled already (see above); parsing it
    here is what Django's CSRF check or DRF's form parser would do a moment later anyway."""

    def process_request(self, request):
        try:
            request.GET  # noqa: B018 - parsed for its exception; Django caches it
            if request.method not in ("GET", "HEAD") and request.content_type in FORM_TYPES:
                request.POST  # noqa: B018
        except (TooManyFieldsSent, TooManyFilesSent) as exc:
            log.warning("refused %s %s: %s", request.method, request.path, exc)
            return _problem("invalid_request", f"The request is refused: {exc}.")
        except RequestDataTooBig as exc:
            log.warning("refused %s %s: %s", request.method, request.path, exc)
            return _problem("payload_too_large", f"The body is too large: {exc}.")
        except MultiPartParserError as exc:
            return _problem("invalid_request", f"The multipart body could not be parsed: {exc}.")
        return None


class SecurityHeadersMiddleware(_SyncAndAsync):
    """Content-Security-Policy on every response (Django's SecurityMiddleware and
    XFrameOptionsMiddleware add nosniff, Referrer-Policy, COOP, HSTS and X-Frame-Options)."""

    def process_response(self, request, response):
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class StaticFilesMiddleware(_HandlersMode, WhiteNoiseMiddleware):
    """WhiteNoise, able to run async: WhiteNoise's middleware is sync-only, so under ASGI Django
    would run it (and so every request) through a thread of its own first. Here a request that is
    not for a static file goes on without leaving the event loop; a static file is served by
    WhiteNoise on the sync pool (it opens the file)."""

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        self._take_mode_of(get_response)

    def __call__(self, request):
        if self._async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if self.autorefresh:  # development: looks on disk
            return await run_sync(super().__call__, request)
        static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await run_sync(self.serve, static_file, request)
        return await self.get_response(request)


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


# Django's own middleware, on the event loop. Under ASGI Django runs each hook of a MiddlewareMixin
# (process_request, process_response, process_view) through sync_to_async in the request's own
# thread: about a dozen thread hand-offs per request, all through the one event loop. A burst of
# 1,000 /task/sync submits then advanced together, a hop at a time, and none reached its wait for
# longer than the waits last. The hooks below do no I/O (headers, redirects, lazy objects), so
# they run where they are called; the two that may touch the database (the session's save, the
# messages' store into the session) still go to the request's thread, only when they have work.


class _OnTheLoop:
    """A Django middleware whose hooks do no I/O: under ASGI they run on the event loop."""

    def _needs_thread(self, request, response) -> bool:
        """Whether process_response may do I/O for this request (then it runs in the request's thread)."""
        return False

    async def __acall__(self, request):
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self._needs_thread(request, response):
                return await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
            response = self.process_response(request, response)
        return response


class SecurityMiddleware(_OnTheLoop, security.SecurityMiddleware):
    """Django's: SSL redirect, HSTS, nosniff, Referrer-Policy, COOP."""


class CommonMiddleware(_OnTheLoop, common.CommonMiddleware):
    """Django's: disallowed user agents, APPEND_SLASH (a URL resolve, in memory)."""


class XFrameOptionsMiddleware(_OnTheLoop, clickjacking.XFrameOptionsMiddleware):
    """Django's: X-Frame-Options."""


class AuthenticationMiddleware(_OnTheLoop, auth_middleware.AuthenticationMiddleware):
    """Django's: ``request.user`` as a lazy object; the database is read where it is used."""


class CsrfViewMiddleware(_OnTheLoop, csrf.CsrfViewMiddleware):
    """Django's CSRF check (the token lives in a cookie, CSRF_USE_SESSIONS is off); process_view
    also runs on the loop under ASGI. A view's form body is already in memory or spooled."""

    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode:  # read by the handler once, when it builds the chain
            self.process_view = self._process_view_on_the_loop

    async def _process_view_on_the_loop(self, request, callback, callback_args, callback_kwargs):
        return csrf.CsrfViewMiddleware.process_view(self, request, callback, callback_args, callback_kwargs)


class SessionMiddleware(_OnTheLoop, sessions_middleware.SessionMiddleware):
    """Django's: the session is a lazy object; saving it (a database write) happens in the
    request's thread, and only for a request that used its session (the admin's)."""

    def _needs_thread(self, request, response) -> bool:
        return request.session.accessed or settings.SESSION_SAVE_EVERY_REQUEST


class MessageMiddleware(_OnTheLoop, messages_middleware.MessageMiddleware):
    """Django's: storing messages writes the session (it may load it first), in the request's thread."""

    def _needs_thread(self, request, response) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and (storage.used or storage.added_new)


# Django's class (as MIDDLEWARE names it) -> the subclass the web process runs (PooledASGIHandler).
ON_THE_LOOP = {
    "django.middleware.security.SecurityMiddleware": SecurityMiddleware,
    "django.middleware.common.CommonMiddleware": CommonMiddleware,
    "django.middleware.clickjacking.XFrameOptionsMiddleware": XFrameOptionsMiddleware,
    "django.middleware.csrf.CsrfViewMiddleware": CsrfViewMiddleware,
    "django.contrib.sessions.middleware.SessionMiddleware": SessionMiddleware,
    "django.contrib.auth.middleware.AuthenticationMiddleware": AuthenticationMiddleware,
    "django.contrib.messages.middleware.MessageMiddleware": MessageMiddleware,
}
