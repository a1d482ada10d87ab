"""Hive's project_id and user_id are public ids (platform/publicids.py), not the primary keys: a
customer cannot count the platform's projects or keys from them, and they still work as ids."""

from __future__ import annotations

import pytest
from imgplatform import publicids
from imgplatform.publicids import LIMIT, from_public, to_public
from rest_framework.test import APIClient

from accounts.models import ApiKey
from tests.conftest import submit
from tests.factories import ProjectFactory, make_key

pytestmark = pytest.mark.django_db


def test_the_mapping_is_one_to_one_and_reversible():
    pks = [0, 1, 2, 3, 1000, 2**31, LIMIT - 1, *range(5000, 7000)]
    for kind in publicids.KINDS:
        public = [to_public(kind, pk) for pk in pks]
        assert len(set(public)) == len(pks) and all(1 <= p <= LIMIT for p in public)
        assert [from_public(kind, p) for p in public] == pks
    assert to_public("project", 7) != to_public("api_key", 7)
    assert to_public("project", None) is None
    assert [from_public("project", v) for v in (0, -1, LIMIT + 1, 2**64)] == [None] * 4


def test_consecutive_primary_keys_do_not_give_ordered_or_close_public_ids():
    public = [to_public("project", pk) for pk in range(1, 201)]
    assert public != sorted(public) and public != sorted(public, reverse=True)
    gaps = sorted(abs(b - a) for a, b in zip(public, public[1:], strict=False))
    assert gaps[len(gaps) // 2] > LIMIT // 100  # typical gap: a sizeable share of the range


def test_another_key_gives_other_public_ids(settings):
    before = to_public("project", 42)
    settings.PUBLIC_ID_KEY = "another deployment's key"
    assert to_public("project", 42) != before and from_public("project", to_public("project", 42)) == 42


def test_tasks_show_the_public_ids_and_the_list_filters_by_them():
    project = ProjectFactory()
    key = make_key(project, tenant_wide=True)  # lists its sibling project's tasks too
    other = ProjectFactory(tenant=project.tenant)
    api, other_api = APIClient(), APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    other_api.credentials(HTTP_AUTHORIZATION=f"Token {make_key(other)}")
    task = submit(api, {"text_data": "a red door"})
    submit(other_api, {"text_data": "a blue door"})
    api_key = ApiKey.unscoped_objects.get(key_id=key.split("_")[1])
    assert task["project_id"] == project.public_id != project.pk
    assert task["status"][0]["response"]["input"]["project_id"] == project.public_id
    assert task["status"][0]["response"]["input"]["user_id"] == api_key.public_id != api_key.pk

    by_public = api.get("/api/v2/tasks", {"project_id": project.public_id}).json()["results"]
    assert [t["id"] for t in by_public] == [task["id"]]
    assert (
        api.get("/api/v2/tasks", {"project_id": other.public_id}).json()["results"][0]["project_id"] == other.public_id
    )
    # The primary key is not an id the API knows.
    assert api.get("/api/v2/tasks", {"project_id": project.pk}).json()["results"] == []
