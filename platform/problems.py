"""RFC 9457 problem+json errors with stable codes, for every error the API can give.

Views raise :class:`Problem` (or DRF's own exceptions, mapped here); nothing reaches the client as
a stack trace. The `code` values are the contract; titles and details are for humans.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# code -> (HTTP status, title)
CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "The request is not valid"),
    "unauthenticated": (401, "Authentication required"),
    "quota_exceeded": (402, "Quota exceeded"),
    "forbidden": (403, "Forbidden"),
    "tenant_suspended": (403, "The account was suspended"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Not acceptable"),
    "task_not_cancellable": (409, "The task can no longer be cancelled"),
    "task_not_retryable": (409, "The task cannot be retried"),
    "idempotency_conflict": (409, "Idempotency key reused with another request"),
    "gone": (410, "Gone: deleted after the project's retention period"),
    "payload_too_large": (413, "Request body too large"),
    "moderation_blocked_prompt": (422, "The prompt was blocked by moderation"),
    "moderation_blocked_image": (422, "The generated images were blocked by moderation"),
    "rate_limited": (429, "Too many requests"),
    "internal_error": (500, "Internal error"),
    "generation_failed": (500, "Image generation failed"),
    "moderation_failed": (500, "Image moderation failed"),
    "storage_failed": (503, "The images could not be stored"),
    "service_unavailable": (503, "Service temporarily unavailable"),
    "worker_lost": (503, "The worker running the task was lost"),
}


def problem_type(code: str) -> str:
    return f"urn:imagegen:problem:{code}"


def problem_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    status, title = CODES[code]
    body = {"type": problem_type(code), "title": title, "status": status, "detail": detail, "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


class Problem(Exception):
    """An error with a stable code, rendered as problem+json."""

    def __init__(self, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    @property
    def status(self) -> int:
        return CODES[self.code][0]

    def body(self) -> dict[str, Any]:
        return problem_body(self.code, self.detail, **self.extra)


def problem_response(problem: Problem) -> Response:
    return Response(problem.body(), status=problem.status, headers=problem.headers, content_type=PROBLEM_CONTENT_TYPE)


def _flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure -> {"options.num_images": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            for k, v in _flatten_errors(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        for item in detail:
            for k, v in _flatten_errors(item, prefix).items():
                out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or "body", []).append(str(detail))
    return out


def _from_drf(exc: drf.APIException) -> Problem:
    if isinstance(exc, drf.ValidationError):
        errors = _flatten_errors(exc.detail)
        summary = "; ".join(f"{field}: {msgs[0]}" for field, msgs in errors.items())
        return Problem("invalid_request", summary or "Invalid request.", errors=errors)
    if isinstance(exc, drf.ParseError):
        return Problem(
            "invalid_request", f"The body could not be parsed: {exc.detail}", errors={"body": [str(exc.detail)]}
        )
    if isinstance(exc, drf.UnsupportedMediaType):
        return Problem(
            "invalid_request",
            f"{exc.detail} Send application/json (or a form with `options` as a JSON string).",
            errors={"content-type": [str(exc.detail)]},
        )
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return Problem("unauthenticated", str(exc.detail))
    if isinstance(exc, drf.PermissionDenied):
        return Problem("forbidden", str(exc.detail))
    if isinstance(exc, drf.NotFound):
        return Problem("not_found", "No such object.")
    if isinstance(exc, drf.MethodNotAllowed):
        return Problem("method_not_allowed", str(exc.detail))
    if isinstance(exc, drf.NotAcceptable):
        return Problem("not_acceptable", str(exc.detail))
    if isinstance(exc, drf.Throttled):
        headers = {"Retry-After": str(int(exc.wait or 1))}
        return Problem("rate_limited", str(exc.detail), headers=headers)
    log.warning("unmapped API exception %s: %s", type(exc).__name__, exc.detail)
    return Problem("invalid_request", str(exc.detail))


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF exception handler: every exception becomes problem+json, unknown ones a bare 500."""
    if isinstance(exc, Problem):
        problem = exc
    elif isinstance(exc, Http404):
        problem = Problem("not_found", "No such object.")
    elif isinstance(exc, DjangoPermissionDenied):
        problem = Problem("forbidden", "Forbidden.")
    elif isinstance(exc, drf.APIException):
        problem = _from_drf(exc)
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):  # RequestFieldLimitMiddleware's, if it ran
        problem = Problem("invalid_request", f"The request is refused: {exc}.")
    elif isinstance(exc, RequestDataTooBig):
        problem = Problem("payload_too_large", f"The body is too large: {exc}.")
    else:
        log.exception("unhandled error in %s", context.get("view").__class__.__name__)
        problem = Problem("internal_error", "An internal error occurred; it has been logged.")
    response = problem_response(problem)
    if problem.code == "unauthenticated":
        request = context.get("request")
        authenticator = getattr(request, "_authenticator", None) or _default_authenticator()
        response["WWW-Authenticate"] = authenticator.authenticate_header(request)
    return response


def _default_authenticator():
    """The API's authentication (REST_FRAMEWORK's first class: accounts' API keys), for a
    ``WWW-Authenticate`` header when the view's own was not reached."""
    from rest_framework.settings import api_settings

    return api_settings.DEFAULT_AUTHENTICATION_CLASSES[0]()


def django_handler(code: str, detail: str):
    def view(request, exception=None):
        return JsonResponse(problem_body(code, detail), status=CODES[code][0], content_type=PROBLEM_CONTENT_TYPE)

    return view


def csrf_failure(request, reason: str = ""):
    """Settings' CSRF_FAILURE_VIEW: a 403 ``forbidden`` problem outside the admin (the API has no
    cookies; a form POSTed at /healthz or an API path is no admin page), Django's page in it."""
    if request.path.startswith("/admin/"):
        from django.views.csrf import csrf_failure as django_csrf_failure

        return django_csrf_failure(request, reason)
    return JsonResponse(
        problem_body("forbidden", f"Forbidden: {reason or 'CSRF check failed'}."),
        status=403,
        content_type=PROBLEM_CONTENT_TYPE,
    )


handler400 = django_handler("invalid_request", "Bad request.")
handler403 = django_handler("forbidden", "Forbidden.")
handler404 = django_handler("not_found", "No such object.")
handler500 = django_handler("internal_error", "An internal error occurred; it has been logged.")
