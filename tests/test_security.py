"""Security settings and headers: `check --deploy` in production mode, secure headers and a CSP the
admin and the Swagger UI work under, admin login throttling, bodies over the limit, no secret in
any log line or page."""

import io
import logging
import re
import secrets
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import ApiKey
from tests.conftest import ROOT, problem, subprocess_env
from tests.factories import ProjectFactory, make_key

# A fixed id (not uuid4()): test ids must be the same in every xdist process.
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"

PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "api.example.com",
    "DEBUG": "false",
}


def manage(*args, **env) -> subprocess.CompletedProcess:
    environment = subprocess_env(**env)
    # The browser tests set this in the test process (async.E001 in a deployment check); a
    # deployment does not.
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- Production settings ---------------------------------------------------------------------
def test_check_deploy_is_clean_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # ... and development mode is not production-ready: the same check fails there.
    dev = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_ENV="development")
    assert dev.returncode != 0 and "security.W004" in dev.stderr + dev.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"DEBUG": "true"}, "DEBUG"),
    ],
)
def test_production_mode_refuses_to_start_without_its_settings(override, message):
    result = manage("check", **{**PRODUCTION, **override})
    assert result.returncode != 0 and message in result.stderr


# --- Headers ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_api_responses_carry_the_security_headers(api):
    for response in (api.get("/api/v2/tasks"), APIClient().get("/api/v2/tasks"), api.get("/healthz")):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


def inline_scripts(html: str) -> list[str]:
    return [tag for tag in re.findall(r"<script\b[^>]*>", html) if "src=" not in tag]


@pytest.mark.django_db
def test_admin_and_swagger_ui_work_under_the_csp(client):
    """The CSP allows no inline script: the pages must load all their scripts from files."""
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and "Content-Security-Policy" in docs
    html = docs.content.decode()
    assert inline_scripts(html) == []
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', html).group(1).replace("&amp;", "&")
    init = client.get(script)
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    for url in ("/admin/", "/admin/accounts/tenant/add/", "/admin/accounts/apikey/"):
        page = client.get(url)
        assert page.status_code == 200 and inline_scripts(page.content.decode()) == [], url


# --- Admin login throttling --------------------------------------------------------------------
def login(client, password):
    return client.post("/admin/login/?next=/admin/", {"username": "ops", "password": password})


@pytest.mark.django_db
def test_admin_login_locks_after_repeated_failures_until_the_cool_off(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    User.objects.create_superuser("ops", "ops@example.com", "right-password")
    for _ in range(2):
        assert login(client, "wrong").status_code == 200  # the form again, with an error
    third = login(client, "wrong")
    assert third.status_code == 429
    locked = login(client, "right-password")  # the right password does not help now
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    time.sleep(2.2)
    ok = login(client, "right-password")
    assert ok.status_code == 302 and ok["Location"] == "/admin/"


@pytest.mark.django_db
def test_admin_login_works_while_redis_is_down(client, redis_down):
    User.objects.create_superuser("ops", "ops@example.com", "right-password")
    assert login(client, "wrong").status_code == 200
    assert login(client, "right-password").status_code == 302
    assert client.get("/admin/generation/task/").status_code == 200


# --- Body size -----------------------------------------------------------------------------------
BODY_ROUTES = [
    "/api/v2/task/async",
    "/api/v2/task/sync",
    "/api/v2/task/quote",
    f"/api/v2/task/{NO_SUCH_ID}/cancel",
    "/api/v2/webhook-secret/rotate",
    "/api/v2/tasks",
    "/admin/login/",
    "/nowhere",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", BODY_ROUTES)
def test_a_body_over_the_limit_is_413_problem_json_on_every_route(api, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.SYNC_WAIT_SECONDS = 0
    response = api.post(path, {"text_data": "x" * 2000}, format="json")
    assert response.status_code == 413, path
    assert problem(response)["code"] == "payload_too_large"
    assert api.post(path, {"text_data": "x" * 900}, format="json").status_code != 413


@pytest.mark.django_db
def test_a_bad_content_length_is_400_problem_json(api):
    response = api.generic("POST", "/api/v2/task/async", b"{}", content_type="application/json", CONTENT_LENGTH="x")
    assert response.status_code == 400 and problem(response)["code"] == "invalid_request"


# --- Secrets -------------------------------------------------------------------------------------
@pytest.fixture
def log_output():
    """What the configured console handler (the one production logs go through) writes."""
    handler = next(h for h in logging.getLogger().handlers if type(h.formatter).__name__ == "RedactingFormatter")
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    yield buffer
    logging.getLogger().setLevel(level)
    handler.setStream(old)


def test_secrets_are_blanked_in_log_lines(log_output):
    key = f"igk_0123456789ab_{secrets.token_urlsafe(32)}"
    log = logging.getLogger("tests.security")
    log.warning("request with authorization: Token %s", key)
    log.warning("headers %s", {"HTTP_AUTHORIZATION": f"Bearer {key}", "secret": "whsec_" + "A" * 40})
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        log.exception("failed")
    written = log_output.getvalue()
    assert key.split("_", 2)[2] not in written and "whsec_AAAA" not in written
    assert "igk_0123456789ab_[redacted]" in written and "ValueError" in written


@pytest.mark.django_db
def test_requests_with_keys_leave_no_secret_in_the_logs(log_output, redis_down, settings):
    settings.DEBUG = False
    project = ProjectFactory()
    key = make_key(project)
    wrong = key[:-6] + ("abcdef" if not key.endswith("abcdef") else "ghijkl")
    for header in (f"Token {key}", f"Bearer {wrong}", f"Token {key} extra", f"token {key}"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        client.get("/api/v2/tasks")
        client.get(f"/api/v2/tasks?token={key}")
        # Redis is down: the submit fails with 503 and logs why.
        assert client.post("/api/v2/task/async", {"text_data": "a"}, format="json").status_code in (401, 503)
    written = log_output.getvalue()
    assert "could not enqueue" in written  # the errors were logged ...
    for raw in (key, wrong):
        assert raw.split("_", 2)[2] not in written  # ... without any secret


@pytest.mark.django_db
def test_a_keys_secret_is_never_readable_after_creation(client, api, api_key, project):
    stored = ApiKey.unscoped_objects.get(project=project)
    secret = api_key.split("_", 2)[2]
    # Only a hash is stored: no column of the key's row holds the secret.
    assert not any(secret in str(getattr(stored, f.attname)) for f in ApiKey._meta.concrete_fields)
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    pages = [
        client.get(url)
        for url in (
            "/admin/accounts/apikey/",
            f"/admin/accounts/apikey/{stored.pk}/change/",
            f"/admin/accounts/project/{project.pk}/change/",
            f"/admin/accounts/tenant/{project.tenant_id}/change/",
        )
    ]
    task = api.post("/api/v2/task/async", {"text_data": "a"}, format="json").json()
    pages += [
        api.get(url)
        for url in ("/api/v2/tasks", f"/api/v2/task/{task['id']}", "/api/v2/webhook-secret", "/api/v2/usage")
    ]
    for page in pages:
        assert page.status_code == 200
        assert secret not in page.content.decode() and stored.secret_hash not in page.content.decode()


def test_the_login_throttle_takes_the_address_the_proxy_saw(rf, settings):
    from imgplatform.middleware import client_ip

    request = rf.get("/admin/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.BEHIND_TLS_PROXY = False
    assert client_ip(request) == "10.0.0.2"  # no proxy: the header is the client's own words
    settings.BEHIND_TLS_PROXY = True
    assert client_ip(request) == "203.0.113.9"  # the entry the proxy added, not the forged first one
