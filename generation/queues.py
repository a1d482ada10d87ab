"""Redis side of generation: enqueueing jobs and telling /sync waiters that a task finished.

Redis only carries work; the Task row is the truth. Every function here raises
:class:`redis.exceptions.RedisError` subclasses when Redis is away, and callers decide what that
means (a 503 on submit, a logged warning after a task finished).
"""

from __future__ import annotations

import time

import django_rq
from django.conf import settings

FINISHED_KEY = "imagegen:task-finished:{task_id}"
FINISHED_TTL = 300


def model_spec(name: str):
    return settings.MODEL_REGISTRY[name]


def connection():
    return django_rq.get_connection("default")


def enqueue_generation(task) -> str:
    queue = django_rq.get_queue(model_spec(task.model).queue)
    job = queue.enqueue(
        "generation.jobs.run_generation",
        str(task.id),
        job_id=f"gen-{task.id}-{task.attempts}",
        job_timeout=settings.GENERATION_JOB_TIMEOUT,
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
        description=f"generate task {task.id}",
    )
    return job.id


def remove_generation_job(task) -> None:
    if task.job_id:
        django_rq.get_queue(model_spec(task.model).queue).remove(task.job_id)


def notify_finished(task_id, state: str) -> None:
    key = FINISHED_KEY.format(task_id=task_id)
    pipe = connection().pipeline()
    pipe.rpush(key, state)
    pipe.expire(key, FINISHED_TTL)
    pipe.execute()


def wait_finished(task_id, timeout: float) -> bool:
    """Block until the worker says the task finished, or ``timeout`` runs out. Redis does the
    waiting (BLPOP); nothing polls the database. One BLPOP blocks at most half the connection's
    read timeout (redis-py 8 gives every connection one, 5 s by default): a longer block would end
    in a TimeoutError instead of an answer."""
    conn = connection()
    # Not configured: the library's default (5 s in redis-py 8, none before), so blocks of 2 s.
    read_timeout = conn.connection_pool.connection_kwargs.get("socket_timeout", 4.0)
    key = FINISHED_KEY.format(task_id=task_id)
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0.01:  # BLPOP's 0 would mean "forever"
        block = min(remaining, read_timeout / 2) if read_timeout else remaining
        if conn.blpop([key], timeout=block) is not None:
            return True
    return False
