"""What a running generation says and hears between two denoising steps: its progress (published
on the task events channel, throttled) and whether it must stop (its task was cancelled, or its run
was taken back).

A cancel (``services.task_cancel``) commits the task ``cancelled`` first, then sets the flag
``imagegen:task-cancel:<id>`` (:data:`CANCEL_KEY`) in Redis. The worker's :class:`StepReporter`
reads it after every step in the same round trip that publishes progress (one Lua call,
``EVALSHA``: read the flag; if it is not set and progress is due, publish and record it), and raises
:class:`~generation.engine.GenerationCancelled`, which stops the pipeline before its next step.

Redis is a shortcut, never the truth. When it is away the reporter logs once, stops asking for a
while (backing off up to :data:`MAX_BACKOFF` seconds, so a dead Redis costs a step one connect
timeout per backoff, not every step), and the run goes on; its lease thread still finds the row
no longer running within a third of the lease and sets ``lost``, which the reporter reads for free
at every step. If neither tells it in time, the run's finish is refused by the row (it is no
longer running) and its images are discarded (generation/jobs.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from redis.exceptions import RedisError

from generation import events, queues
from generation.engine import GenerationCancelled

log = logging.getLogger(__name__)

CANCEL_KEY = "imagegen:task-cancel:{task_id}"
FIRST_BACKOFF = 1.0  # seconds without Redis after a failure; doubled on each failure in a row
MAX_BACKOFF = 30.0

# KEYS: cancel flag, progress hash. ARGV: message ("" when no progress is due), channel, step,
# steps, attempt, ttl. Returns 1 when the task's cancel flag is set (and then publishes nothing).
_STEP_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if ARGV[1] ~= '' then
  redis.call('PUBLISH', ARGV[2], ARGV[1])
  redis.call('HSET', KEYS[2], 'step', ARGV[3], 'steps', ARGV[4], 'attempt', ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return 0
"""


def cancel_ttl() -> int:
    """The flag outlives the longest run that could still read it."""
    return int(settings.GENERATION_JOB_TIMEOUT + 2 * settings.GENERATION_LEASE_SECONDS)


def cancel_flag_set(task_id) -> None:
    """Ask the run of ``task_id`` (if one is running) to stop. Raises RedisError when Redis is away."""
    queues.connection().set(CANCEL_KEY.format(task_id=task_id), 1, ex=cancel_ttl())


def cancel_flag_is_set(task_id) -> bool:
    return bool(queues.connection().exists(CANCEL_KEY.format(task_id=task_id)))


class StepReporter:
    """The engine's step hook for one run of one task (``Engine.generate(on_step=...)``).

    ``lost``: the lease thread's event, set when the row is no longer this run's (cancelled, taken
    back, finished elsewhere). ``interval``: the least time between two ``progress`` events
    (GENERATION_PROGRESS_INTERVAL); the last step is always sent."""

    def __init__(
        self,
        *,
        task_id,
        attempt: int,
        lost: threading.Event | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.task_id, self.attempt, self.lost, self.clock = task_id, attempt, lost, clock
        self.interval = settings.GENERATION_PROGRESS_INTERVAL if interval is None else interval
        self.last_sent_at: float | None = None
        self.sent: list[int] = []  # steps published, in order
        self.stopped_at: tuple[int, int] | None = None  # (step, steps) where it raised
        self.stop_reason = ""
        self.redis_calls = 0
        self.failures = 0  # Redis failures in a row
        self.redis_back_at = 0.0  # clock time before which Redis is not tried again
        self._step_script = None
        self._cancel_key = CANCEL_KEY.format(task_id=task_id)
        self._progress_key = events.PROGRESS_KEY.format(task_id=task_id)

    def __call__(self, step: int, steps: int) -> None:
        if self.lost is not None and self.lost.is_set():
            self._stop(step, steps, "its run no longer holds the task (cancelled, or taken back)")
        now = self.clock()
        if now < self.redis_back_at:
            return
        due = step >= steps or self.last_sent_at is None or now - self.last_sent_at >= self.interval
        message = events.message(self.task_id, "progress", step=step, steps=steps) if due else ""
        try:
            self.redis_calls += 1
            cancelled = self._script()(
                keys=[self._cancel_key, self._progress_key],
                args=[message, events.channel(), step, steps, self.attempt, events.PROGRESS_TTL],
            )
        except RedisError as exc:
            self._redis_failed(exc, now)
            return
        if self.failures:
            log.info("task %s: Redis is back; progress and cancel checks resume", self.task_id)
        self.failures = 0
        if cancelled:
            self._stop(step, steps, "the task was cancelled")
        if due:
            self.last_sent_at = now
            self.sent.append(step)

    def cancel_requested(self) -> bool:
        """Between stages (after the last step, before storing): has the run been told to stop?
        Costs one Redis read, none while Redis is backed off."""
        if self.lost is not None and self.lost.is_set():
            return True
        now = self.clock()
        if now < self.redis_back_at:
            return False
        try:
            self.redis_calls += 1
            return cancel_flag_is_set(self.task_id)
        except RedisError as exc:
            self._redis_failed(exc, now)
            return False

    def _script(self):
        if self._step_script is None:  # EVALSHA, loading the script on the first NOSCRIPT
            self._step_script = queues.connection().register_script(_STEP_SCRIPT)
        return self._step_script

    def _stop(self, step: int, steps: int, reason: str) -> None:
        self.stopped_at, self.stop_reason = (step, steps), reason
        raise GenerationCancelled(f"stopped after step {step} of {steps}: {reason}")

    def _redis_failed(self, exc: RedisError, now: float) -> None:
        backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2**self.failures)
        if not self.failures:
            log.warning(
                "task %s: Redis unavailable (%s); no progress events or cancel checks for %.0f s at a time, "
                "the run goes on",
                self.task_id,
                exc,
                backoff,
            )
        self.failures += 1
        self.redis_back_at = now + backoff


class TogetherReporter:
    """The step hook of tasks generated together (``Engine.generate_together``): every step goes
    to each task's :class:`StepReporter`. A task its reporter stops (cancelled, or its run lost the
    row) drops out, and the others go on; the pipeline stops only when every task has dropped."""

    def __init__(self, reporters: list[StepReporter]):
        self.reporters = reporters

    def __call__(self, step: int, steps: int) -> None:
        for reporter in self.live():
            try:
                reporter(step, steps)
            except GenerationCancelled:
                log.info("task %s leaves its shared batch: %s", reporter.task_id, reporter.stop_reason)
        if not self.live():
            raise GenerationCancelled(f"stopped after step {step} of {steps}: every task of the batch stopped")

    def live(self) -> list[StepReporter]:
        return [reporter for reporter in self.reporters if reporter.stopped_at is None]
