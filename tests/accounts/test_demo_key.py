"""`make run`'s demo key (manage.py demo_tenant): each run's key expires and replaces the earlier
ones, so runs do not pile up keys that never expire."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_create

pytestmark = pytest.mark.django_db


def demo(*args) -> dict:
    out = io.StringIO()
    call_command("demo_tenant", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def status_with(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v2/tasks").status_code


def test_each_run_issues_an_expiring_key_and_revokes_the_earlier_ones():
    first = demo()
    assert status_with(first["api_key"]) == 200
    expires = parse_datetime(first["expires_at"])
    assert timedelta(hours=23) < expires - timezone.now() <= timedelta(hours=24)
    second = demo()
    assert second["project_id"] == first["project_id"] and second["api_key"] != first["api_key"]
    assert status_with(first["api_key"]) == 401 and status_with(second["api_key"]) == 200
    live = ApiKey.unscoped_objects.filter(tenant_id=second["tenant_id"]).filter(revoked_at__isnull=True)
    assert live.count() == 1 and live.get().expires_at is not None


def test_keys_made_by_hand_for_the_demo_project_are_left_alone():
    first = demo()
    key = ApiKey.unscoped_objects.get(tenant_id=first["tenant_id"], revoked_at__isnull=True)
    by_hand = api_key_create(project=key.project, name="ci").raw_key
    demo("--ttl-hours", "1")
    assert status_with(by_hand) == 200
