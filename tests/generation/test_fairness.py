"""Fair scheduling across tenants (generation/scheduling.py): the next task a worker starts comes
from the tenant whose turn it is (start-time fair queueing by images, weighted by plan), first in
first out within a tenant. The first tests drive the real claim step (the same function the
worker's job calls) against PostgreSQL and Redis; the last ones run real `run_worker` processes."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from django.utils import timezone

from billing import services as billing
from billing.defaults import ensure_default_plan
from billing.models import Plan, PriceTier
from generation import queues, scheduling, services
from generation.models import Task
from generation.reconcile import reconcile
from tests.factories import TenantFactory
from tests.generation.test_limits import api_client

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = "generation-tiny"


def submit(client, num_images: int) -> Task:
    return services.task_submit(client=client, data=services.TaskInput(text_data="a lighthouse", num_images=num_images))


def weighted_tenant(weight: int):
    tenant = TenantFactory()
    default = ensure_default_plan(Plan, PriceTier)
    plan = Plan.objects.create(code=f"w{weight}-{tenant.pk}", name=f"weight {weight}", scheduling_weight=weight)
    PriceTier.objects.create(plan=plan, up_to=None, unit_price=default.tiers.last().unit_price)
    billing.tenant_plan_assign(tenant=tenant, plan=plan, starts_at=timezone.now() - timezone.timedelta(days=1))
    return tenant


def start_next() -> Task | None:
    """What a worker does with the next job on the queue (rq's order: the oldest job first)."""
    holder = Task.unscoped_objects.filter(state="queued").order_by("created_at").first()
    if holder is None:
        return None
    claim = scheduling.claim_next(
        queue_name=QUEUE, holder=holder, job_id=holder.job_id, worker_name="w:1", describe=lambda model: {}
    )
    return claim.task


def finish(task: Task) -> None:
    Task.unscoped_objects.filter(pk=task.pk).update(state="succeeded", finished_at=timezone.now())


def test_a_one_image_task_goes_after_at_most_the_running_task_of_a_tenant_with_15_six_image_tasks():
    x, y = TenantFactory(), TenantFactory()
    xs = [submit(api_client(x), 6) for _ in range(15)]
    running = start_next()
    assert running.pk == xs[0].pk
    late = submit(api_client(y), 1)
    finish(running)
    assert start_next().pk == late.pk  # next, not after the 14 waiting six-image tasks
    order = []
    while (task := start_next()) is not None:
        order.append(task.pk)
        finish(task)
    assert order == [t.pk for t in xs[1:]]  # first in, first out within the tenant


def test_busy_tenants_get_images_in_proportion_to_their_plan_weights():
    tenants = {"a": weighted_tenant(2), "b": weighted_tenant(1), "c": weighted_tenant(1)}
    sizes = itertools.cycle([1, 6, 3, 2, 5, 4])
    clients = {name: api_client(t) for name, t in tenants.items()}
    for name, count in (("a", 80), ("b", 40), ("c", 40)):
        for _ in range(count):
            submit(clients[name], next(sizes))
    served = {name: 0 for name in tenants}
    by_tenant = {t.pk: name for name, t in tenants.items()}
    while all(Task.unscoped_objects.filter(tenant=t, state="queued").exists() for t in tenants.values()):
        task = start_next()
        served[by_tenant[task.tenant_id]] += task.num_images
        finish(task)
    total = sum(served.values())
    for name, weight in (("a", 2), ("b", 1), ("c", 1)):
        share = served[name] / total
        assert abs(share - weight / 4) <= 0.1 * weight / 4, served


def test_a_tenant_back_from_idle_saved_up_no_turns():
    a, b = TenantFactory(), TenantFactory()
    client = api_client(a)
    for _ in range(10):  # a alone: served 20 images
        submit(client, 2)
        finish(start_next())
    for _ in range(6):
        submit(client, 2)
    client_b = api_client(b)
    for _ in range(6):
        submit(client_b, 2)
    order = []
    while (task := start_next()) is not None:
        order.append("a" if task.tenant_id == a.pk else "b")
        finish(task)
    # b goes first (it comes back at the clock, a is one task ahead), then they alternate: b did not
    # get ten turns in a row for the time it was away.
    assert order[:6] == ["b", "a", "b", "a", "b", "a"]


def test_a_tenant_at_its_running_limit_is_passed_over_and_its_token_waits():
    capped, other = TenantFactory(max_running_tasks=1), TenantFactory()
    first = submit(api_client(capped), 1)
    assert start_next().pk == first.pk
    waiting = submit(api_client(capped), 1)
    others = submit(api_client(other), 1)
    assert start_next().pk == others.pk
    claim = scheduling.claim_next(
        queue_name=QUEUE, holder=waiting, job_id=waiting.job_id, worker_name="w:1", describe=lambda model: {}
    )
    assert claim.task is None and claim.waiting  # the job comes back later (limits.task_defer_start)


def test_every_queued_task_keeps_one_live_job_when_jobs_start_other_tasks(redis_conn):
    x, y = TenantFactory(), TenantFactory()
    for _ in range(4):
        submit(api_client(x), 6)
    running = start_next()
    ys = [submit(api_client(y), 1) for _ in range(2)]
    finish(running)
    # The next job in rq's order is x's second task's; it starts y's first task, and the two swap jobs.
    started = start_next()
    assert started.pk == ys[0].pk
    queued = list(Task.unscoped_objects.filter(state="queued"))
    jobs = [t.job_id for t in queued]
    assert len(set(jobs)) == len(jobs) == 4
    assert queues.live_generation_jobs(queued) >= set(jobs)
    later = timezone.now() + timezone.timedelta(seconds=120)
    assert reconcile(now=later).counts()["requeued"] == 0  # no queued task looks jobless


# --- Real worker processes ------------------------------------------------------------------
def wait_until(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def run_seconds(task: Task) -> float:
    return (task.finished_at - task.started_at).total_seconds()


@pytest.mark.long
@pytest.mark.slow
def test_with_a_worker_process_one_tenants_backlog_delays_another_by_at_most_one_task(start_worker):
    start_worker(GENERATION_MODELS=json.dumps({"tiny": {"steps": 4, "step_delay": 0.1}}))
    x, y = TenantFactory(), TenantFactory()
    xs = [submit(api_client(x), 6) for _ in range(15)]
    wait_until(lambda: Task.unscoped_objects.filter(state="running").exists(), timeout=120, what="a start")
    late = submit(api_client(y), 1)
    wait_until(lambda: Task.unscoped_objects.get(pk=late.pk).is_final, timeout=120, what="y's task")
    late.refresh_from_db()
    assert late.state == "succeeded"
    started_before = Task.unscoped_objects.filter(tenant=x, started_at__lt=late.started_at).count()
    assert started_before <= 1  # at most the one running when it came
    x_done = Task.unscoped_objects.filter(pk__in=[t.pk for t in xs], state="succeeded")
    wait_until(lambda: x_done.count() >= 2, timeout=120, what="x's tasks")
    assert late.timings_ms["queue_wait"] / 1000 < max(run_seconds(t) for t in x_done)


@pytest.mark.long
@pytest.mark.slow
def test_with_a_worker_process_busy_tenants_get_their_weighted_share_of_images(start_worker):
    """One-image tasks keep this run short on a CPU (mixed sizes over a long run: the claim-level
    test above, and bench/fairness.py)."""
    tenants = {"a": weighted_tenant(2), "b": weighted_tenant(1), "c": weighted_tenant(1)}
    clients = {name: api_client(t) for name, t in tenants.items()}
    for name, count in (("a", 20), ("b", 10), ("c", 10)):
        for _ in range(count):
            submit(clients[name], 1)
    start_worker()
    wait_until(
        lambda: not Task.unscoped_objects.filter(state__in=["queued", "running"]).exists(), timeout=900, what="the end"
    )
    by_tenant = {t.pk: name for name, t in tenants.items()}
    tasks = list(Task.unscoped_objects.order_by("started_at"))
    assert {t.state for t in tasks} == {"succeeded"}
    # The share while every tenant still had tasks waiting: up to the start of the first tenant's last task.
    last_start = {name: max(t.started_at for t in tasks if by_tenant[t.tenant_id] == name) for name in tenants}
    window_end = min(last_start.values())
    served = {name: 0 for name in tenants}
    for task in tasks:
        if task.started_at <= window_end:
            served[by_tenant[task.tenant_id]] += task.num_images
    total = sum(served.values())
    for name, weight in (("a", 2), ("b", 1), ("c", 1)):
        assert abs(served[name] / total - weight / 4) <= 0.1 * weight / 4, served
