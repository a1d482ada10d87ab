"""Starting `scripts/serve ROLE` as a real process for the tests of roles, metrics and hosts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, subprocess_env

# What each role prints once it is ready.
READY = {
    "worker": "Listening on",
    "callbacks": "Listening on",
    "default": "Listening on",
    "scheduler": "scheduled",
    "metrics": "listening on",
}


def http_get(url: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Roles:
    """Starts roles, each in a process group of its own; stops them all (SIGTERM, then SIGKILL to
    the group) at the end."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []

    def start(self, role: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = self.tmp_path / f"{role}-{len(self.procs)}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                ["bash", "scripts/serve", role, *args],
                cwd=ROOT,
                env=subprocess_env(**(env or {})),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc.log_path = log
        self.procs.append(proc)
        self._wait_ready(proc, role, env or {})
        return proc

    def _wait_ready(self, proc: subprocess.Popen, role: str, env: dict[str, str]) -> None:
        deadline = time.monotonic() + 90
        while True:
            if role == "web":
                base = f"http://127.0.0.1:{env['PORT']}"
                with contextlib.suppress(OSError):
                    if http_get(f"{base}/healthz", timeout=2)[0] == 200:
                        return
            elif READY[role] in proc.log_path.read_text():
                return
            if proc.poll() is not None or time.monotonic() > deadline:
                self.kill(proc)
                pytest.fail(f"scripts/serve {role} did not start:\n{proc.log_path.read_text()}")
            time.sleep(0.2)

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            self.kill(proc)  # and whatever it forked (rq's scheduler)


@pytest.fixture
def roles(tmp_path):
    started = Roles(tmp_path)
    yield started
    started.stop_all()
