"""One tenant's submits over several web processes: `POST /api/v2/task/async` req/s from one API key
against `--processes` ASGI web processes (as `make run` serves), and how much of that time PostgreSQL
sessions spent waiting for a lock (the tenant row that admission locks), sampled from
pg_stat_activity while the load runs.

    .venv/bin/python bench/submit.py [--processes 1 2] [--clients 32] [--seconds 10] [--runs 3]

No generation worker runs: tasks stay queued (each run starts with none, and a queued limit of
20,000). The Redis database is flushed first; the database is the bench's own (created and migrated
if missing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _live  # noqa: E402
import psycopg  # noqa: E402
from submit_throughput import hammer  # noqa: E402


def sample_waits(database_url: str, stop: threading.Event) -> dict[str, int]:
    """Counts of the database's active sessions by what they wait on, every 20 ms until ``stop``."""
    seen: dict[str, int] = {}
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        while not stop.wait(0.02):
            rows = conn.execute(
                "SELECT coalesce(wait_event_type, 'CPU') FROM pg_stat_activity "
                "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
            for (kind,) in rows:
                seen[kind] = seen.get(kind, 0) + 1
    return seen


def clear_backlog(database_url: str) -> None:
    """The tenant starts each run with no task queued (no worker runs here to start them)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE generation_task SET state = 'cancelled' WHERE state = 'queued'")


def one_run(env, key, args, processes: int) -> tuple[float, float]:
    clear_backlog(args.database_url)
    # A queued limit above what a run submits, as a real one would be (the default is 100).
    with _live.server(env, kind="asgi", workers=processes, TENANT_MAX_QUEUED_TASKS="20000") as (base, _):
        asyncio.run(hammer(base, key, args.clients, 1))  # every process warm
        stop = threading.Event()
        waits: dict[str, int] = {}
        sampler = threading.Thread(target=lambda: waits.update(sample_waits(args.database_url, stop)))
        sampler.start()
        try:
            rate = asyncio.run(hammer(base, key, args.clients, args.seconds))
        finally:
            stop.set()
            sampler.join()
    total = sum(waits.values()) or 1
    return rate, waits.get("Lock", 0) / total


def lock_hold_ms(env: dict[str, str], submits: int) -> tuple[float, float]:
    """Median and p95 ms from taking the tenant's row lock to the commit, for ``submits`` submits made
    one at a time in this process (no contention: the floor of the hold a submit needs)."""
    os.environ.update({**env, "TENANT_MAX_QUEUED_TASKS": "20000", "DJANGO_SETTINGS_MODULE": "imgplatform.settings"})
    import django

    django.setup()
    from django.db import connection
    from django.db.backends.base.base import BaseDatabaseWrapper

    from accounts.authentication import ApiClient
    from accounts.models import ApiKey
    from generation import limits, services

    held: list[float] = []
    locked_at: list[float] = []
    real_lock, real_commit = limits.lock_tenant, BaseDatabaseWrapper.commit

    def lock(pk):
        tenant = real_lock(pk)
        locked_at.append(time.perf_counter())
        return tenant

    def commit(wrapper):
        real_commit(wrapper)
        if locked_at:
            held.append((time.perf_counter() - locked_at.pop()) * 1000)

    limits.lock_tenant, BaseDatabaseWrapper.commit = lock, commit
    key = ApiKey.unscoped_objects.select_related("tenant", "project").order_by("pk").last()
    client = ApiClient(api_key=key, tenant=key.tenant, project=key.project)
    for i in range(submits):
        services.task_submit(client=client, data=services.TaskInput(text_data=f"a red door {i}"))
    connection.close()
    return statistics.median(held), statistics.quantiles(held, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    _live.add_store_arguments(parser)
    args = parser.parse_args()
    env = _live.prepare_flushed(args)
    key = _live.api_key(env)  # one tenant, one key: every submit locks the same tenant row
    figures: dict[int, list[tuple[float, float]]] = {n: [] for n in args.processes}
    for run in range(args.runs):
        for n in args.processes:
            figures[n].append(one_run(env, key, args, n))
            rate, locked = figures[n][-1]
            print(f"run {run + 1}: {n} web processes {rate:7.1f} submits/s, lock waits {locked:.0%}", flush=True)
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; one tenant, {args.clients} clients")
    clear_backlog(args.database_url)
    median, p95 = lock_hold_ms(env, 200)
    print(f"tenant row lock held per submit, one at a time: {median:.2f} ms median, {p95:.2f} ms p95")
    for n, rows in figures.items():
        rate = statistics.median(r for r, _ in rows)
        locked = statistics.median(w for _, w in rows)
        print(
            f"{n} web processes: {rate:.1f} submits/s (median of {args.runs}), "
            f"lock waits {locked:.0%} of active sessions"
        )


if __name__ == "__main__":
    main()
