"""A small, exact picture of a service for the console's tests: three tenants, every state,
four failure codes, prompt and image blocks, billed tasks, one task outside every window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from console.demo import record_task
from console.roles import SUPPORT
from generation import rollups
from generation.models import Task
from tests.factories import ProjectFactory, TenantFactory

State = Task.State
PASSWORD = "correct horse battery staple"


def stage_timings(generation: float) -> dict:
    return {
        "queue_wait": generation / 10,
        "generation": generation,
        "moderation": generation / 4,
        "storage": generation / 20,
        "total": generation * 1.4,
    }


@dataclass
class Service:
    now: datetime
    tasks: list[Task]
    tenants: dict


def seed_service(now: datetime | None = None) -> Service:
    now = now or timezone.now()
    alpha = ProjectFactory(tenant=TenantFactory(name="Alpha Studio", slug="alpha"))
    beta = ProjectFactory(tenant=TenantFactory(name="Beta Labs", slug="beta"))
    gamma = ProjectFactory(tenant=TenantFactory(name="Gamma Co", slug="gamma"))
    ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
    tasks = [
        # Alpha: four succeeded (7 images), one generation failure.
        record_task(alpha, state=State.SUCCEEDED, created_at=ago(hours=1), timings_ms=stage_timings(100), delivered=1),
        record_task(alpha, state=State.SUCCEEDED, created_at=ago(hours=2), timings_ms=stage_timings(200), delivered=2),
        record_task(alpha, state=State.SUCCEEDED, created_at=ago(hours=5), timings_ms=stage_timings(300), delivered=3),
        record_task(alpha, state=State.SUCCEEDED, created_at=ago(hours=20), timings_ms=stage_timings(400), delivered=1),
        record_task(alpha, state=State.FAILED, created_at=ago(hours=3), error_code="generation_failed"),
        # Beta: two prompts blocked, one strict image block (2 images), one partial (1 withheld, 1 delivered).
        record_task(beta, state=State.FAILED, created_at=ago(hours=4), prompt_categories=["sexual"]),
        record_task(beta, state=State.FAILED, created_at=ago(hours=6), prompt_categories=["sexual", "minors"]),
        record_task(
            beta,
            state=State.FAILED,
            created_at=ago(hours=7),
            error_code="moderation_blocked_image",
            timings_ms=stage_timings(250),
            flagged=[["FEMALE_BREAST_EXPOSED"], ["FEMALE_BREAST_EXPOSED", "BUTTOCKS_EXPOSED"]],
        ),
        record_task(
            beta,
            state=State.SUCCEEDED,
            created_at=ago(hours=8),
            timings_ms=stage_timings(500),
            delivered=1,
            flagged=[["BUTTOCKS_EXPOSED"]],
        ),
        # Gamma: cancelled, queued, running.
        record_task(gamma, state=State.CANCELLED, created_at=ago(hours=9)),
        record_task(gamma, state=State.QUEUED, created_at=ago(minutes=5)),
        record_task(gamma, state=State.RUNNING, created_at=ago(minutes=3), timings_ms={"queue_wait": 1500}),
        # Three days ago: in the 7-day window, not in the 24-hour one.
        record_task(gamma, state=State.FAILED, created_at=ago(days=3), error_code="service_unavailable"),
        # Forty days ago: in no window.
        record_task(alpha, state=State.SUCCEEDED, created_at=ago(days=40), timings_ms=stage_timings(9000), delivered=5),
    ]
    return Service(now=now, tasks=tasks, tenants={"alpha": alpha.tenant, "beta": beta.tenant, "gamma": gamma.tenant})


def write_rollups(now: datetime | None = None) -> int:
    """Every closed hour's rollups, as the scheduler's runs (and `manage.py rollup_tasks`) write them."""
    written = 0
    while True:
        run = rollups.rollup_job(now=now)
        written += run["written"]
        if not run["hours_left"]:
            return written


@pytest.fixture(params=["from tasks", "from rollups"])
def service(db, request) -> Service:
    """The service, read from its tasks alone, and again with every closed hour rolled up (the
    current hour and hours with a task still queued or running are read from the tasks either way):
    every number the pages show must be the same."""
    seeded = seed_service()
    if request.param == "from rollups":
        assert write_rollups(seeded.now) > 0
    return seeded


@pytest.fixture
def staff_client(client, db):
    user = User.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    client.force_login(user)
    return client


def make_support_user(username: str = "support") -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    return user


@pytest.fixture
def support_client(client, db):
    client.force_login(make_support_user())
    return client
