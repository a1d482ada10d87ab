"""Shared set-up of the serving benchmarks: a throwaway PostgreSQL database (created if missing,
migrated), tenants with limits out of the way, and gunicorn on loopback as `make run` starts it
(ASGI, uvicorn worker) or as it did before (WSGI, gthread). Not a benchmark itself."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LIMITS = {
    "RATE_LIMIT_PER_MINUTE": "100000000",
    "TENANT_MAX_QUEUED_TASKS": "100000000",
    "TENANT_MAX_SYNC_WAITS": "100000",
}


def add_store_arguments(parser) -> None:
    """``--database-url`` and ``--redis`` of the serving benchmarks (their own database and Redis)."""
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/imagegen_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")


def prepare_flushed(args) -> dict[str, str]:
    """:func:`prepare` for ``args`` of :func:`add_store_arguments`, the Redis database emptied first."""
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    return prepare(args.database_url, args.redis)


def prepare(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment for manage.py and the servers; the database exists and is migrated."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.strip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, **LIMITS, "LOG_LEVEL": "WARNING"}
    env.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    return env


def api_key(env: dict[str, str]) -> str:
    out = subprocess.run(
        [PY, "manage.py", "demo_tenant", "--json"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)["api_key"]


def tenant_keys(env: dict[str, str], count: int) -> list[str]:
    """API keys of ``count`` new tenants (the limits above apply to each)."""
    keys = []
    for _ in range(count):
        out = subprocess.run(
            [PY, "manage.py", "create_tenant", f"bench {time.time_ns()}", "--json"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        keys.append(json.loads(out)["api_key"])
    return keys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(env: dict[str, str], *, kind: str, threads: int = 8, workers: int = 1, **extra: str):
    """gunicorn with ``workers`` processes: ``kind`` "asgi" (uvicorn worker) or "gthread" (WSGI)."""
    port = free_port()
    app = ["imgplatform.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
    if kind == "gthread":
        app = ["imgplatform.wsgi:application", "-k", "gthread", "--threads", str(threads)]
    proc = subprocess.Popen(
        [PY, "-m", "gunicorn", *app, "-c", "scripts/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(workers), "--backlog", "4096", "--graceful-timeout", "2"],
        cwd=ROOT,
        env={**env, **extra},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{kind} server did not start") from None
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def worker_pid(master_pid: int) -> int:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return int(children[0])


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
