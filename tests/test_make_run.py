"""`make run`'s script: migrates, creates the demo tenant, starts web server, generation worker and
callback worker, prints a curl command that works, and Ctrl-C (SIGINT to the process group) stops
everything."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, TEST_REDIS_URL, free_port

pytestmark = pytest.mark.slow


def test_run_script_serves_the_printed_curl_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT", "SECRET_KEY")}
    env.update(
        PORT=str(port),
        PY=sys.executable,
        VAR_DIR=str(tmp_path / "var"),
        REDIS_URL=TEST_REDIS_URL,
        WEB_CONCURRENCY="1",
        MEDIA_ROOT=str(tmp_path / "var" / "media"),
    )
    log = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 300  # five processes load Django and the model at once
        while (
            "Listening on generation-tiny" not in (text := (tmp_path / "run.log").read_text())
            or "Listening on callbacks" not in text
            or "Booting worker" not in text
        ):
            assert proc.poll() is None and time.monotonic() < deadline, text
            time.sleep(0.2)
        # Run the curl command exactly as printed.
        command = re.search(r"(curl -s http://127\.0\.0\.1:\d+/api/v2/task/async \\\n.*?}')", text, re.S).group(1)
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
        assert '"state":"queued"' in out.stdout, (out.stdout, out.stderr)
        task_id = re.search(r'"id":"([0-9a-f-]{36})"', out.stdout).group(1)
        poll = re.search(r"(curl -s http://127\.0\.0\.1:\d+/api/v2/task/<id from above> .*)", text).group(1)
        poll = poll.replace("<id from above>", task_id)
        for _ in range(100):
            body = subprocess.run(shlex.split(poll), capture_output=True, text=True, timeout=30).stdout
            if '"state":"succeeded"' in body:
                break
            time.sleep(0.2)
        assert '"state":"succeeded"' in body and body.count("image_generation/") == 3
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        proc.wait(timeout=30)
    # Nothing of the session is left: not the web server, not the worker, not a private Redis.
    deadline = time.monotonic() + 15
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a process of `make run` outlived Ctrl-C"
        time.sleep(0.2)
    assert "stopping..." in (tmp_path / "run.log").read_text()
