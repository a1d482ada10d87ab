"""The dashboard and failures page read hourly rollups (generation/rollups.py) for the hours whose
tasks had all ended, and the tasks for the rest: every number must be the one the tasks alone give,
across hour boundaries, with the current hour and hours still holding queued or running tasks,
after a retry takes a task of a rolled-up hour back, and while tasks end concurrently."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from console import metrics
from console.demo import record_task
from generation import rollups, services
from generation.models import RollupHour, Task, TaskRollup
from tests.console.conftest import stage_timings, write_rollups
from tests.factories import ProjectFactory

State = Task.State
WINDOWS = list(metrics.WINDOWS.values())


def pages(now) -> list[dict]:
    out = [metrics.dashboard(window=window, now=now) for window in WINDOWS]
    return out + [metrics.failure_groups(start=now - window.span, now=now) for window in WINDOWS]


def from_tasks_alone(now) -> list[dict]:
    """The pages with no rollup at all: every hour read from its tasks."""
    rollups.rebuild()
    try:
        return pages(now)
    finally:
        write_rollups(now)


def mixed_traffic(now):
    """Tasks every 13 minutes for 30 hours (so every hour has several, on both sides of each hour
    boundary), in every state, with failure codes, prompt and image blocks and billed images; a
    task still running 3 hours ago; the current hour's queued and running tasks."""
    projects = [ProjectFactory(), ProjectFactory(), ProjectFactory()]
    outcomes = [
        {"state": State.SUCCEEDED, "delivered": 2},
        {"state": State.FAILED, "error_code": "generation_failed"},
        {"state": State.SUCCEEDED, "delivered": 1, "flagged": [["BUTTOCKS_EXPOSED"]]},
        {"state": State.FAILED, "prompt_categories": ["sexual", "minors"]},
        {"state": State.CANCELLED},
        {"state": State.FAILED, "error_code": "moderation_blocked_image", "flagged": [["FEMALE_BREAST_EXPOSED"]]},
        {"state": State.SUCCEEDED, "delivered": 3},
    ]
    tasks = []
    for i in range(30 * 60 // 13):
        kind = outcomes[i % len(outcomes)]
        timings = stage_timings(50 + 37 * i) if kind["state"] != State.CANCELLED else {}
        created = now - timedelta(minutes=13 * i + 1)
        tasks.append(record_task(projects[i % 3], created_at=created, timings_ms=timings, **kind))
    for i in range(24):  # 9 to 12 days ago: whole days before the last week, read from day rows
        kind = outcomes[i % len(outcomes)]
        created = now - timedelta(days=9, hours=3 * i + 1)
        tasks.append(record_task(projects[i % 3], created_at=created, timings_ms=stage_timings(70 + 11 * i), **kind))
    tasks.append(
        record_task(
            projects[0], state=State.RUNNING, created_at=now - timedelta(hours=3), timings_ms={"queue_wait": 900}
        )
    )
    tasks.append(record_task(projects[1], state=State.QUEUED, created_at=now - timedelta(seconds=20)))
    return tasks


def test_rolled_up_hours_give_the_numbers_the_tasks_give(db):
    now = timezone.now()
    tasks = mixed_traffic(now)
    alone = pages(now)
    assert write_rollups(now) >= 25
    running_hour = rollups.floor_hour(now - timedelta(hours=3))
    assert not RollupHour.objects.get(hour=running_hour).done  # read from its tasks until the task ends
    assert not RollupHour.objects.filter(hour__gte=rollups.floor_hour(now)).exists()  # the current hour: live
    assert TaskRollup.objects.filter(span="hour").exists() and TaskRollup.objects.filter(span="day").exists()
    assert pages(now) == alone
    day = alone[0]
    in_day = Counter(t.state for t in tasks if t.created_at >= now - timedelta(hours=24))
    assert day["summary"]["by_state"] == {str(s): in_day.get(s, 0) for s in metrics.STATES}
    assert sum(row["total"] for row in day["hourly"]["rows"]) == sum(in_day.values())


def test_an_hour_is_rolled_up_once_its_last_task_ends_and_reopened_by_a_retry(db, redis_conn):
    now = timezone.now()
    tasks = mixed_traffic(now)
    write_rollups(now)
    running = next(t for t in tasks if t.state == State.RUNNING)
    services.task_fail(task=running, code="worker_lost", detail="lost")
    write_rollups(now)
    assert RollupHour.objects.get(hour=rollups.floor_hour(running.created_at)).done
    assert pages(now) == from_tasks_alone(now)

    failed = next(t for t in tasks if t.error_code == "generation_failed" and t.created_at < now - timedelta(hours=2))
    services.task_retry(task=failed)  # failed -> queued: its hour is read from the tasks again
    hour = RollupHour.objects.get(hour=rollups.floor_hour(failed.created_at))
    assert not hour.done and not TaskRollup.objects.filter(hour=hour.hour).exists()
    assert pages(now) == from_tasks_alone(now)
    write_rollups(now)
    assert not RollupHour.objects.get(hour=hour.hour).done  # still queued
    services.task_cancel(task=Task.unscoped_objects.get(pk=failed.pk))
    write_rollups(now)
    assert RollupHour.objects.get(hour=hour.hour).done
    assert pages(now) == from_tasks_alone(now)


def test_the_command_back_fills_every_closed_hour(db, capsys):
    now = timezone.now()
    project = ProjectFactory()
    # The oldest task at noon of its day, so the back-fill starts in the middle of that day and
    # writes no rollup for it whatever the time of the run (run in the first hour after midnight,
    # a task at "now - 40 days" made its whole day part of the back-fill).
    oldest = (now - timedelta(days=40)).replace(hour=12, minute=0, second=0, microsecond=0)
    for created_at in (oldest, now - timedelta(days=12), now - timedelta(days=3)):
        record_task(project, state=State.SUCCEEDED, created_at=created_at, delivered=1)
    # Every hour from the oldest task's to the last one closed when the command ran (an hour
    # closes CLOSE_AFTER after it ends, so close to the top of an hour that is one hour fewer).
    closed = rollups.closed_before(timezone.now())
    call_command("rollup_tasks")
    out = capsys.readouterr().out
    assert "hours written" in out and "0 waiting" in out
    first = rollups.floor_hour(oldest)
    assert RollupHour.objects.filter(done=True, hour__lt=closed).count() == (closed - first) / rollups.HOUR
    assert TaskRollup.objects.filter(span="hour").count() == 3
    assert TaskRollup.objects.filter(span="day").count() == 2  # the whole days of the 12 and 3 days old ones
    call_command("rollup_tasks", "--rebuild", "--since", (now - timedelta(days=5)).date().isoformat())
    assert TaskRollup.objects.filter(span="hour").count() == 3


def test_the_scheduler_writes_the_rollups_every_interval(redis_conn, settings):
    from billing.management.commands.run_scheduler import build_scheduler

    settings.ROLLUP_INTERVAL = 120
    jobs = {job.func_name: job for job in build_scheduler(redis_conn).get_jobs()}
    job = jobs["generation.rollups.rollup_job"]
    assert (job.queue_name, job.interval, job.cron) == ("default", 120, None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions (CI runs PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_rollups_stay_exact_while_tasks_end_and_are_retried_concurrently(redis_conn):
    now = timezone.now()
    projects = [ProjectFactory(), ProjectFactory()]
    running = [
        record_task(
            projects[i % 2],
            state=State.RUNNING,
            created_at=now - timedelta(minutes=20 * i + 70),
            timings_ms={"queue_wait": 10.0 * i},
        )  # fmt: skip
        for i in range(36)
    ]
    failed = [
        record_task(
            projects[i % 2],
            state=State.FAILED,
            created_at=now - timedelta(minutes=45 * i + 65),
            error_code="generation_failed",
        )  # fmt: skip
        for i in range(12)
    ]
    errors: list[BaseException] = []
    stop = threading.Event()

    def in_thread(work):
        def run():
            try:
                work()
            except BaseException as exc:  # reported by the test
                errors.append(exc)
            finally:
                connection.close()

        return threading.Thread(target=run)

    def end(tasks):
        for n, task in enumerate(tasks):
            if n % 3 == 0:
                services.task_succeed(task=task, images=[], timings_ms=stage_timings(100 + n), run_info={})
            elif n % 3 == 1:
                services.task_fail(task=task, code="generation_failed", detail="x", timings_ms=stage_timings(n))
            else:
                services.task_cancel(task=task)

    def retry_then_cancel():
        for task in failed:
            retried = services.task_retry(task=task)
            services.task_cancel(task=retried)

    runs = []

    def roll():
        while not stop.is_set():
            runs.append(rollups.rollup_job(now=now))

    roller = in_thread(roll)
    enders = [in_thread(lambda part=running[i::3]: end(part)) for i in range(3)] + [in_thread(retry_then_cancel)]
    roller.start()
    for thread in enders:
        thread.start()
    for thread in enders:
        thread.join(timeout=120)
    stop.set()
    roller.join(timeout=120)
    assert not errors, errors
    assert len(runs) >= 3 and sum(run["written"] for run in runs) > 0  # the runs went on as tasks ended
    assert not Task.unscoped_objects.filter(state__in=[State.QUEUED, State.RUNNING]).exists()
    write_rollups(now)
    assert not RollupHour.objects.filter(done=False, hour__lt=rollups.floor_hour(now)).exists()
    assert pages(now) == from_tasks_alone(now)
