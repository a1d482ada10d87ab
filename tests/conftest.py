from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import ProjectFactory, make_key

ROOT = Path(__file__).resolve().parent.parent


def _test_redis_url() -> str:
    """Tests use their own Redis database and flush it; never the one `make run` uses. Under
    pytest-xdist each worker process takes its own: gw0 the given one (15 by default), gw1 the one
    below it, and so on, as the database gets a suffix per worker."""
    url = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    db = int(url.path.strip("/") or 0) - worker
    if db < 0:
        raise RuntimeError(f"TEST_REDIS_URL leaves no Redis database for xdist worker {worker}")
    return urlunsplit(url._replace(path=f"/{db}"))


TEST_REDIS_URL = _test_redis_url()
if "PYTEST_XDIST_WORKER" in os.environ:
    # Worker processes share the cores: one thread each for torch and onnxruntime here and in the
    # servers and workers the tests start (they inherit the environment), instead of every
    # process claiming every core.
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def queues_for(url: str) -> dict:
    return {name: {**config, "URL": url} for name, config in settings.RQ_QUEUES.items()}


# Every process a test starts (servers, workers, redis-server, and whatever they fork, such as rq's
# scheduler) inherits this mark from the test process that started it; the session's last teardown
# finds the ones still running by it in /proc.
PROCESS_MARK = "IMAGEGEN_TEST_OWNER"
os.environ[PROCESS_MARK] = str(os.getpid())


def processes_started_here() -> list[tuple[int, str]]:
    """(pid, command line) of every live process carrying this test process's mark."""
    mark = f"{PROCESS_MARK}={os.getpid()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.fixture(scope="session", autouse=True)
def _no_process_left_behind():
    """Fails the session (an error at its last teardown) when a process a test started is still
    running at the end; those are killed, by their id, so the failure leaves nothing behind."""
    yield
    if not Path("/proc").is_dir():
        return
    deadline = time.monotonic() + 10  # processes told to stop a moment ago get time to go
    while (left := processes_started_here()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid, _ in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes started by the tests were still running when they ended (now killed): {left}"


@pytest.fixture(scope="session", autouse=True)
def _sync_pool_closed_before_the_test_database_goes(django_db_setup):
    """The async views' pool threads (imgplatform.offloop) keep their connections between calls;
    they close them when the pool shuts down, here, before the test database is dropped."""
    yield
    from imgplatform import offloop

    pool, offloop._pool = offloop._pool, None
    if pool is not None:
        pool.shutdown()


def pytest_sessionfinish(session, exitstatus):
    """Fails the run when one of its test databases is left behind on PostgreSQL (pytest-django
    only warns when it cannot drop one): checked once, by the process that ran (or handed out)
    every test, for this run's names only (test_<name>, or test_<name>_gwN per xdist worker), so a
    run beside it keeps its own."""
    if hasattr(session.config, "workerinput") or not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    import psycopg

    db = settings.DATABASES["default"]
    base = "test_" + db["NAME"].removeprefix("test_").split("_gw")[0]
    workers = getattr(session.config.option, "numprocesses", None) or 0
    ours = [f"{base}_gw{n}" for n in range(workers)] if workers else [base]
    server = {"host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432, "user": db.get("USER") or None}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [ours])
        left = [row[0] for row in rows]
        for name in left:  # dropped, so the failure leaves nothing behind
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if left:
        print(f"\ntest databases were left behind (now dropped): {left}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def _test_redis(tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    storages = {
        **settings.STORAGES,
        "images": {**settings.STORAGES["images"], "OPTIONS": {"location": str(media), "allow_overwrite": True}},
    }
    with override_settings(
        REDIS_URL=TEST_REDIS_URL, RQ_QUEUES=queues_for(TEST_REDIS_URL), STORAGES=storages, MEDIA_ROOT=str(media)
    ):  # Django's setting_changed receivers reset the storage handler
        yield


@pytest.fixture(autouse=True)
def redis_conn():
    conn = redis.Redis.from_url(TEST_REDIS_URL)
    conn.flushdb()
    yield conn
    conn.close()


@pytest.fixture
def redis_down(settings):
    """Point every queue at a port where no Redis listens."""
    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")


@pytest.fixture
def unwritable_dir(tmp_path) -> str:
    """A storage location that cannot be written: a file where a directory should be."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    return str(blocker)


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def api_key(project) -> str:
    return make_key(project)


@pytest.fixture
def api(api_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


SEED_REQUEST = {
    "options": {"neg_text": "grass, pool", "num_images": 3},
    "text_data": "modern architecture house",
    "callback_url": "https://example.com/hooks/images",
}


def submit(api, body=SEED_REQUEST) -> dict:
    response = api.post("/api/v2/task/async", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def poll(api, task_id) -> dict:
    response = api.get(f"/api/v2/task/{task_id}")
    assert response.status_code == 200
    return response.json()


def images_of(task: dict) -> list[dict]:
    return task["status"][0]["response"]["output"][0]["images"]


@pytest.fixture
def run_worker():
    """Run a real generation worker in burst mode, in this process (the model loads once per test
    session, as in a worker process). Needs committed rows: use with ``transactional_db``."""
    import django_rq

    from generation.worker import GenerationWorker, load_engine

    def run(model: str = "tiny") -> None:
        load_engine(model, warm_up=False)
        queue = django_rq.get_queue(settings.MODEL_REGISTRY[model].queue)
        GenerationWorker([queue], connection=queue.connection).work(burst=True)

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a worker or server process that shares this test session's database,
    Redis and media folder."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db.get('USER') or ''}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": TEST_REDIS_URL,
        "MEDIA_ROOT": str(settings.STORAGES["images"]["OPTIONS"]["location"]),
        "SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


@pytest.fixture
def start_process(tmp_path):
    """Start real `manage.py <command>` processes that share this test's database, Redis and media;
    each start waits until rq says "Listening on". All are stopped when the test ends."""
    procs = []

    def start(command: list[str], name: str, **env: str) -> subprocess.Popen:
        log = tmp_path / f"{name}-{len(procs)}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=subprocess_env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a group of its own, with what it forks (rq's scheduler)
            )
        procs.append(proc)
        proc.log_path = log
        deadline = time.monotonic() + 60
        while "Listening on" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                _kill_group(proc.pid)
                pytest.fail(f"{name} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the test did to it (a SIGKILL leaves rq's forked scheduler running), nothing of
        # the group outlives the test.
        _kill_group(proc.pid)
        proc.wait(timeout=10)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def start_worker(transactional_db, start_process):
    """Start real `manage.py run_worker` processes (not burst) for the duration of a test."""

    def start(**env: str) -> subprocess.Popen:
        return start_process(["run_worker", "--no-warm-up"], "worker", **env)

    return start


@pytest.fixture
def worker_process(start_worker):
    return start_worker()


def problem(response) -> dict:
    assert response["Content-Type"].startswith("application/problem+json"), response.content
    return json.loads(response.content)


def at_once(calls, timeout: float = 60) -> list:
    """Run each of ``calls`` in a thread of its own, released together by a barrier; return what
    each returned, or the exception it raised (in no particular order). Every thread closes its
    database connections."""
    import threading

    from django.db import connections

    barrier, results = threading.Barrier(len(calls)), []

    def run(call):
        try:
            barrier.wait()
            results.append(call())
        except Exception as exc:  # noqa: BLE001 - the caller asserts on it
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,), daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a concurrent call did not finish"
    return results


def server_args(*, wsgi: bool = False, threads: int = 4) -> list[str]:
    """gunicorn's application and worker class: ASGI (uvicorn worker) unless ``wsgi``."""
    if wsgi:
        return [
            "imgplatform.wsgi:application",
            "-c",
            "scripts/gunicorn.conf.py",
            "-k",
            "gthread",
            "--threads",
            str(threads),
        ]
    return ["imgplatform.asgi:application", "-c", "scripts/gunicorn.conf.py", "-k", "uvicorn_worker.UvicornWorker"]


@contextlib.contextmanager
def gunicorn(log_path: Path, *, threads: int = 4, args: tuple[str, ...] = (), wsgi: bool = False, **env: str):
    """gunicorn (one uvicorn worker serving ``imgplatform.asgi`` as `make run` does, or with
    ``wsgi=True`` the former gthread worker with ``threads``; `make run`'s config file) on a free
    loopback port, sharing this test session's database, Redis and media. Yields ``base`` (its URL), ``proc`` and
    ``log_path`` once /healthz answers; the process is stopped on the way out."""
    import urllib.error
    import urllib.request

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *server_args(wsgi=wsgi, threads=threads)]
            + ["--bind", f"127.0.0.1:{port}", "--workers", "1", *args],
            cwd=ROOT,
            env=subprocess_env(PUBLIC_BASE_URL=base, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield types.SimpleNamespace(base=base, proc=proc, log_path=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
