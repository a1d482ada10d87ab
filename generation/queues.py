"""Redis side of generation: enqueueing jobs and telling /sync waiters that a task finished.

Redis only carries work; the Task row is the truth. Every function here raises
:class:`redis.exceptions.RedisError` subclasses when Redis is away, and callers decide what that
means (a 503 on submit, a logged warning after a task finished).
"""

from __future__ import annotations

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
    """Block (no polling) until the worker says the task finished, or ``timeout`` runs out."""
    if timeout <= 0:
        return False
    key = FINISHED_KEY.format(task_id=task_id)
    return connection().blpop([key], timeout=timeout) is not None
