"""Bodies found by fuzzing and probing that once gave a 500: each is now a 400 problem+json."""

import pytest

from generation.models import Task
from tests.conftest import problem

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
