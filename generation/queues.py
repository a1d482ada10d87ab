"""Redis side of generation: enqueueing jobs (task events are in :mod:`generation.events`).

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
    return run_job_id(task.id, task.attempts)


def run_job_id(task_id, attempt: int) -> str:
    """The job id of run ``attempt`` of task ``task_id`` (known before the task's row is written)."""
    return f"gen-{task_id}-{attempt}"


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


def job_position(task) -> int | None:
    """Where the task's job waits in its rq queue, 1 being the next to start; None when it is not
    in the queue (started, scheduled for later, or gone)."""
    if not task.job_id:
        return None
    position = generation_queue(task.model).get_job_position(task.job_id)
    return None if position is None else position + 1


def job_positions(tasks) -> dict[str, int | None]:
    """:func:`job_position` of many tasks (by task id), reading each queue once."""
    by_model: dict[str, list] = {}
    for task in tasks:
        by_model.setdefault(task.model, []).append(task)
    positions: dict[str, int | None] = {}
    for model, queued in by_model.items():
        order = {job_id: index + 1 for index, job_id in enumerate(generation_queue(model).get_job_ids())}
        positions.update({str(task.id): order.get(task.job_id) if task.job_id else None for task in queued})
    return positions
