"""The reconciler, leases and fencing, in this process against the real database and Redis: a
superseded run finishes nothing, two finishes of one run bill and call back once, lost workers'
tasks are queued again or fail with worker_lost, and queued tasks whose jobs Redis lost come back."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from functools import partial

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.models import CreditEntry, UsageRecord
from callbacks.models import CallbackDelivery
from generation import events, limits, queues, services
from generation.lease import LeaseKeeper
from generation.models import Task
from generation.reconcile import LostRunSweeper, reconcile, recover_lost_runs
from tests.conftest import at_once, free_port, poll, queues_for, submit

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"text_data": "a lighthouse", "options": {"num_images": 2}, "callback_url": "https://example.com/hook"}


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def task_of(response: dict) -> Task:
    return Task.unscoped_objects.get(pk=response["id"])


def images(task: Task, n: int = 2) -> list[services.StoredImage]:
    return [
        services.StoredImage(
            index=i,
            seed=i,
            width=1024,
            height=1024,
            storage_path=f"image_generation/{task.id}/image{i}_1024_1024.png",
            sha256="0" * 64,
            size_bytes=1,
        )
        for i in range(n)
    ]


def succeed(task: Task) -> bool:
    return services.task_succeed(task=task, images=images(task), timings_ms={}, run_info={})


def queued_job_ids(redis_conn, model: str = "tiny") -> list[str]:
    return [job_id.decode() for job_id in redis_conn.lrange(f"rq:queue:generation-{model}", 0, -1)]


def expire(task: Task) -> None:
    """The worker stopped renewing: its lease ran out a while ago."""
    Task.unscoped_objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_start_takes_a_lease_and_finishing_gives_it_up(prepaid_api, settings):
    settings.GENERATION_LEASE_SECONDS = 60
    task = task_of(submit(prepaid_api, BODY))
    assert task.lease_expires_at is None
    assert services.task_start(task=task, worker_name="w:1", run_info={})
    assert task.attempts == 1 and task.state == "running"
    assert timezone.now() + timedelta(seconds=55) < task.lease_expires_at <= later(60)
    assert services.task_lease_renew(task_id=task.pk, attempt=1)
    assert not services.task_lease_renew(task_id=task.pk, attempt=2)  # not this run
    assert succeed(task)
    assert task.lease_expires_at is None
    assert not services.task_lease_renew(task_id=task.pk, attempt=1)  # finished: nothing to renew


def test_a_superseded_run_can_neither_finish_nor_bill_nor_call_back(prepaid_api, redis_conn):
    task = task_of(submit(prepaid_api, BODY))
    zombie = Task.unscoped_objects.get(pk=task.pk)
    assert services.task_start(task=zombie, worker_name="w:1", run_info={})  # run 1 ...
    expire(zombie)  # ... whose worker stops renewing
    report = reconcile()
    assert report.recovered == [str(task.pk)] and not report.requeued
    task.refresh_from_db()
    assert (task.state, task.attempts, task.worker_name, task.lease_expires_at) == ("queued", 1, "", None)
    assert task.job_id == f"gen-{task.pk}-1" and task.job_id in queued_job_ids(redis_conn)

    # The late finish of run 1 while the task waits for run 2: nothing moves.
    stale = Task.unscoped_objects.get(pk=task.pk)
    stale.attempts = 1
    stale.state = "running"
    assert not services.task_succeed(task=stale, images=images(stale), timings_ms={}, run_info={})

    current = Task.unscoped_objects.get(pk=task.pk)
    assert services.task_start(task=current, worker_name="w:2", run_info={})
    assert current.attempts == 2
    zombie.attempts = 1  # what the first worker still holds
    assert not services.task_succeed(task=zombie, images=images(zombie), timings_ms={}, run_info={})
    zombie.attempts = 1
    assert not services.task_fail(task=zombie, code="generation_failed", detail="late", from_states=("running",))
    assert not UsageRecord.unscoped_objects.filter(task_id=task.pk).exists()
    assert not CallbackDelivery.unscoped_objects.filter(task_id=task.pk).exists()

    assert succeed(current)  # run 2 finishes: billed once, called back once
    assert UsageRecord.unscoped_objects.filter(task_id=task.pk).count() == 1
    assert CallbackDelivery.unscoped_objects.filter(task_id=task.pk).count() == 1
    kinds = sorted(
        CreditEntry.unscoped_objects.filter(task_id=task.pk).exclude(kind="release").values_list("kind", flat=True)
    )
    assert kinds == ["capture", "hold"]  # held once, captured once


def test_two_workers_finishing_the_same_run_complete_bill_and_call_back_once(prepaid_api):
    task = task_of(submit(prepaid_api, BODY))
    assert services.task_start(task=task, worker_name="w:1", run_info={})
    copies = [Task.unscoped_objects.get(pk=task.pk) for _ in range(2)]
    results = at_once([partial(succeed, copy) for copy in copies])
    assert sorted(results) == [False, True]
    assert UsageRecord.unscoped_objects.filter(task_id=task.pk).count() == 1
    assert CallbackDelivery.unscoped_objects.filter(task_id=task.pk).count() == 1
    assert CreditEntry.unscoped_objects.filter(task_id=task.pk, kind="capture").count() == 1


def test_out_of_attempts_the_task_fails_with_worker_lost_once(prepaid_api, settings, redis_conn):
    settings.GENERATION_MAX_ATTEMPTS = 2
    task = task_of(submit(prepaid_api, BODY))
    Task.unscoped_objects.filter(pk=task.pk).update(sync=True)  # a /sync client waits on it
    listener = redis_conn.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(events.channel())  # as each web process does (generation/waiters.py)
    for run in (1, 2):
        task = Task.unscoped_objects.get(pk=task.pk)
        assert services.task_start(task=task, worker_name=f"host:{run}", run_info={})
        expire(task)
        report = reconcile()
    assert report.worker_lost == [str(task.pk)] and not report.recovered
    polled = poll(prepaid_api, task.pk)
    assert polled["state"] == "failed" and polled["error"]["code"] == "worker_lost"
    assert polled["error"]["status"] == 503 and "host:2" in polled["error"]["detail"]
    assert polled["status"][0]["response"]["input"]["charge"] == "0.00000"
    kinds = sorted(CreditEntry.unscoped_objects.filter(task_id=task.pk).values_list("kind", flat=True))
    assert kinds == ["hold", "release"]  # the hold kept across runs, released at the end
    assert CallbackDelivery.unscoped_objects.get(task_id=task.pk).event_type == "task.failed"
    messages = [listener.get_message(timeout=0.1) for _ in range(10)]  # None for the subscribe reply
    # Pub/sub channels span a Redis server's databases: other test processes' tasks may be there too.
    published = [data for m in messages if m and (data := json.loads(m["data"]))["id"] == str(task.pk)]
    # Waiters were told of each start and of the end (after it committed).
    assert published == [{"id": str(task.pk), "event": "running", "state": "running"}] * 2 + [
        {"id": str(task.pk), "event": "done", "state": "failed"}
    ]
    listener.close()
    assert reconcile().counts() == {"recovered": 0, "worker_lost": 0, "requeued": 0}  # idempotent
    assert CallbackDelivery.unscoped_objects.filter(task_id=task.pk).count() == 1


def test_a_renewed_lease_is_never_taken_back(prepaid_api, settings):
    """The lease says the run is alive, not that it is quick: a run that renews keeps its task
    however long it takes; one that stops renewing loses it, and its keeper notices."""
    settings.GENERATION_LEASE_SECONDS = 0.6
    task = task_of(submit(prepaid_api, BODY))
    assert services.task_start(task=task, worker_name="w:1", run_info={})
    keeper = LeaseKeeper(task_id=task.pk, attempt=task.attempts, interval=0.2)
    keeper.start()
    try:
        deadline = time.monotonic() + 2.0  # three times the lease
        while time.monotonic() < deadline:
            assert reconcile().counts()["recovered"] == 0
            time.sleep(0.1)
        first = Task.unscoped_objects.get(pk=task.pk).lease_expires_at
        assert first > task.lease_expires_at and Task.unscoped_objects.get(pk=task.pk).state == "running"
    finally:
        keeper.stop()
    time.sleep(0.7)  # nobody renews: the lease runs out
    assert reconcile().recovered == [str(task.pk)]

    keeper = LeaseKeeper(task_id=task.pk, attempt=1, interval=0.05)  # the old run's keeper
    keeper.start()
    assert keeper.lost.wait(5)
    keeper.stop()


def test_queued_tasks_whose_jobs_redis_lost_come_back(prepaid_api, run_worker, redis_conn, settings):
    settings.RECONCILE_GRACE_SECONDS = 30
    ids = [submit(prepaid_api, {**BODY, "options": {"num_images": 1}})["id"] for _ in range(3)]
    assert len(queued_job_ids(redis_conn)) == 3
    redis_conn.flushdb()  # Redis lost everything
    run_worker()
    assert {poll(prepaid_api, t)["state"] for t in ids} == {"queued"}  # nobody knows about them

    assert reconcile().counts()["requeued"] == 0  # too young: the web may be enqueueing them now
    report = reconcile(now=later(31))
    assert sorted(report.requeued) == sorted(ids)
    assert sorted(queued_job_ids(redis_conn)) == sorted(f"gen-{t}-0" for t in ids)
    assert reconcile(now=later(31)).counts()["requeued"] == 0  # their jobs are live now

    run_worker()
    assert {poll(prepaid_api, t)["state"] for t in ids} == {"succeeded"}
    assert UsageRecord.unscoped_objects.filter(task_id__in=ids).count() == 3


def test_a_start_deferred_for_the_running_limit_keeps_its_one_job(prepaid_api, redis_conn, settings):
    """A task over its tenant's running limit waits with a scheduled job of its own (not the
    run's usual id): the reconciler sees it and adds no second job."""
    task = task_of(submit(prepaid_api, BODY))
    redis_conn.flushdb()  # only the deferred job will exist
    job_id = limits.task_defer_start(task)
    task.refresh_from_db()
    assert task.job_id == job_id != queues.generation_job_id(task)
    assert reconcile().counts() == {"recovered": 0, "worker_lost": 0, "requeued": 0}
    assert queued_job_ids(redis_conn) == []  # still only scheduled, once
    redis_conn.flushdb()  # and once that job is lost too, the task gets one back
    assert reconcile(now=later(60)).requeued == [str(task.pk)]


def test_a_deferred_start_long_past_due_is_queued_when_no_scheduler_moved_it(prepaid_api, redis_conn, settings):
    """rq's scheduler runs in one worker; when that worker is killed its lock outlives it and the
    others take it over only every few minutes. The reconciler moves jobs long past due itself."""
    task = task_of(submit(prepaid_api, BODY))
    redis_conn.flushdb()
    job_id = limits.task_defer_start(task)  # due in about TENANT_RUNNING_RETRY_SECONDS; no scheduler runs here
    assert reconcile(now=later(settings.RECONCILE_GRACE_SECONDS - 5)).released == []  # not long past due yet
    report = reconcile(now=later(settings.TENANT_RUNNING_RETRY_SECONDS * 2 + settings.RECONCILE_GRACE_SECONDS + 1))
    assert report.released == [job_id] and report.requeued == []
    assert queued_job_ids(redis_conn) == [job_id]  # the task's one job, now on its queue
    assert queues.generation_queue("tiny").scheduled_job_registry.get_job_ids() == []
    assert reconcile(now=later(600)).released == []  # once


def test_concurrent_reconcilers_put_each_lost_job_back_once(prepaid_api, redis_conn):
    ids = [submit(prepaid_api, BODY)["id"] for _ in range(12)]
    redis_conn.flushdb()
    reports = at_once([partial(reconcile, now=later(60))] * 3)
    requeued = [task_id for report in reports for task_id in report.requeued]
    assert sorted(requeued) == sorted(ids)  # every one, none twice
    assert sorted(queued_job_ids(redis_conn)) == sorted(f"gen-{t}-0" for t in ids)


def test_redis_down_during_reconcile_recovers_in_the_database_and_catches_up_later(prepaid_api, redis_conn, settings):
    task = task_of(submit(prepaid_api, BODY))
    assert services.task_start(task=task, worker_name="w:1", run_info={})
    expire(task)
    healthy = settings.RQ_QUEUES
    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")
    report = reconcile()
    assert report.recovered == [str(task.pk)] and report.redis_error  # taken back; the job waits
    assert Task.unscoped_objects.get(pk=task.pk).state == "queued"
    settings.RQ_QUEUES = healthy
    redis_conn.flushdb()
    assert reconcile(now=later(60)).requeued == [str(task.pk)]  # Redis is back: the job goes in
    assert queued_job_ids(redis_conn) == [f"gen-{task.pk}-1"]


def test_manage_py_reconcile_prints_what_it_did(prepaid_api, redis_conn, settings, capsys):
    settings.GENERATION_MAX_ATTEMPTS = 1
    settings.RECONCILE_GRACE_SECONDS = 0
    lost, dropped = task_of(submit(prepaid_api, BODY)), task_of(submit(prepaid_api, BODY))
    assert services.task_start(task=lost, worker_name="w:1", run_info={})
    expire(lost)
    redis_conn.delete(f"rq:job:gen-{dropped.pk}-0")
    call_command("reconcile")
    out = capsys.readouterr().out.splitlines()
    assert f"task {lost.pk}: its worker was lost on the last allowed run; failed with worker_lost" in out
    assert f"task {dropped.pk}: queued but Redis had lost its job; enqueued again" in out
    assert out[-1] == '{"recovered": 0, "worker_lost": 1, "requeued": 1}'
    call_command("reconcile", "--json")
    assert capsys.readouterr().out.strip() == '{"recovered": 0, "worker_lost": 0, "requeued": 0}'


def test_the_scheduler_runs_the_reconciler_every_interval(redis_conn, settings):
    from billing.management.commands.run_scheduler import build_scheduler

    settings.RECONCILE_INTERVAL = 45
    jobs = {job.func_name: job for job in build_scheduler(redis_conn).get_jobs()}
    job = jobs["generation.reconcile.reconcile_job"]
    assert (job.queue_name, job.interval, job.cron) == ("default", 45, None)
    from generation.reconcile import reconcile_job

    assert reconcile_job() == {"recovered": 0, "worker_lost": 0, "requeued": 0}


# --- The lost-run sweep of every generation worker ---------------------------------------------


def test_a_workers_sweep_takes_back_only_expired_runs_and_gives_them_their_job(prepaid_api, redis_conn):
    lost, alive, jobless = (task_of(submit(prepaid_api, BODY)) for _ in range(3))
    for task in (lost, alive):
        assert services.task_start(task=task, worker_name="w:1", run_info={})
    expire(lost)
    redis_conn.delete(f"rq:job:gen-{jobless.pk}-0")  # a lost job is the full reconciler's, not the sweep's
    report = recover_lost_runs(now=later(1))
    assert report.recovered == [str(lost.pk)] and not report.requeued and not report.worker_lost
    lost.refresh_from_db()
    assert (lost.state, lost.job_id) == ("queued", f"gen-{lost.pk}-1") and lost.job_id in queued_job_ids(redis_conn)
    assert Task.unscoped_objects.get(pk=alive.pk).state == "running"  # its lease runs: never taken back
    assert recover_lost_runs(now=later(1)).counts() == {"recovered": 0, "worker_lost": 0, "requeued": 0}
    assert queued_job_ids(redis_conn).count(lost.job_id) == 1


def test_a_sweep_with_redis_away_enqueues_the_job_on_a_later_sweep(prepaid_api, redis_conn, settings):
    """Without the `scheduler` and `default` roles nothing else would give the task its job: the
    sweeper remembers it and tries again."""
    settings.RECONCILE_INTERVAL = 0.1
    task = task_of(submit(prepaid_api, BODY))
    assert services.task_start(task=task, worker_name="w:1", run_info={})
    expire(task)
    redis_conn.flushdb()
    healthy = settings.RQ_QUEUES
    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")
    sweeper = LostRunSweeper(interval=settings.RECONCILE_INTERVAL)
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        while sweeper.unqueued != {str(task.pk)}:
            assert time.monotonic() < deadline, "the sweeper did not take the task back"
            time.sleep(0.05)
        assert Task.unscoped_objects.get(pk=task.pk).state == "queued" and queued_job_ids(redis_conn) == []
        settings.RQ_QUEUES = healthy  # Redis is back
        while sweeper.unqueued:
            assert time.monotonic() < deadline, "the sweeper did not enqueue the job"
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert not sweeper.is_alive()
    assert queued_job_ids(redis_conn) == [f"gen-{task.pk}-1"]  # once


@pytest.mark.slow
def test_a_worker_process_takes_back_a_dead_workers_run_without_the_scheduler_roles(prepaid_api, start_worker):
    """A task whose worker died (its row: running, the lease run out) and no `scheduler` nor
    `default` role anywhere: a running generation worker takes it back and runs it."""
    task = task_of(submit(prepaid_api, {**BODY, "options": {"num_images": 1}}))
    assert services.task_start(task=task, worker_name="gone:1", run_info={})
    expire(task)
    worker = start_worker(RECONCILE_INTERVAL="1")
    deadline = time.monotonic() + 60
    while (task := Task.unscoped_objects.get(pk=task.pk)).state != "succeeded":
        assert time.monotonic() < deadline, (task.state, task.attempts, worker.log_path.read_text()[-2000:])
        time.sleep(0.2)
    assert task.attempts == 2 and task.worker_name.endswith(f":{worker.pid}")
    assert UsageRecord.unscoped_objects.filter(task_id=task.pk).count() == 1
    assert "lost-run sweep" in worker.log_path.read_text()
