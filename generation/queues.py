"""Redis side of generation: enqueueing jobs and telling /sync waiters that a task finished.

Redis only carries work; the Task row is the truth. Every function here raises
:class:`redis.exceptions.RedisError` subclasses when Redis is away (within the timeouts of
``imgplatform.redisconn``), and callers decide what that means (a 503 on submit, a logged warning
after a task finished, a reconciler that tries again on its next run).
"""

from __future__ import annotations

import django_rq
from django.conf import settings
from imgplatform import redisconn
from rq.job import Job, JobStatus

FINISHED_KEY = "imagegen:task-finished:{task_id}"
FINISHED_TTL = 300


def model_spec(name: str):
    return settings.MODEL_REGISTRY[name]


# A job in one of these states will still run (or is running) its task.
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def connection():
    return redisconn.connection("default")


def generation_queue(model: str):
    name = model_spec(model).queue
    return django_rq.get_queue(name, connection=redisconn.connection(name))


def generation_job_id(task) -> str:
    """One job id per run: a task taken back from a lost worker gets a new job."""
    return f"gen-{task.id}-{task.attempts}"


def enqueue_generation(task) -> str:
    queue = generation_queue(task.model)
    job = queue.enqueue(
        "generation.jobs.run_generation",
        str(task.id),
        job_id=generation_job_id(task),
        job_timeout=settings.GENERATION_JOB_TIMEOUT,
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
        description=f"generate task {task.id}",
    )
    return job.id


def remove_generation_job(task) -> None:
    if task.job_id:
        generation_queue(task.model).remove(task.job_id)


def live_generation_jobs(tasks) -> set[str]:
    """The ids among the tasks' jobs that Redis still holds in a state that will run them: the
    job of the task's run (``gen-<task>-<attempt>``) and the one its row names (a start deferred
    for the tenant's running limit has a job of its own, scheduled)."""
    by_model: dict[str, list[str]] = {}
    for task in tasks:
        ids = {generation_job_id(task), task.job_id} - {""}
        by_model.setdefault(task.model, []).extend(sorted(ids))
    live = set()
    for model, ids in by_model.items():
        queue = generation_queue(model)
        for job_id, job in zip(ids, Job.fetch_many(ids, connection=queue.connection), strict=True):
            if job is not None and job.get_status(refresh=False) in LIVE_STATUSES:
                live.add(job_id)
    return live


def notify_finished(task_id, state: str) -> None:
    key = FINISHED_KEY.format(task_id=task_id)
    pipe = connection().pipeline()
    pipe.rpush(key, state)
    pipe.expire(key, FINISHED_TTL)
    pipe.execute()


def wait_finished(task_id, timeout: float) -> bool:
    """Block (no polling) until the worker says the task finished, or ``timeout`` runs out. The
    client's read timeout allows for the wait (redis-py 8 gives every connection one)."""
    if timeout <= 0:
        return False
    key = FINISHED_KEY.format(task_id=task_id)
    return redisconn.blocking_connection(timeout).blpop([key], timeout=timeout) is not None
