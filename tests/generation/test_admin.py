"""The operator's task pages and their one-click actions: cancel a queued task, retry a failed one
(same task, a new attempt, billed once through a real worker), redeliver its callback."""

from __future__ import annotations

import html
from datetime import timedelta
from decimal import Decimal

import django_rq
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from accounts.models import Tenant
from billing.models import BillingAccount, CreditEntry, UsageRecord
from billing.reconcile import reconcile
from billing.services import credit_grant
from callbacks.models import CallbackDelivery
from generation import queues, services, storage
from generation.admin import human_duration
from generation.models import Task
from tests.billing.conftest import client_for, submit
from tests.conftest import at_once, free_port, queues_for
from tests.factories import ProjectFactory

# Tests that need committed rows (a real worker, threads, work done after commit) say so.
pytestmark = pytest.mark.django_db
committed = pytest.mark.django_db(transaction=True)
LIST = "/admin/generation/task/"


@pytest.fixture
def staff():
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


@pytest.fixture
def support():
    """Staff who may look at tasks but not change them (what the Support group grants)."""
    user = User.objects.create_user("support", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_task"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def project():
    return ProjectFactory()


@pytest.fixture
def prepaid(project):
    account, _ = BillingAccount.unscoped_objects.get_or_create(tenant=project.tenant)
    account.mode = BillingAccount.Mode.PREPAID
    account.save()
    credit_grant(tenant=project.tenant, amount=Decimal("1"))
    return account


def failed_task(project, *, code="generation_failed", num_images=2) -> Task:
    """A task that a worker started and that failed (nothing billed, its hold released)."""
    task = submit(client_for(project), num_images=num_images)
    assert services.task_start(task=task, worker_name="test", run_info={})
    assert services.task_fail(task=task, code=code, detail="it broke")
    queues.remove_generation_job(task)  # the worker took the job
    return task


def act(client, action, *tasks):
    return client.post(LIST, {"action": action, "_selected_action": [str(t.pk) for t in tasks]}, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def queued_job_ids() -> list[str]:
    return django_rq.get_queue(settings.MODEL_REGISTRY["tiny"].queue).job_ids


def test_human_duration():
    assert [human_duration(timedelta(seconds=s)) for s in (0.25, 12.34, 243, 7500, 100000)] == [
        "250 ms",
        "12.3 s",
        "4 min 3 s",
        "2 h 5 min",
        "1 d 3 h",
    ]
    assert human_duration(None) == "-"


def test_list_shows_columns_and_filters_by_error_code_state_tenant_and_model(staff, project):
    broken = failed_task(project, code="generation_failed")
    unavailable = failed_task(project, code="service_unavailable")
    other = submit(client_for(ProjectFactory()))
    page = staff.get(LIST).content.decode()
    assert all(str(t.pk) in page for t in (broken, unavailable, other))
    assert "2/2" not in page and "0/2" in page  # images delivered / requested

    by_code = staff.get(LIST, {"error_code__exact": "generation_failed"}).content.decode()
    assert str(broken.pk) in by_code and str(unavailable.pk) not in by_code and str(other.pk) not in by_code
    no_error = staff.get(LIST, {"error_code__exact": "-"}).content.decode()
    assert str(other.pk) in no_error and str(broken.pk) not in no_error
    by_state = staff.get(LIST, {"state__exact": "queued"}).content.decode()
    assert str(other.pk) in by_state and str(broken.pk) not in by_state
    by_tenant = staff.get(LIST, {"tenant__id__exact": other.tenant_id}).content.decode()
    assert str(other.pk) in by_tenant and str(broken.pk) not in by_tenant
    assert str(broken.pk) in staff.get(LIST, {"model__exact": "tiny"}).content.decode()
    today = timezone.now()
    dated = {"created_at__year": today.year, "created_at__month": today.month, "created_at__day": today.day}
    assert str(broken.pk) in staff.get(LIST, dated).content.decode()


def test_search_by_id_and_by_prompt(staff, project):
    lighthouse = submit(client_for(project), text="a lighthouse at dusk")
    castle = submit(client_for(project), text="a castle in fog")
    found = staff.get(LIST, {"q": str(castle.pk)}).content.decode()
    assert str(castle.pk) in found and str(lighthouse.pk) not in found
    found = staff.get(LIST, {"q": "lighthouse"}).content.decode()
    assert str(lighthouse.pk) in found and str(castle.pk) not in found
    assert staff.get(LIST, {"q": "not-a-uuid"}).status_code == 200


def test_duration_column_is_run_time_in_human_units(staff, project):
    task = failed_task(project)
    Task.unscoped_objects.filter(pk=task.pk).update(finished_at=task.started_at + timedelta(seconds=75))
    assert "1 min 15 s" in staff.get(LIST).content.decode()
    assert staff.get(LIST, {"o": "8"}).status_code == 200  # sortable by duration


def test_detail_shows_request_timings_seeds_ledger_and_no_save_button(staff, project, prepaid):
    task = services.task_submit(
        client=client_for(project),
        data=services.TaskInput(
            text_data="a red kite",
            neg_text="clouds",
            num_images=2,
            seed=7,
            end_user="u-42",
            callback_url="https://example.com/hook",
            metadata={"order": 12},
        ),
    )
    # What the worker does (the real one runs in the retry test below): start, store, succeed.
    assert services.task_start(task=task, worker_name="test", run_info={})
    images = [
        services.StoredImage(
            index=i, seed=task.image_seed(i), width=1024, height=1024, sha256="0" * 64, size_bytes=1,
            storage_path=storage.save_image(storage.image_path(task.pk, i, 1024, 1024), b"png") if i < 2 else "",
            flagged=i == 2, moderation={"scores": {"FEMALE_GENITALIA_EXPOSED": 0.25 + i}},
        )
        for i in range(2)
    ]  # fmt: skip
    timings = {"queue_wait": 40.0, "generation": 1250.0, "moderation": 80.0, "storage": 5.0, "total": 1375.0}
    assert services.task_succeed(task=task, images=images, timings_ms=timings, run_info={"steps": 4})
    page = html.unescape(staff.get(f"{LIST}{task.pk}/change/").content.decode())
    for text in ('"text_data": "a red kite"', '"neg_text": "clouds"', '"seed": 7', "https://example.com/hook",
                 '"order": 12', "POST /api/v2/task/async", "image 0..1: 7, 8", "generation</td><td>1.2 s",
                 "queue_wait</td><td>40 ms", "FEMALE_GENITALIA_EXPOSED: 1.250", "plan standard", "tier", "hold",
                 "capture", "80 ms of 1375 ms (6%)"):  # fmt: skip
        assert text in page, text
    stages = [
        page.index(f"<td>{stage}</td>") for stage in ("queue_wait", "generation", "moderation", "storage", "total")
    ]
    assert stages == sorted(stages)  # in the order they happen
    assert UsageRecord.unscoped_objects.get(task=task).amount == task.charge > 0
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert page.count('class="task-thumbnail"') == 2


def test_cancel_queued_from_the_list_releases_the_hold(staff, project, prepaid):
    task = submit(client_for(project))
    held = BillingAccount.unscoped_objects.get(pk=prepaid.pk).credit_held
    assert held > 0
    response = act(staff, "cancel_queued", task)
    assert any("cancelled" in m for m in messages_of(response))
    task.refresh_from_db()
    assert task.state == "cancelled" and task.charge == 0
    assert BillingAccount.unscoped_objects.get(pk=prepaid.pk).credit_held == 0
    again = act(staff, "cancel_queued", task)
    assert any("Only queued or running tasks can be cancelled" in m for m in messages_of(again))


@committed
def test_retry_runs_the_same_task_again_and_bills_it_once(staff, project, prepaid, run_worker):
    task = failed_task(project, num_images=2)
    assert task.attempts == 1 and task.charge == 0
    response = act(staff, "retry_failed", task)
    assert any("queued again for attempt 2" in m for m in messages_of(response))
    task.refresh_from_db()
    assert (task.state, task.error_code, task.finished_at) == ("queued", "", None)
    assert queued_job_ids() == [f"gen-{task.pk}-1"]
    held = BillingAccount.unscoped_objects.get(pk=prepaid.pk).credit_held
    assert held == task.hold_amount > 0  # a new hold, admitted like a submit

    run_worker()
    task.refresh_from_db()
    assert task.state == "succeeded" and task.attempts == 2 and task.images_delivered == 2
    record = UsageRecord.unscoped_objects.get(task=task)
    assert record.amount == task.charge > 0
    entries = list(
        CreditEntry.unscoped_objects.filter(task=task).order_by("hold_number", "id").values_list("hold_number", "kind")
    )
    assert entries[:3] == [(1, "hold"), (1, "release"), (2, "hold")] and (2, "capture") in entries
    account = BillingAccount.unscoped_objects.get(pk=prepaid.pk)
    assert account.credit_held == 0 and account.credit_balance == Decimal("1") - task.charge
    assert reconcile() == []
    # A succeeded task is not retried: no second bill.
    refused = act(staff, "retry_failed", task)
    assert any("Only failed tasks can be retried; this one is succeeded" in m for m in messages_of(refused))
    assert UsageRecord.unscoped_objects.filter(task=task).count() == 1


@committed
def test_a_retried_task_sends_its_new_end_as_a_new_callback_message(staff, project):
    task = services.task_submit(
        client=client_for(project), data=services.TaskInput(text_data="a kite", callback_url="https://example.com/h")
    )
    assert services.task_start(task=task, worker_name="test", run_info={})
    assert services.task_fail(task=task, code="generation_failed", detail="it broke")
    first = CallbackDelivery.unscoped_objects.get(task=task)
    assert first.event_type == "task.failed"
    act(staff, "retry_failed", task)
    # What a worker does with it (a real one runs in the test above).
    task.refresh_from_db()
    assert services.task_start(task=task, worker_name="test", run_info={})
    assert services.task_succeed(task=task, images=[], timings_ms={}, run_info={})
    deliveries = list(CallbackDelivery.unscoped_objects.filter(task=task).order_by("created_at"))
    assert [d.event_type for d in deliveries] == ["task.failed", "task.succeeded"]
    assert deliveries[1].webhook_id != first.webhook_id
    # A replayed schedule of the same end makes nothing new.
    from callbacks.services import callback_schedule

    assert callback_schedule(task_id=task.pk) == deliveries[1]
    response = act(staff, "redeliver_callback", task)  # the latest message, not the failure
    assert any(deliveries[1].webhook_id in m for m in messages_of(response))
    assert not any(first.webhook_id in m for m in messages_of(response))


def test_double_click_makes_one_new_attempt(staff, project):
    task = failed_task(project)
    first, second = act(staff, "retry_failed", task), act(staff, "retry_failed", task)
    assert any("queued again" in m for m in messages_of(first))
    assert any("this one is queued" in m for m in messages_of(second))
    assert queued_job_ids() == [f"gen-{task.pk}-1"]
    assert CreditEntry.unscoped_objects.filter(task=task).count() == 0  # postpaid: no holds


@committed
def test_concurrent_retries_make_one_new_attempt(project, prepaid):
    task = failed_task(project)

    def retry():
        services.task_retry(task=Task.unscoped_objects.get(pk=task.pk))
        return "retried"

    outcomes = [getattr(result, "code", result) for result in at_once([retry, retry])]
    assert sorted(outcomes) == ["retried", "task_not_retryable"]
    assert CreditEntry.unscoped_objects.filter(task=task, kind="hold").count() == 2  # submit's + one retry's
    assert len(queued_job_ids()) == 1


def test_retry_refuses_blocked_cancelled_and_suspended(staff, project):
    blocked = submit(client_for(project), text="a decapitated body in the street")
    assert blocked.error_code == "moderation_blocked_prompt"
    cancelled = services.task_cancel(task=submit(client_for(project)))
    response = act(staff, "retry_failed", blocked, cancelled)
    shown = " ".join(messages_of(response))
    assert "blocked by moderation (moderation_blocked_prompt); it is not retried" in shown
    assert "this one is cancelled" in shown
    task = failed_task(project)
    Tenant.objects.filter(pk=project.tenant_id).update(status="suspended")
    assert any("The tenant is suspended" in m for m in messages_of(act(staff, "retry_failed", task)))
    assert queued_job_ids() == []
    for t in (blocked, cancelled, task):
        before = t.state
        t.refresh_from_db()
        assert t.state == before


def test_retry_over_the_prepaid_credit_is_refused(staff, project, prepaid):
    task = failed_task(project, num_images=2)
    credit_grant(tenant=project.tenant, amount=Decimal("-1"), kind="adjust")
    response = act(staff, "retry_failed", task)
    assert any("not retried" in m and "prepaid credit" in m for m in messages_of(response))
    task.refresh_from_db()
    assert task.state == "failed" and task.error_code == "generation_failed"


def test_retry_with_redis_down_leaves_the_task_failed_as_it_was(staff, project, prepaid, settings):
    task = failed_task(project)
    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")  # Redis goes away
    before = Task.unscoped_objects.filter(pk=task.pk).values().get()
    entries = CreditEntry.unscoped_objects.count()
    response = act(staff, "retry_failed", task)
    assert response.status_code == 200
    assert any(
        "job queue is unavailable; the task was not retried and is still failed" in m for m in messages_of(response)
    )
    assert Task.unscoped_objects.filter(pk=task.pk).values().get() == before
    assert CreditEntry.unscoped_objects.count() == entries
    assert BillingAccount.unscoped_objects.get(pk=prepaid.pk).credit_held == 0


def test_buttons_on_the_task_page(staff, project):
    task = failed_task(project)
    page = staff.get(f"{LIST}{task.pk}/change/").content.decode()
    assert f"/admin/generation/task/{task.pk}/do/retry/" in page and "/do/cancel/" not in page
    assert staff.get(f"{LIST}{task.pk}/do/retry/").status_code == 405
    response = staff.post(f"{LIST}{task.pk}/do/retry/", follow=True)
    assert response.redirect_chain[-1][0] == f"{LIST}{task.pk}/change/"
    assert any("queued again" in m for m in messages_of(response))
    response = staff.post(f"{LIST}{task.pk}/do/cancel/", follow=True)
    assert any("cancelled" in m for m in messages_of(response))
    assert staff.post(f"{LIST}{task.pk}/do/delete/").status_code == 403
    assert staff.post(f"{LIST}not-a-uuid/do/retry/").status_code == 404


def test_redis_lost_between_commit_and_enqueue_puts_the_failure_back(staff, project, prepaid, settings):
    task = failed_task(project)
    before = Task.unscoped_objects.filter(pk=task.pk).values().get()
    # The model's queue lives on a Redis that is away; the default one answers the check.
    model_queue = settings.MODEL_REGISTRY["tiny"].queue
    dead = queues_for(f"redis://127.0.0.1:{free_port()}/0")[model_queue]
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, model_queue: dead}
    response = act(staff, "retry_failed", task)
    assert any("the task was not retried and is still failed" in m for m in messages_of(response))
    assert Task.unscoped_objects.filter(pk=task.pk).values().get() == before
    account = BillingAccount.unscoped_objects.get(pk=prepaid.pk)
    assert (account.credit_held, account.credit_balance) == (0, Decimal("1"))
    second = CreditEntry.unscoped_objects.filter(task=task, hold_number=2).order_by("id")
    assert [e.kind for e in second] == ["hold", "release"]  # the new hold, released again
    assert second[0].amount == second[1].amount > 0
    assert reconcile() == []


@committed
def test_redeliver_callback_from_the_task(staff, project):
    task = failed_task(project)
    Task.unscoped_objects.filter(pk=task.pk).update(callback_url="https://example.com/hook")
    response = staff.post(f"{LIST}{task.pk}/do/redeliver/", follow=True)
    assert any("nothing to redeliver (no callback has been made" in m for m in messages_of(response))
    delivery = CallbackDelivery.unscoped_objects.create(
        tenant=task.tenant, project=task.project, task=task, event_type="task.failed",
        url="https://example.com/hook", status="gave_up", attempts_count=3, finished_at=timezone.now(),
    )  # fmt: skip
    response = act(staff, "redeliver_callback", task)
    assert any(f"{delivery.webhook_id}: attempt 4 queued" in m for m in messages_of(response))
    delivery.refresh_from_db()
    assert delivery.status == "pending" and not delivery.retrying
    assert django_rq.get_queue("callbacks").count + len(django_rq.get_queue("callbacks").scheduled_job_registry) >= 1


def test_view_only_staff_see_tasks_but_cannot_act(support, project):
    task = failed_task(project)
    listing = support.get(LIST)
    assert listing.status_code == 200 and str(task.pk) in listing.content.decode()
    assert 'value="retry_failed"' not in listing.content.decode()
    page = support.get(f"{LIST}{task.pk}/change/").content.decode()
    assert "/do/retry/" not in page
    act(support, "retry_failed", task)
    assert support.post(f"{LIST}{task.pk}/do/retry/").status_code == 403
    task.refresh_from_db()
    assert task.state == "failed" and queued_job_ids() == []


def test_actions_are_in_the_tasks_history(staff, project):
    from django.contrib.admin.models import LogEntry

    task = failed_task(project)
    act(staff, "retry_failed", task)
    act(staff, "cancel_queued", task)
    entries = LogEntry.objects.filter(object_id=str(task.pk)).order_by("id")
    assert [(e.user.username, e.change_message) for e in entries] == [
        ("ops", "Retried: queued for attempt 2."),
        ("ops", "Cancelled (admin action)."),
    ]


def test_retry_refuses_a_model_this_deployment_does_not_have(staff, project):
    task = failed_task(project)
    Task.unscoped_objects.filter(pk=task.pk).update(model="gone-model")
    response = act(staff, "retry_failed", task)
    assert any("The model 'gone-model' is not configured" in m for m in messages_of(response))
    task.refresh_from_db()
    assert task.state == "failed"


def test_a_running_task_has_the_cancel_button_and_cancelling_it_releases_the_hold(staff, project, prepaid):
    task = submit(client_for(project))
    assert services.task_start(task=task, worker_name="test", run_info={})
    page = staff.get(f"{LIST}{task.pk}/change/").content.decode()
    assert f"/admin/generation/task/{task.pk}/do/cancel/" in page
    response = staff.post(f"{LIST}{task.pk}/do/cancel/", follow=True)
    assert any("cancelled; nothing is charged" in m for m in messages_of(response))
    task.refresh_from_db()
    assert task.state == "cancelled" and task.charge == 0 and task.attempts == 1
    assert BillingAccount.unscoped_objects.get(pk=prepaid.pk).credit_held == 0
