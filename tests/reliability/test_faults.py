"""Fault tests with real processes: generation workers SIGKILLed mid-generation, and a Redis of
the test's own that is stopped, frozen and started again under a load of submissions.

What must hold, whatever happens: every task ends (succeeded, or failed with a clear code), none
stays queued or running, none is billed twice, each sends one callback for its one ending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from billing.models import BillingAccount, CreditEntry, UsageRecord
from billing.reconcile import reconcile as reconcile_billing
from callbacks.models import CallbackDelivery
from generation.models import Task
from generation.reconcile import reconcile
from tests.conftest import ROOT, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.long, pytest.mark.django_db(transaction=True)]

UNFINISHED = (Task.State.QUEUED, Task.State.RUNNING)


def wait_for(predicate, *, timeout: float, what: str, every: float = 0.05, between=None, describe=None):
    """``describe()``, when given, says what was left on a timeout (the assertion's message)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}" + (f": {describe()}" if describe else "")
        if between:
            between()
        time.sleep(every)


class WorkerPool:
    """Real `manage.py run_worker` processes, started without waiting for them (a replacement
    boots while the others work) and killed with SIGKILL: no cleanup, no goodbye to Redis."""

    def __init__(self, tmp_path, env: dict[str, str]):
        self.tmp_path, self.env = tmp_path, env
        self.procs: dict[int, subprocess.Popen] = {}
        self.started = 0

    def spawn(self) -> None:
        self.started += 1
        with open(self.tmp_path / f"worker-{self.started}.log", "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "manage.py", "run_worker", "--no-warm-up"],
                cwd=ROOT,
                env=subprocess_env(**self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its group holds the scheduler rq forks: a kill takes both
            )
        self.procs[proc.pid] = proc

    def kill(self, pid: int) -> None:
        proc = self.procs.pop(pid)
        os.killpg(pid, signal.SIGKILL)  # the worker and the scheduler it forked, as a container's OOM kill would
        proc.wait(timeout=10)

    def close(self) -> None:
        for pid, proc in self.procs.items():
            os.killpg(pid, signal.SIGKILL)
            proc.wait(timeout=10)


def unfinished(task_ids, pool) -> str:
    """The tasks not ended yet, their jobs in Redis and the pool's workers: what a timeout shows."""
    from generation import queues

    queue = queues.generation_queue("tiny")
    rows = Task.unscoped_objects.filter(pk__in=task_ids, state__in=UNFINISHED)
    fields = ("id", "state", "attempts", "worker_name", "job_id", "lease_expires_at")
    scheduled = queue.scheduled_job_registry.get_job_ids()
    return (
        f"tasks {list(rows.values_list(*fields))}; queue {queue.name} {queue.get_job_ids()}; "
        f"started {queue.started_job_registry.get_job_ids()}; scheduled {scheduled}; workers {sorted(pool.procs)}"
    )


@pytest.fixture
def worker_pool(tmp_path):
    pools = []

    def make(**env: str) -> WorkerPool:
        pools.append(WorkerPool(tmp_path, env))
        return pools[-1]

    yield make
    for pool in pools:
        pool.close()


KILLS = 20
TASKS = 15  # killed on sight: first runs, then second runs, so some end worker_lost and the rest succeed
LONG_TASKS = 1  # never killed: six images run longer than the lease, which only the heartbeat keeps alive
LEASE = 2.0  # seconds; the workers renew every third of it
MAX_ATTEMPTS = 2


def test_workers_sigkilled_mid_generation_20_times_lose_nothing_and_bill_nothing_twice(
    prepaid_api, prepaid_project, receiver, callback_settings, run_callback_worker, worker_pool, settings
):
    settings.GENERATION_MAX_ATTEMPTS = MAX_ATTEMPTS  # the reconciler runs here, in the test

    def submit(text: str, num_images: int) -> str:
        body = {"text_data": text, "options": {"num_images": num_images}, "callback_url": receiver.url}
        response = prepaid_api.post("/api/v2/task/async", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()["id"]

    long_ids = [submit(f"a long lighthouse {i}", 6) for i in range(LONG_TASKS)]
    ids = [submit(f"a lighthouse, take {i}", 1) for i in range(TASKS)]
    everything = long_ids + ids

    # Three workers at a time, 8 steps per image: an image takes about half a second, six a few.
    pool = worker_pool(
        GENERATION_LEASE_SECONDS=str(LEASE),
        GENERATION_MODELS=json.dumps({"tiny": {"steps": 8}}),
        LOG_LEVEL="WARNING",
        OMP_NUM_THREADS="1",  # three workers on two cores: no thread oversubscription
    )
    for _ in range(3):
        pool.spawn()

    confirmed: Counter[str] = Counter()  # task -> runs killed while that run was in progress
    kills_sent = 0

    def kill_running_workers() -> None:
        nonlocal kills_sent
        reconcile()
        running = Task.unscoped_objects.filter(pk__in=ids, state=Task.State.RUNNING)
        # A worker's job may hold two tasks at once (one post-processed while it generates the
        # next: GENERATION_OVERLAP_STAGES): the one holding the long task is never killed.
        long_held = Task.unscoped_objects.filter(pk__in=long_ids, state=Task.State.RUNNING)
        spared = {int(name.rsplit(":", 1)[1]) for name in long_held.values_list("worker_name", flat=True)}
        held: dict[int, list[tuple]] = {}
        for task_id, worker_name, attempt in running.values_list("id", "worker_name", "attempts"):
            held.setdefault(int(worker_name.rsplit(":", 1)[1]), []).append((task_id, worker_name, attempt))
        for pid, runs in held.items():
            if pid not in pool.procs or pid in spared or kills_sent >= KILLS:
                continue
            pool.kill(pid)
            kills_sent += 1
            pool.spawn()
            # The killed process cannot move on: a row that still shows its run died mid-run.
            for task_id, worker_name, attempt in runs:
                if Task.unscoped_objects.filter(
                    pk=task_id, state=Task.State.RUNNING, attempts=attempt, worker_name=worker_name
                ).exists():
                    confirmed[str(task_id)] += 1

    # Generous deadlines: every kill costs a worker start (torch, the pipeline), on a shared machine.
    wait_for(lambda: kills_sent >= KILLS, timeout=600, what=f"{KILLS} kills", every=0.1, between=kill_running_workers)
    assert sum(confirmed.values()) >= KILLS - 2, (kills_sent, confirmed)  # (almost) every kill hit a run
    wait_for(
        lambda: not Task.unscoped_objects.filter(pk__in=everything, state__in=UNFINISHED).exists(),
        timeout=300,
        what="every task to end",
        every=0.2,
        between=reconcile,
        describe=lambda: unfinished(everything, pool),
    )
    run_callback_worker(timeout=60)

    tasks = {str(t.pk): t for t in Task.unscoped_objects.filter(pk__in=everything)}
    states = Counter((t.state, t.error_code) for t in tasks.values())
    assert set(states) <= {("succeeded", ""), ("failed", "worker_lost")}, states
    assert states[("succeeded", "")] and states[("failed", "worker_lost")], states  # both endings occurred

    # A long run that kept renewing was never taken back, although it outlived its lease.
    for pk in long_ids:
        task = tasks[pk]
        assert (task.state, task.attempts) == ("succeeded", 1), (task.state, task.attempts)
        assert (task.finished_at - task.started_at).total_seconds() > LEASE
    # Every lost run is a run we killed: no live (renewing) run was ever taken back.
    lost_runs = {pk: t.attempts - (t.state == "succeeded") for pk, t in tasks.items()}
    assert all(lost_runs[pk] >= n for pk, n in confirmed.items())
    # A kill loses at most two runs: the task post-processed and the one its job generates meanwhile.
    assert sum(confirmed.values()) <= sum(lost_runs.values()) <= 2 * kills_sent
    for task in tasks.values():
        if task.state == "failed":
            assert task.attempts == MAX_ATTEMPTS and task.charge == 0

    # Billed once per succeeded task, never for a lost one; every hold settled exactly once.
    succeeded = {pk for pk, t in tasks.items() if t.state == "succeeded"}
    assert set(map(str, UsageRecord.unscoped_objects.values_list("task_id", flat=True))) == succeeded
    holds = Counter(str(t) for t in CreditEntry.unscoped_objects.filter(kind="hold").values_list("task_id", flat=True))
    captures = Counter(
        str(t) for t in CreditEntry.unscoped_objects.filter(kind="capture").values_list("task_id", flat=True)
    )
    assert holds == Counter(everything) and captures == Counter(succeeded)
    account = BillingAccount.unscoped_objects.get(tenant=prepaid_project.tenant)
    assert account.credit_held == 0
    assert reconcile_billing() == []  # ledger, rollups and credit agree

    # One callback per task, for how it ended, each sent once.
    secret = prepaid_api.get("/api/v2/webhook-secret").json()["secret"]
    bodies = [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests]
    assert Counter(b["id"] for b in bodies) == Counter(everything)
    assert {b["id"]: b["state"] for b in bodies} == {pk: t.state for pk, t in tasks.items()}
    assert CallbackDelivery.unscoped_objects.filter(task_id__in=everything, status="succeeded").count() == len(
        everything
    )


def submitter(api_key: str, body: dict, log: list, stop: threading.Event) -> threading.Thread:
    """Submits in a loop until ``stop``; logs (start, end, status, task id) of every answer."""

    def run():
        from django.db import connections

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key}")
        try:
            while not stop.is_set():
                started = time.monotonic()
                response = client.post("/api/v2/task/async", body, format="json")
                data = json.loads(response.content)
                log.append((started, time.monotonic(), response.status_code, data.get("id") or data.get("task_id")))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_redis_stopped_during_a_load_of_submissions_gives_only_503s_then_recovers(
    api, api_key, own_redis, run_worker, settings
):
    settings.RECONCILE_GRACE_SECONDS = 0
    log: list[tuple[float, float, int, str]] = []
    stop = threading.Event()
    threads = [submitter(api_key, {"text_data": "a red door"}, log, stop) for _ in range(2)]

    def count(status: int, since: float = 0.0) -> int:
        return sum(1 for started, _, code, _ in list(log) if code == status and started >= since)

    wait_for(lambda: count(200) >= 3, timeout=60, what="accepted submissions")
    own_redis.stop()  # gone, and the queued jobs with it
    down_at = time.monotonic()
    wait_for(lambda: count(503, down_at) >= 6, timeout=60, what="503s")
    accepted_before = [t for _, _, code, t in log if code == 200]
    assert api.get(f"/api/v2/task/{accepted_before[0]}").json()["state"] == "queued"  # polling works
    assert api.get("/api/v2/tasks").status_code == 200
    own_redis.start()  # back, empty
    up_at = time.monotonic()
    wait_for(lambda: count(200, up_at) >= 3, timeout=60, what="accepted submissions after the restart")
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    assert {code for _, _, code, _ in log} <= {200, 503}, Counter(code for _, _, code, _ in log)
    assert all(code == 200 for started, _, code, _ in log if started >= up_at)
    assert all(end - started < 3 for started, end, code, _ in log if code == 503)  # failed fast
    accepted = [t for _, _, code, t in log if code == 200]
    refused = [t for _, _, code, t in log if code == 503]
    for task in Task.unscoped_objects.filter(pk__in=refused):  # ended at once, nothing charged
        assert (task.state, task.error_code, task.charge) == ("failed", "service_unavailable", 0)

    report = reconcile()  # the jobs Redis lost when it went away come back
    assert report.requeued and set(report.requeued) <= set(accepted)
    run_worker()
    states = Counter(Task.unscoped_objects.filter(pk__in=accepted).values_list("state", flat=True))
    assert states == Counter({"succeeded": len(accepted)}), states
    assert not Task.unscoped_objects.filter(state__in=UNFINISHED).exists()


def test_a_hung_redis_fails_submissions_within_the_timeout_not_forever(api, own_redis, client, settings):
    settings.REDIS_SOCKET_TIMEOUT = 1.0
    own_redis.freeze()  # accepts connections, never answers
    answers: list = []

    def post():
        from django.db import connections

        try:
            started = time.monotonic()
            response = api.post("/api/v2/task/async", {"text_data": "a red door"}, format="json")
            answers.append((response.status_code, time.monotonic() - started))
        finally:
            connections.close_all()

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    thread.join(timeout=15)  # without read timeouts this request would never end
    assert answers, "the submission hung on a frozen Redis"
    status, seconds = answers[0]
    # One read timeout (the rate limiter's, which lets the request through), not a second one
    # for the enqueue: the submit knows Redis did not answer.
    assert status == 503 and seconds < 1.0 + 0.9, answers
    started = time.monotonic()
    assert client.get("/readyz").status_code == 503 and time.monotonic() - started < 3
    own_redis.thaw()
    assert api.post("/api/v2/task/async", {"text_data": "a red door"}, format="json").status_code == 200


def test_redis_flushed_with_tasks_queued_the_reconciler_brings_all_back_to_a_worker_process(
    prepaid_api, start_worker, redis_conn, settings
):
    settings.RECONCILE_GRACE_SECONDS = 0
    ids = []
    for i in range(3):
        response = prepaid_api.post("/api/v2/task/async", {"text_data": f"a red door {i}"}, format="json")
        assert response.status_code == 200
        ids.append(response.json()["id"])
    redis_conn.flushdb()  # every queued job is gone
    start_worker()  # listening on an empty queue: nothing to do
    assert set(Task.unscoped_objects.filter(pk__in=ids).values_list("state", flat=True)) == {"queued"}
    assert sorted(reconcile().requeued) == sorted(ids)
    wait_for(
        lambda: set(Task.unscoped_objects.filter(pk__in=ids).values_list("state", flat=True)) == {"succeeded"},
        timeout=120,
        what="the worker to run the re-enqueued tasks",
        every=0.2,
    )
    assert UsageRecord.unscoped_objects.filter(task_id__in=ids).count() == 3
    assert reconcile().counts() == {"recovered": 0, "worker_lost": 0, "requeued": 0}
