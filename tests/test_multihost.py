"""Two "hosts" that share only PostgreSQL, Redis and an object store (docs/deployment.md).

Each host is its own set of process groups (`scripts/serve web` and `scripts/serve worker`) with a
MEDIA_ROOT, VAR_DIR and METRICS_DIR of its own (temporary folders: no local disk is shared); both
use this test's database, its Redis and one moto S3 server over HTTP (IMAGE_STORAGE=s3). No
`scheduler` or `default` role runs: the generation workers themselves take back a run whose worker
died (generation/reconcile.py, LostRunSweeper). Tasks go in through host A's web and are polled
through host B's; host A's worker is SIGKILLed while it runs one of them. Host B must finish
everything: every task succeeds, is billed once for its images, every link answers with a PNG,
every image is in the bucket and none on a local disk."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from rq.job import Job

from billing.models import UsageRecord
from billing.reconcile import reconcile as reconcile_billing
from generation import queues
from generation.models import Image, Task
from tests.conftest import ROOT, free_port, images_of
from tests.roles import Roles, http_get

pytestmark = [pytest.mark.slow, pytest.mark.long, pytest.mark.django_db(transaction=True)]

TASKS = 10
IMAGES = 3  # per task
BUCKET = "imagegen-multihost"
PNG = b"\x89PNG\r\n\x1a\n"
# Slow steps (0.1 s each) so a task is mid-run when its worker is killed: about 1-2 s an image.
MODELS = {"tiny": {"steps": 8, "step_delay": 0.1}}
LEASE = 3.0  # a killed run's task is taken back 3 s after its last renewal (plus up to a sweep interval)
DEADLINE = 150  # seconds for every task to end once the worker is killed (about 40 s measured)


class MotoServer:
    """moto's standalone S3 server on a loopback port, in a process group of its own."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if http_get(f"{self.url}/moto-api/", timeout=2)[0] == 200:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"moto's server did not start:\n{self.log_path.read_text()}")
            time.sleep(0.2)

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4", retries={"max_attempts": 2}),
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def moto_s3(tmp_path):
    server = MotoServer(tmp_path / "moto.log")
    server.start()
    try:
        server.client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture
def hosts(tmp_path):
    started = Roles(tmp_path)
    yield started
    started.stop_all()


def host_env(tmp_path: Path, name: str, s3: MotoServer) -> dict[str, str]:
    """What one host's roles read: shared services by URL, local folders of its own."""
    local = tmp_path / name
    for sub in ("media", "var", "prometheus"):
        (local / sub).mkdir(parents=True, exist_ok=True)
    return {
        "MEDIA_ROOT": str(local / "media"),
        "VAR_DIR": str(local / "var"),
        "METRICS_DIR": str(local / "prometheus"),
        "IMAGE_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ENDPOINT_URL": s3.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "GENERATION_MODELS": json.dumps(MODELS),
        "WORKER_MODEL": "tiny",
        "GENERATION_LEASE_SECONDS": str(LEASE),
        "RECONCILE_INTERVAL": "2",  # how often each worker looks for runs whose lease ran out
        "WEB_CONCURRENCY": "1",
        "OMP_NUM_THREADS": "1",  # two workers and two webs on two cores
    }


def api(base: str, key: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def pid_of(worker_name: str) -> int | None:
    """The process of a run, from the row's worker name (``host:pid``)."""
    last = worker_name.rsplit(":", 1)[-1]
    return int(last) if last.isdigit() else None


def describe(ids: list[str], hosts: Roles) -> str:
    """Task rows, rq's registries and the roles' last log lines, for a timeout."""
    lines = [
        f"{t['id']} {t['state']} attempts={t['attempts']} worker={t['worker_name']} lease={t['lease_expires_at']} "
        f"job={t['job_id']} error={t['error_code']}"
        for t in Task.unscoped_objects.filter(pk__in=ids).values(
            "id", "state", "attempts", "worker_name", "lease_expires_at", "job_id", "error_code"
        )
    ]
    queue = queues.generation_queue("tiny")
    for label, job_ids in (
        ("queued", queue.get_job_ids()),
        ("started", queue.started_job_registry.get_job_ids()),
        ("scheduled", queue.scheduled_job_registry.get_job_ids()),
        ("failed", queue.failed_job_registry.get_job_ids()),
    ):
        lines.append(f"rq {queue.name} {label}: {job_ids}")
    for job_id in queue.failed_job_registry.get_job_ids()[:3]:
        job = Job.fetch(job_id, connection=queue.connection)
        lines.append(f"failed job {job_id}: {(job.latest_result().exc_string if job.latest_result() else '')[-800:]}")
    for proc in hosts.procs:
        tail = proc.log_path.read_text().splitlines()[-15:]
        lines.append(f"--- {proc.log_path.name} (pid {proc.pid}, exit {proc.poll()}):\n" + "\n".join(tail))
    return "\n".join(lines)


def test_two_hosts_share_only_the_database_redis_and_s3_and_survive_a_sigkilled_worker(
    hosts, moto_s3, api_key, tmp_path
):
    env_a, env_b = host_env(tmp_path, "host-a", moto_s3), host_env(tmp_path, "host-b", moto_s3)
    port_a, port_b = free_port(), free_port()
    web_a = f"http://127.0.0.1:{port_a}"
    web_b = f"http://127.0.0.1:{port_b}"
    hosts.start("web", env={**env_a, "PORT": str(port_a)})
    worker_a = hosts.start("worker", "--no-warm-up", env=env_a)
    hosts.start("web", env={**env_b, "PORT": str(port_b)})
    worker_b = hosts.start("worker", "--no-warm-up", env=env_b)

    ids = [
        api(
            web_a,
            api_key,
            "/api/v2/task/async",
            {"text_data": f"a lighthouse, take {i}", "options": {"num_images": IMAGES}},
        )["id"]
        for i in range(TASKS)
    ]

    # SIGKILL host A's worker (the rq worker runs its jobs in its own process) mid-run: once a task
    # of it has been running for a moment.
    def running_on_a():
        return (
            Task.unscoped_objects.filter(pk__in=ids, state="running", worker_name__endswith=f":{worker_a.pid}")
            .values_list("id", "attempts")
            .first()
        )

    deadline = time.monotonic() + 90
    while (victim := running_on_a()) is None:
        assert worker_a.poll() is None, worker_a.log_path.read_text()
        assert time.monotonic() < deadline, "no task started on host A's worker:\n" + describe(ids, hosts)
        time.sleep(0.1)
    time.sleep(0.5)  # a few steps in
    os.kill(worker_a.pid, signal.SIGKILL)  # only the worker: rq's scheduler it forked lives on, as after an OOM kill
    assert worker_a.wait(timeout=10) == -signal.SIGKILL
    killed_id, killed_attempt = victim
    killed = Task.unscoped_objects.get(pk=killed_id)
    assert (killed.state, killed.attempts) == ("running", killed_attempt), "the kill did not land mid-run"

    # Everything ends, polled through host B's web.
    killed_at = time.monotonic()
    deadline, taken_back = killed_at + DEADLINE, None
    while True:
        states = {task_id: api(web_b, api_key, f"/api/v2/task/{task_id}")["state"] for task_id in ids}
        if taken_back is None and Task.unscoped_objects.filter(pk=killed_id, attempts__gt=killed_attempt).exists():
            taken_back = time.monotonic() - killed_at  # (within a poll's time)
        if all(state in ("succeeded", "failed", "cancelled") for state in states.values()):
            print(f"the killed run was taken back {taken_back} s after the kill, all ended after", end=" ")
            print(f"{time.monotonic() - killed_at:.1f} s")
            break
        if time.monotonic() > deadline:
            pytest.fail(f"tasks did not end within {DEADLINE} s: {Counter(states.values())}\n{describe(ids, hosts)}")
        time.sleep(1)
    assert Counter(states.values()) == Counter({"succeeded": TASKS}), describe(ids, hosts)
    assert worker_b.poll() is None

    # The killed task ran again, on host B; no live run was taken back (one run per other task,
    # except those host A had finished or was running when killed).
    killed = Task.unscoped_objects.get(pk=killed_id)
    assert killed.attempts == killed_attempt + 1 and pid_of(killed.worker_name) == worker_b.pid
    assert f"task {killed_id}: worker" in worker_b.log_path.read_text()  # its sweep took the run back
    tasks = {str(t.pk): t for t in Task.unscoped_objects.filter(pk__in=ids)}
    assert all(t.attempts == 1 for pk, t in tasks.items() if pk != str(killed_id))

    # Billed exactly once for its images: one ledger row per task, the books agree.
    ledger = Counter(str(t) for t in UsageRecord.unscoped_objects.values_list("task_id", flat=True))
    assert ledger == Counter(ids)
    for record in UsageRecord.unscoped_objects.filter(task_id__in=ids):
        assert record.images == IMAGES and record.amount == tasks[str(record.task_id)].charge
    assert reconcile_billing() == []

    # Every link answers with a PNG, read through either host's web (presigned S3 links), and every
    # object is in the bucket (read directly too); no image on either host's disk.
    s3 = moto_s3.client()
    paths = set()
    for task_id in ids:
        for base in (web_b, web_a):
            task = api(base, api_key, f"/api/v2/task/{task_id}")
            assert task["state"] == "succeeded" and len(images_of(task)) == IMAGES
            for image in images_of(task):
                assert image["url"].startswith(moto_s3.url + "/")
                status, body = http_get(image["url"])
                assert status == 200 and body.startswith(PNG), (status, body[:200])
                paths.add(image["path"])
    assert len(paths) == TASKS * IMAGES
    assert set(Image.unscoped_objects.filter(task_id__in=ids).values_list("storage_path", flat=True)) == paths
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="image_generation/")
    assert {obj["Key"] for obj in listed.get("Contents", [])} == paths
    for path in paths:
        assert s3.get_object(Bucket=BUCKET, Key=path)["Body"].read().startswith(PNG)
    for env in (env_a, env_b):
        assert not [p for p in Path(env["MEDIA_ROOT"]).rglob("*") if p.is_file()]
