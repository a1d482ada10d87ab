"""Fixtures for the fault tests: a private redis-server that a test may stop, freeze and restart
(never the shared one), a prepaid project whose credit shows every hold, and the callback
receiver and worker of tests/callbacks."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from decimal import Decimal

import pytest
import redis

from billing import services as billing
from billing.defaults import ensure_default_plan
from billing.models import BillingAccount, Plan, PriceTier
from tests.callbacks.conftest import callback_settings, receiver, run_callback_worker  # noqa: F401 (fixtures)
from tests.conftest import free_port, queues_for
from tests.factories import ProjectFactory, make_key


class OwnRedis:
    """A redis-server of the test's own on a free loopback port, without persistence."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        """Gone: connections are refused (and everything it held is lost)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def freeze(self) -> None:
        """Hung: the kernel still accepts connections, nothing ever answers."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path, settings):
    """Point every queue (and the platform's Redis clients) at a private redis-server."""
    server = OwnRedis(tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    settings.RQ_QUEUES = queues_for(server.url)
    yield server
    if server.proc and server.proc.poll() is None:
        server.thaw()
    server.stop()


@pytest.fixture
def prepaid_project(transactional_db):
    """A prepaid tenant with credit: every task holds its worst case at submit, and its end must
    capture or release that hold exactly once."""
    ensure_default_plan(Plan, PriceTier)  # as migrated (a transactional test before may have flushed it)
    project = ProjectFactory()
    account, _ = BillingAccount.unscoped_objects.get_or_create(tenant=project.tenant)
    account.mode = BillingAccount.Mode.PREPAID
    account.save()
    billing.credit_grant(tenant=project.tenant, amount=Decimal("100"))
    return project


@pytest.fixture
def prepaid_api(prepaid_project):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_key(prepaid_project)}")
    return client
