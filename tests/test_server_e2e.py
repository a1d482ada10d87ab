"""What `make run` serves: gunicorn and a worker process, driven over HTTP on loopback with the
seed request, exactly as a Hive client would."""

import io
import json
import re
import time
import urllib.error
import urllib.request

import httpx
import pytest
from PIL import Image

from tests.conftest import SEED_REQUEST, gunicorn
from tests.factories import make_key

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def server(tmp_path, start_worker):
    worker = start_worker()
    with gunicorn(tmp_path / "gunicorn.log") as live:
        yield live.base, worker


def test_seed_request_over_http(server):
    base, worker = server
    auth = {"authorization": f"Token {make_key()}"}
    status, _, body = http("POST", f"{base}/api/v2/task/async", SEED_REQUEST, auth)
    assert status == 200, body
    task = json.loads(body)
    assert task["state"] == "queued"

    deadline = time.monotonic() + 60
    while task["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, task
        time.sleep(0.2)
        task = json.loads(http("GET", f"{base}/api/v2/task/{task['id']}", headers=auth)[2])
    assert task["state"] == "succeeded", task
    images = task["status"][0]["response"]["output"][0]["images"]
    assert len(images) == 3
    for image in images:
        assert image["url"].startswith(base)
        status, headers, png = http("GET", image["url"])
        assert status == 200 and headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png)).size == (1024, 1024)

    # /sync through the same server, then /readyz sees the live worker.
    status, _, body = http("POST", f"{base}/api/v2/task/sync", {"text_data": "a red door"}, auth)
    assert status == 200 and json.loads(body)["state"] == "succeeded"
    assert http("GET", f"{base}/readyz")[0] == 200
    # The worker loaded its model once for all of these tasks.
    assert worker.log_path.read_text().count("loaded model tiny") == 1

    # Bad input over the wire: problem+json, never a 500.
    status, headers, body = http(
        "POST", f"{base}/api/v2/task/async", {"text_data": "x", "options": {"num_images": 7}}, auth
    )
    assert status == 400 and headers["content-type"] == "application/problem+json"
    status, headers, _ = http("GET", f"{base}/api/v2/tasks")
    assert status == 401 and headers["www-authenticate"]


def test_an_operator_signs_in_and_works_in_the_admin_through_the_asgi_server(tmp_path):
    """The admin as `make run` serves it (ASGI): the session is saved at sign-in, CSRF is checked,
    a message survives the redirect, the session ends at sign-out."""
    from django.contrib.auth.models import Group, User

    User.objects.create_superuser("operator", "op@example.com", "a long passphrase 42")
    with gunicorn(tmp_path / "gunicorn.log") as live, httpx.Client(base_url=live.base, timeout=30) as client:
        login = client.get("/admin/login/?next=/admin/")
        assert login.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        refused = client.post("/admin/login/", data={"username": "operator", "password": "a long passphrase 42"})
        assert refused.status_code == 403  # no CSRF token
        signed_in = client.post(
            "/admin/login/?next=/admin/",
            data={"username": "operator", "password": "a long passphrase 42", "csrfmiddlewaretoken": token},
        )
        assert signed_in.status_code == 302 and signed_in.headers["location"] == "/admin/", signed_in.text[:500]
        assert "sessionid" in client.cookies
        assert client.get("/admin/").status_code == 200

        form = client.get("/admin/auth/group/add/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        added = client.post("/admin/auth/group/add/", data={"name": "night shift", "csrfmiddlewaretoken": token})
        assert added.status_code == 302, added.text[:500]
        assert Group.objects.filter(name="night shift").exists()
        listing = client.get(added.headers["location"])
        assert "was added successfully" in listing.text  # the message, stored in the session

        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', listing.text).group(1)
        assert client.post("/admin/logout/", data={"csrfmiddlewaretoken": token}).status_code == 200
        assert client.get("/admin/").status_code == 302  # signed out: to the login page
