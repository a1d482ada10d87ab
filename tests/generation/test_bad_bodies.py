"""Bodies found by fuzzing and probing that once gave a 500: each is now a 400 problem+json."""

import base64
import json

import pytest
from django.db import DataError, connection, transaction

from generation.models import Task
from tests.conftest import problem, submit

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000  # 10 KB, well under MAX_REQUEST_BYTES; past Python's recursion limit


@pytest.mark.parametrize("path", ["/api/v2/task/async", "/api/v2/task/quote"])
def test_json_nested_past_the_parsers_recursion_limit_is_400(api, path):
    response = api.generic(
        "POST", path, '{"text_data": "a", "metadata": ' + DEEP + "}", content_type="application/json"
    )
    assert response.status_code == 400 and problem(response)["code"] == "invalid_request"
    assert "nested too deeply" in problem(response)["detail"]


def test_form_options_nested_past_the_recursion_limit_is_400(api):
    body = "text_data=a&options=" + "%5B" * 5000 + "%5D" * 5000
    response = api.generic("POST", "/api/v2/task/async", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and list(problem(response)["errors"]) == ["options"]


@pytest.mark.parametrize("metadata", [{"a": "x\u0000y"}, {"k\u0000": 1}, ["\u0000"]])
def test_a_nul_character_in_metadata_is_400_not_a_database_error(api, metadata):
    """PostgreSQL's jsonb cannot store U+0000."""
    response = api.post("/api/v2/task/async", {"text_data": "a", "metadata": metadata}, format="json")
    assert response.status_code == 400 and list(problem(response)["errors"]) == ["metadata"]
    assert Task.unscoped_objects.count() == 0


def test_metadata_nested_deeper_than_32_levels_is_400(api):
    ok = api.post("/api/v2/task/async", {"text_data": "a", "metadata": [[[["fine"]]]]}, format="json")
    assert ok.status_code == 200 and ok.json()["metadata"] == [[[["fine"]]]]
    deep = api.generic(
        "POST", "/api/v2/task/async", '{"text_data": "a", "metadata": ' + "[" * 40 + "]" * 40 + "}",
        content_type="application/json",
    )  # fmt: skip
    assert deep.status_code == 400 and "nested" in problem(deep)["errors"]["metadata"][0]


# --- Lone surrogates ("\ud800" escapes): refused by the parser, before anything is stored or billed ---
SURROGATE_BODIES = {
    "text_data": '{"text_data": "\\ud800"}',
    "neg_text": '{"text_data": "a", "options": {"neg_text": "x\\udfff"}}',
    "top-level neg_text": '{"text_data": "a", "neg_text": "\\ud800"}',
    "metadata value": '{"text_data": "a", "metadata": {"k": ["ok", "\\ud800"]}}',
    "metadata key": '{"text_data": "a", "metadata": {"\\ud800": 1}}',
    "callback_url": '{"text_data": "a", "callback_url": "https://example.com/\\ud800"}',
    "end_user": '{"text_data": "a", "options": {"end_user": "\\udbff"}}',
    # Echoed in an error message (unknown key, bad choice): once a 500 when written out as UTF-8.
    "unknown top-level key": '{"text_data": "a", "\\ud800": 1}',
    "unknown option": '{"text_data": "a", "options": {"\\ud800": 1}}',
    "bad choice": '{"text_data": "a", "options": {"moderation": "\\ud800"}}',
    "a list body": '["\\ud800"]',
}


@pytest.mark.parametrize("path", ["/api/v2/task/async", "/api/v2/task/quote"])  # /sync: the live fuzz
@pytest.mark.parametrize("name", SURROGATE_BODIES)
def test_a_lone_surrogate_anywhere_in_a_json_body_is_400_and_nothing_is_stored(api, path, name):
    response = api.generic("POST", path, SURROGATE_BODIES[name], content_type="application/json")
    assert response.status_code == 400, response.content
    body = problem(response)
    assert body["code"] == "invalid_request" and "lone surrogate" in body["detail"]
    response.content.decode("utf-8")  # strict UTF-8: nothing of the surrogate is echoed
    assert Task.unscoped_objects.count() == 0


def test_a_valid_surrogate_pair_is_a_character_and_is_accepted(api):
    response = api.generic(
        "POST", "/api/v2/task/async", '{"text_data": "a \\ud83d\\ude00", "metadata": {"e": "\\ud83d\\ude00"}}',
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["metadata"] == {"e": "\U0001f600"}


@pytest.mark.parametrize("options", ['{"neg_text": "\\ud800"}', '{"\\ud800": 1}', '{"moderation": "\\udc00"}'])
def test_a_lone_surrogate_in_a_forms_options_json_is_400(api, options):
    response = api.post("/api/v2/task/async", {"text_data": "a", "options": options})
    assert response.status_code == 400 and list(problem(response)["errors"]) == ["options"]
    assert "lone surrogate" in problem(response)["errors"]["options"][0]
    assert Task.unscoped_objects.count() == 0


def test_undecodable_bytes_in_a_form_are_replaced_not_a_500(api):
    """Percent-escapes of a surrogate's bytes (not UTF-8) decode to U+FFFD: a valid string."""
    form = "application/x-www-form-urlencoded"
    response = api.generic("POST", "/api/v2/task/async", "text_data=a%ED%A0%80&bogus%ED%A0%80=1", content_type=form)
    assert response.status_code == 400 and list(problem(response)["errors"]) == ["bogus\ufffd\ufffd\ufffd"]


@pytest.mark.parametrize("key", ["k\x85", "k\x00", "é" * 300])
def test_an_idempotency_key_that_is_not_printable_or_too_long_is_400(api, key):
    response = api.post("/api/v2/task/async", {"text_data": "a"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and problem(response)["code"] == "invalid_request"
    assert Task.unscoped_objects.count() == 0


# --- Rows stored before the parser refused surrogates still render ----------------------------
BAD_METADATA = {"note": "bad \ud800 text", "\udfff key": ["\ud800"]}


@pytest.fixture
def bad_row(api, settings):
    """A task whose metadata holds lone surrogates, written as an older release could: SQLite's JSON
    column keeps the escape. PostgreSQL's jsonb (and its text) refuse one, so there none exists."""
    task_id = submit(api, {"text_data": "a red door"})["id"]
    if connection.vendor == "postgresql":
        with pytest.raises((DataError, UnicodeEncodeError)), transaction.atomic():
            Task.unscoped_objects.filter(pk=task_id).update(metadata=BAD_METADATA)
        pytest.skip("PostgreSQL refuses lone surrogates: no such row can exist (checked above)")
    Task.unscoped_objects.filter(pk=task_id).update(metadata=BAD_METADATA)
    return task_id


def _readable(response) -> str:
    assert response.status_code == 200, response.content[:300]
    return response.content.decode("utf-8")  # strict: valid UTF-8


def test_an_existing_row_with_surrogates_renders_in_the_task_and_every_list_page(api, bad_row):
    task = json.loads(_readable(api.get(f"/api/v2/task/{bad_row}")))
    assert task["metadata"] == {"note": "bad \ufffd text", "\ufffd key": ["\ufffd"]}
    page = json.loads(_readable(api.get("/api/v2/tasks?limit=1")))
    assert page["results"][0]["id"] == bad_row
    assert json.loads(_readable(api.get("/api/v2/tasks?state=queued")))["results"][0]["metadata"] == task["metadata"]


def test_an_existing_row_with_surrogates_renders_on_the_admin_task_page(api, bad_row, admin_client):
    html = _readable(admin_client.get(f"/admin/generation/task/{bad_row}/change/"))
    assert "bad \ufffd text" in html
    _readable(admin_client.get("/admin/generation/task/"))


# --- Tampered cursors, 64-bit overflow -------------------------------------------------------
def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        _b64("p=notadate"),
        _b64("o=0&r=0&p=2026-13-45 99:99:99"),
        _b64("p=2026-01-01 00:00:00"),  # no time zone: not one the API wrote
        _b64("p=9999-12-31 23:59:59-23:00"),  # past year 9999 once in UTC
        _b64("p=\x00"),
        _b64("o=" + "9" * 5000),
        _b64("r=99999999999999999999999999&p=2026-01-01T00:00:00+00:00"),
        "garbage",
        "é",
        _b64("\u00ff"),
    ],
)
def test_a_tampered_list_cursor_is_400(api, cursor):
    submit(api, {"text_data": "a red door"})
    response = api.get("/api/v2/tasks", {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert problem(response)["code"] == "invalid_request" and list(problem(response)["errors"]) == ["cursor"]


def test_the_cursor_the_api_wrote_still_pages(api):
    ids = [submit(api, {"text_data": f"door {i}"})["id"] for i in range(3)]
    first = api.get("/api/v2/tasks?limit=2").json()
    second = api.get(first["next"]).json()
    assert [t["id"] for t in first["results"] + second["results"]] == ids[::-1]


@pytest.mark.parametrize(
    "value", [str(2**63), str(2**64 + 1), "9" * 40, "-1", "0", "-" + "9" * 30, "abc", "1e3", "1.5"]
)
def test_project_id_outside_a_64_bit_id_or_not_a_number_is_400(api, value):
    response = api.get("/api/v2/tasks", {"project_id": value})
    assert response.status_code == 400 and list(problem(response)["errors"]) == ["project_id"]


def test_the_largest_64_bit_project_id_is_an_empty_page(api):
    assert api.get("/api/v2/tasks", {"project_id": str(2**63 - 1)}).json()["results"] == []


@pytest.mark.parametrize("invoice_id", [str(2**63), "9" * 40, "-1"])
def test_an_invoice_id_beyond_64_bits_is_a_404(api, invoice_id):
    response = api.get(f"/api/v2/invoices/{invoice_id}")
    assert response.status_code == 404 and problem(response)["code"] == "not_found"


def test_the_renderer_writes_any_lone_surrogate_as_the_replacement_character():
    """Whatever path a surrogate takes to a response (an echo in an error, an old row), the answer is
    valid UTF-8, not a 500."""
    from imgplatform.renderers import JSONRenderer

    out = JSONRenderer().render({"\ud800 key": ["x\udfff", {"n": 1}], "ok": "\U0001f600"})
    assert json.loads(out.decode("utf-8")) == {"\ufffd key": ["x\ufffd", {"n": 1}], "ok": "\U0001f600"}
