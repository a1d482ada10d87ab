"""`manage.py run_scheduler` stops cleanly whenever SIGTERM arrives.

rq's CronScheduler.start() registers the scheduler's birth before entering the try that turns its
own SIGTERM handler's StopRequested into a clean exit, and the command prints its schedule (the
moment `scripts/serve scheduler` is ready) before start() installs that handler: a container
stopped in either window exited with a traceback and status 1 (CI met it once). Each case sends a
real SIGTERM to this process at one point of the start-up and checks that the command returns
normally and leaves nothing registered in Redis."""

import os
import signal
import time

import pytest
from django.core.management import call_command
from rq import cron_scheduler_registry
from rq.cron import CronScheduler


@pytest.fixture
def restored_signal_handlers():
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def terminate_self_then(method):
    def patched(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler's exception cuts this short; reaching the end means it did not run
        return method(self, *args, **kwargs)

    return patched


@pytest.mark.parametrize(
    "moment",
    [
        "start",  # before rq installs its handler: the command's own is all there is
        "register_birth",  # rq's handler, outside rq's try
        "enqueue_jobs",  # inside rq's loop: rq's own clean exit
    ],
)
def test_a_sigterm_at_any_moment_of_start_up_is_a_clean_stop(
    moment, monkeypatch, redis_conn, restored_signal_handlers, capsys
):
    monkeypatch.setattr(CronScheduler, moment, terminate_self_then(getattr(CronScheduler, moment)))
    started = time.monotonic()
    call_command("run_scheduler")  # returns: no StopRequested, no SystemExit
    assert time.monotonic() - started < 5
    assert "scheduled billing.jobs.close_previous_period" in capsys.readouterr().out
    assert cron_scheduler_registry.get_keys(redis_conn) == []
