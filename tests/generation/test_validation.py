"""Every request rule: a 400 problem+json naming the field, and no task written."""

import json

import pytest

from generation.models import Task
from generation.serializers import TaskSubmitSerializer
from tests.conftest import SEED_REQUEST, problem

pytestmark = pytest.mark.django_db
URL = "/api/v2/task/async"


def with_options(**options):
    return {"text_data": "a house", "options": options}


BAD_BODIES = [
    ("num_images 0", with_options(num_images=0), "options.num_images"),
    ("num_images 7", with_options(num_images=7), "options.num_images"),
    ("num_images 2.5", with_options(num_images=2.5), "options.num_images"),
    ("num_images abc", with_options(num_images="abc"), "options.num_images"),
    ("num_images true", with_options(num_images=True), "options.num_images"),
    ("num_images null", with_options(num_images=None), "options.num_images"),
    ("num_images -1", with_options(num_images=-1), "options.num_images"),
    ("missing text_data", {"options": {"num_images": 1}}, "text_data"),
    ("empty text_data", {"text_data": ""}, "text_data"),
    ("blank text_data", {"text_data": "   \n\t "}, "text_data"),
    ("text_data 2001", {"text_data": "x" * 2001}, "text_data"),
    ("text_data number", {"text_data": 123}, "text_data"),
    ("text_data list", {"text_data": ["a"]}, "text_data"),
    ("text_data null", {"text_data": None}, "text_data"),
    ("neg_text 2001", with_options(neg_text="n" * 2001), "options.neg_text"),
    ("neg_text number", with_options(neg_text=5), "options.neg_text"),
    ("unknown option", with_options(steps=50), "options.steps"),
    ("unknown option typo", with_options(num_image=2), "options.num_image"),
    ("options not object", {"text_data": "a", "options": [1, 2]}, "options"),
    ("options string", {"text_data": "a", "options": "{}"}, "options"),
    ("seed negative", with_options(seed=-1), "options.seed"),
    ("seed too big", with_options(seed=2**32), "options.seed"),
    ("seed float", with_options(seed=1.5), "options.seed"),
    ("moderation unknown", with_options(moderation="none"), "options.moderation"),
    ("end_user too long", with_options(end_user="u" * 129), "options.end_user"),
    ("callback ftp", {"text_data": "a", "callback_url": "ftp://example.com/x"}, "callback_url"),
    ("callback not url", {"text_data": "a", "callback_url": "not a url"}, "callback_url"),
    ("callback credentials", {"text_data": "a", "callback_url": "https://u:p@example.com/"}, "callback_url"),
    ("callback number", {"text_data": "a", "callback_url": 5}, "callback_url"),
    ("unknown top-level", {"text_data": "a", "prompt": "b"}, "prompt"),
    ("top-level num_images 9", {"text_data": "a", "num_images": 9}, "num_images"),
    (
        "num_images in both places, different",
        {"text_data": "a", "num_images": 2, "options": {"num_images": 3}},
        "num_images",
    ),
    (
        "neg_text in both places, different",
        {"text_data": "a", "neg_text": "x", "options": {"neg_text": "y"}},
        "neg_text",
    ),
    ("metadata too large", {"text_data": "a", "metadata": {"k": "v" * 5000}}, "metadata"),
]


@pytest.mark.parametrize("name,body,field", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_json_bodies_are_400_naming_the_field(api, project, name, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    body = problem(response)
    assert body["code"] == "invalid_request"
    assert body["status"] == 400
    assert field in body["errors"], body
    assert field in body["detail"]
    assert not Task.objects.for_tenant(project.tenant).exists()


@pytest.mark.parametrize(
    "raw,content_type,field",
    [
        ('{"text_data": "a",', "application/json", "body"),
        ("not json at all", "application/json", "body"),
        ("[1, 2, 3]", "application/json", "body"),
        ('"just a string"', "application/json", "body"),
        ("null", "application/json", "body"),
        ("text_data=a", "text/plain", "content-type"),
        ("<task/>", "application/xml", "content-type"),
    ],
)
def test_unparseable_bodies_and_wrong_content_types_are_400(api, project, raw, content_type, field):
    response = api.generic("POST", URL, raw, content_type=content_type)
    assert response.status_code == 400, response.content
    body = problem(response)
    assert body["code"] == "invalid_request"
    assert field in body["errors"]
    assert not Task.objects.for_tenant(project.tenant).exists()


def test_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(URL, {"text_data": "a", "metadata": {"k": "v" * 2000}}, format="json")
    assert response.status_code == 413
    assert problem(response)["code"] == "payload_too_large"


def accepted(api, body, **kwargs):
    response = api.post(URL, body, **kwargs)
    assert response.status_code == 200, response.content
    return response.json()["status"][0]["response"]["input"]


def test_seed_request_exactly_as_written(api):
    task = accepted(api, SEED_REQUEST, format="json")
    assert task["text_data"] == "modern architecture house"
    assert task["options"]["neg_text"] == "grass, pool"
    assert task["options"]["num_images"] == 3


def test_defaults_and_trimming(api):
    task = accepted(api, {"text_data": "  a house  "}, format="json")
    assert task["text_data"] == "a house"
    assert task["options"]["num_images"] == 1
    assert task["options"]["neg_text"] == ""
    assert 0 <= task["options"]["seed"] < 2**32


def test_boundaries_accepted(api):
    task = accepted(
        api,
        {"text_data": "x" * 2000, "options": {"num_images": 6, "seed": 2**32 - 1, "neg_text": "n" * 2000}},
        format="json",
    )
    assert task["options"]["num_images"] == 6 and task["options"]["seed"] == 2**32 - 1


def test_top_level_options_are_accepted_and_may_repeat_the_same_value(api):
    task = accepted(
        api, {"text_data": "a", "num_images": 2, "neg_text": "b", "options": {"num_images": 2}}, format="json"
    )
    assert task["options"]["num_images"] == 2 and task["options"]["neg_text"] == "b"


def test_form_encoded_with_options_as_json_string(api):
    body = {"text_data": "a house", "options": json.dumps({"neg_text": "grass", "num_images": 2, "seed": 9})}
    task = accepted(api, body)  # multipart by default in the test client
    assert task["options"] == {"neg_text": "grass", "num_images": 2, "seed": 9}
    task = accepted(api, "text_data=a+house&num_images=3", content_type="application/x-www-form-urlencoded")
    assert task["options"]["num_images"] == 3


def test_form_encoded_with_broken_options_is_400(api):
    response = api.post(URL, {"text_data": "a", "options": "{broken"})
    assert response.status_code == 400
    assert "options" in problem(response)["errors"]


def test_extensions_are_echoed(api):
    body = {"text_data": "a", "options": {"moderation": "partial", "end_user": "user-42"}, "metadata": {"order": 7}}
    response = api.post(URL, body, format="json").json()
    options = response["status"][0]["response"]["input"]["options"]
    assert options["moderation"] == "partial" and options["end_user"] == "user-42"
    assert response["metadata"] == {"order": 7}


# PostgreSQL's jsonb refuses a lone surrogate (no UTF-8 encodes one): it was a 500 at the insert.
@pytest.mark.parametrize("metadata", [{"k": "\ud800"}, {"\udc00": "v"}, {"k": ["a\ud83d"]}])
def test_metadata_with_a_lone_surrogate_is_a_400(metadata):
    serializer = TaskSubmitSerializer(data={"text_data": "a red door", "metadata": metadata})
    assert not serializer.is_valid()
