"""Every error on the API paths and probes is problem+json with a stable code, including the ones
Django answers before a view runs: field-count bombs, CSRF, wrong methods on the probes. None of
them logs a traceback at ERROR."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import problem

pytestmark = pytest.mark.django_db

MANY = 1_001  # DATA_UPLOAD_MAX_NUMBER_FIELDS is Django's default, 1,000
QUERY_BOMB = "&".join(f"f{i}=1" for i in range(MANY))
FORM_BOMB = "text_data=a&" + QUERY_BOMB


def _no_error_logged(caplog):
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize(
    "path", ["/api/v2/tasks", "/api/v2/task/00000000-0000-0000-0000-000000000000", "/api/v2/usage", "/healthz",
             "/readyz", "/api/v2/image/x", "/admin/login/", "/api/schema/"],
)  # fmt: skip
@pytest.mark.parametrize("with_key", [True, False])
def test_more_query_parameters_than_allowed_is_400_problem_json(api, anon, caplog, path, with_key):
    client = api if with_key else anon
    response = client.get(f"{path}?{QUERY_BOMB}")
    assert response.status_code == 400, response.content[:300]
    assert problem(response)["code"] == "invalid_request"
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in problem(response)["detail"]
    _no_error_logged(caplog)


@pytest.mark.parametrize("path", ["/api/v2/task/async", "/api/v2/task/quote", "/api/v2/webhook-secret/rotate"])
@pytest.mark.parametrize("with_key", [True, False])
def test_more_form_fields_than_allowed_is_400_problem_json(api, anon, caplog, path, with_key):
    client = api if with_key else anon
    response = client.generic("POST", path, FORM_BOMB, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and problem(response)["code"] == "invalid_request"
    _no_error_logged(caplog)


def test_more_multipart_fields_than_allowed_is_400_problem_json(api, caplog, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # room for 1,001 multipart parts
    response = api.post("/api/v2/task/async", {f"f{i}": "1" for i in range(MANY)})  # multipart by default
    assert response.status_code == 400 and problem(response)["code"] == "invalid_request"
    _no_error_logged(caplog)


def test_a_field_bomb_posted_to_the_admin_login_is_400_without_a_traceback(caplog):
    response = Client(enforce_csrf_checks=True).generic(
        "POST", "/admin/login/", FORM_BOMB, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    _no_error_logged(caplog)


def test_a_form_within_the_limit_still_works(api):
    response = api.generic(
        "POST", "/api/v2/task/quote", "text_data=a+red+door", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content


# --- Probes: GET and HEAD; any other method a 405 problem ---------------------------------------
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_on_a_probe_answers_as_get_without_a_body(client, path):
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code  # 200 (healthz) or 503 (readyz: no worker here)
    assert head.content == b"" and head["Content-Type"] == got["Content-Type"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_on_a_probe_are_405_problem_json(path, method):
    response = Client(enforce_csrf_checks=True).generic(
        method, path, "x=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 405 and problem(response)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


# --- Django's own errors on the API paths -----------------------------------------------------
def test_a_csrf_failure_outside_the_admin_is_problem_json(rf):
    from imgplatform.problems import csrf_failure

    response = csrf_failure(rf.post("/api/v2/anything"), reason="CSRF cookie not set.")
    assert response.status_code == 403 and problem(response)["code"] == "forbidden"


def test_a_csrf_failure_in_the_admin_is_still_djangos_page():
    user = User.objects.create_superuser("ops", "ops@example.com", "pw-long-enough-123")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/admin/generation/task/", {"action": "delete_selected"})
    assert response.status_code == 403 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v2/no-such-route", 404, "not_found"),
        ("DELETE", "/api/v2/tasks", 405, "method_not_allowed"),
        ("PUT", "/api/v2/task/async", 405, "method_not_allowed"),
    ],
)
def test_routing_errors_on_api_paths_are_problem_json(api, method, path, status, code):
    response = api.generic(method, path)
    assert response.status_code == status and problem(response)["code"] == code


def test_an_oversized_body_is_413_problem_json(api, settings):
    response = api.generic(
        "POST", "/api/v2/task/async", "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), content_type="application/json"
    )
    assert response.status_code == 413 and problem(response)["code"] == "payload_too_large"


def test_a_bad_host_header_is_400_problem_json(client):
    response = client.get("/api/v2/tasks", HTTP_HOST="bad host with spaces")
    assert response.status_code == 400 and problem(response)["code"] == "invalid_request"


def test_more_files_than_allowed_is_400_problem_json(api, caplog, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    files = {f"f{i}": SimpleUploadedFile(f"{i}.txt", b"x") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)}
    response = api.post("/api/v2/task/async", {"text_data": "a", **files})
    assert response.status_code == 400 and problem(response)["code"] == "invalid_request"
    _no_error_logged(caplog)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        ("TooManyFieldsSent", 400, "invalid_request"),
        ("TooManyFilesSent", 400, "invalid_request"),
        ("RequestDataTooBig", 413, "payload_too_large"),
    ],
)
def test_djangos_request_size_errors_inside_a_view_are_problems_too(exc, status, code, caplog):
    """The middleware answers them first; a view that meets one anyway (DRF parses lazily) gets the
    same problem from the exception handler, not a 500."""
    from django.core import exceptions
    from imgplatform.problems import exception_handler

    response = exception_handler(getattr(exceptions, exc)("too many"), {"view": None, "request": None})
    assert response.status_code == status and response.data["code"] == code
    _no_error_logged(caplog)
