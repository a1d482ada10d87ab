"""Operator pages and API reads at scale: N synthetic tasks of one tenant over 90 days, loaded with
SQL into a database of their own, then every API read and every operator page timed in-process
with Django's test client.

    .venv/bin/python bench/scale.py [--tasks 1000000] [--runs 10] [--explain]
        [--database-url postgres://postgres@127.0.0.1:5432/imagegen_scale]

The database is created and migrated if missing. Loading is one INSERT ... SELECT per table over
generate_series (bench/_scale_data.py): tasks in every state with the error codes, moderation
reports, stage timings and images the worker writes, the ledger rows, tier lines and rollups that
billing.services.task_bill writes for each succeeded task, invoices for the months that ended, and
a few other tenants (5% of the tasks). A database already loaded with the same N is re-used: the
time since its load is topped up at the same rate (so the last 24 hours and the current hour hold
tasks, as on a live service) and the rollups are brought up to date (`manage.py rollup_tasks`,
where the code has it), as the scheduler would. Then ANALYZE, and each page is requested --runs
times after one warm-up request: median and p95 in ms, and the number of SQL queries.
``--explain`` prints EXPLAIN (ANALYZE, BUFFERS) of every query of a page that took over 20 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/imagegen_scale"
SLOW_MS = 20.0


def configure(database_url: str) -> None:
    """The environment of the Django process this script becomes; the database exists."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.strip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["RATE_LIMIT_PER_MINUTE"] = "100000000"
    os.environ["DB_CONN_MAX_AGE"] = "600"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgplatform.settings")
    import django

    django.setup()


def machine() -> str:
    from django.db import connection

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('shared_buffers'),"
                       " current_setting('work_mem'), current_setting('random_page_cost'),"
                       " pg_size_pretty(pg_database_size(current_database()))")  # fmt: skip
        version, buffers, work_mem, rpc, size = cursor.fetchone()
    return (
        f"{cpu}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"PostgreSQL {version} (shared_buffers {buffers}, work_mem {work_mem}, random_page_cost {rpc}), "
        f"database {size}"
    )


def timed(client, url: str, runs: int, **headers) -> dict:
    """One warm-up request, then ``runs`` timed ones: median, p95 (ms), queries of the last one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url, **headers)
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, **headers)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]
    return {"status": response.status_code, "p50": statistics.median(times), "p95": p95,
            "queries": len(queries.captured_queries)}  # fmt: skip


def explain(client, url: str, **headers) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each query of one request that took over SLOW_MS."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url, **headers)
    slow = [q for q in queries.captured_queries if float(q["time"]) * 1000 > SLOW_MS]
    for query in sorted(slow, key=lambda q: -float(q["time"])):
        print(f"\n  -- {float(query['time']) * 1000:.0f} ms: {query['sql'][:400]}")
        if not query["sql"].lstrip(" (").upper().startswith(("SELECT", "WITH")):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            for (line,) in cursor.fetchall():
                print("     " + line)


def report(rows: list[tuple[str, str, dict]]) -> None:
    width = max(len(name) for _, name, _ in rows)
    print(f"\n{'page':{width + 12}} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}  status")
    for group, name, figures in rows:
        print(f"{group:10}  {name:{width}} {figures['p50']:8.1f} {figures['p95']:8.1f} {figures['queries']:8}"
              f"  {figures['status']}")  # fmt: skip


def run_pages(pages, runs: int, show_explain: bool) -> list:
    rows = []
    for group, name, client, url, headers in pages:
        figures = timed(client, url, runs, **headers)
        rows.append((group, name, figures))
        print(f"{group:10} {name:36} p50 {figures['p50']:8.1f}  p95 {figures['p95']:8.1f} ms  "
              f"{figures['queries']:3} queries  {figures['status']}  {url}", flush=True)  # fmt: skip
        if show_explain and figures["p95"] > SLOW_MS * 2:
            explain(client, url, **headers)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", default="", help="measure only pages whose name contains this")
    args = parser.parse_args()
    configure(args.database_url)
    import _scale_data as scale_data
    import _scale_pages as scale_pages

    started = time.perf_counter()
    world = scale_data.prepare(args.tasks)
    print(f"data ready in {time.perf_counter() - started:.0f} s: {world.summary()}", flush=True)
    print(f"machine: {machine()}", flush=True)
    pages = [p for p in scale_pages.pages(world) if args.only in p[1] or args.only == p[0]]
    rows = run_pages(pages, args.runs, args.explain)
    report(rows)
    print(f"\n{args.tasks:,} tasks requested, median and p95 of {args.runs} runs after one warm-up, "
          f"{timedelta(seconds=round(time.perf_counter() - started))} in all")  # fmt: skip


if __name__ == "__main__":
    main()
