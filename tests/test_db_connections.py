"""Database connections are reused, and checked before reuse: a worker keeps one PostgreSQL
connection from job to job (DB_CONN_MAX_AGE, default 60 s on PostgreSQL), the ASGI web process
pools them (DB_POOL_MAX_SIZE), and a connection that PostgreSQL dropped (a restart, a failover) is
replaced, not handed to the next job (CONN_HEALTH_CHECKS, for the pool too)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.db import close_old_connections, connection

from generation.models import Task
from tests.conftest import ROOT, submit, subprocess_env

postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's connections")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_its_jobs_on_one_connection(api, run_worker, monkeypatch):
    # No age limit here, so a slow machine cannot age the connection out mid-test; the default age
    # (60 s) is checked below.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", None)
    connection.close()
    first = backend_pid()
    for _ in range(3):
        submit(api, {"text_data": "a lighthouse", "options": {"num_images": 1}})
    run_worker()  # rq's worker checks connections around every job, as Django does around requests
    assert Task.unscoped_objects.filter(state="succeeded").count() == 3
    assert backend_pid() == first


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_connection_postgresql_dropped_is_replaced_before_the_next_job():
    dropped = backend_pid()
    from django.db import connections

    other = connections.create_connection("default")  # another session ends this one, as a failover would
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
    finally:
        other.close()
    close_old_connections()  # what happens before each job and request
    assert backend_pid() != dropped


def settings_in(module: str, **env: str) -> dict:
    code = (
        f"import os, json; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'imgplatform.settings'); import {module}\n"
        "import django; django.setup(); from django.conf import settings; d = settings.DATABASES['default']\n"
        "print(json.dumps({'age': d['CONN_MAX_AGE'], 'checks': d['CONN_HEALTH_CHECKS'], "
        "'pool': d.get('OPTIONS', {}).get('pool')}))"
    )
    environment = subprocess_env()
    for name in ("DB_CONN_MAX_AGE", "DB_POOL_MAX_SIZE", "DB_CONN_HEALTH_CHECKS"):
        environment.pop(name, None)
    environment.update(env)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@postgresql
def test_defaults_workers_persist_the_web_pools_both_check():
    worker = settings_in("django")  # manage.py run_worker and the other roles
    assert worker == {"age": 60, "checks": True, "pool": None}
    web = settings_in("imgplatform.asgi")  # scripts/serve web
    assert web["age"] == 0 and web["checks"] is True and web["pool"]["max_size"] == 20
    unpooled = settings_in("imgplatform.asgi", DB_POOL_MAX_SIZE="0")
    assert unpooled == {"age": 0, "checks": True, "pool": None}  # no connection left on a request's thread
