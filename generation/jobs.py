"""Jobs run by the generation worker."""

from __future__ import annotations

import base64
import contextlib
import logging
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import connections
from redis.exceptions import RedisError
from rq.job import get_current_job
from rq.timeouts import JobTimeoutException

from generation import events, limits, queues, scheduling, services, storage
from generation.engine import EncodingFailed, GenerationCancelled, GenerationRequest
from generation.engine.runner import encode_image
from generation.lease import lease_kept
from generation.models import Task
from generation.progress import StepReporter, TogetherReporter
from generation.worker import loaded_engine, stopping, worker_identity
from moderation.checks import image_policy_for, load_image_moderator

log = logging.getLogger(__name__)
# How a task ends when the job's time runs out (rq's JobTimeoutException), at whatever stage.
TOOK_TOO_LONG = ("generation_failed", "Generation took too long.")


class StageFailed(Exception):
    """A stage after the generation (moderating or storing the images) failed: its task fails with
    ``code`` (``moderation_failed``, ``storage_failed``) and ``detail``, nothing stored or billed."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


@dataclass
class Run:
    """One started task in this job: its run information, step hook and stage timings."""

    task: Task
    reporter: StepReporter
    lease: contextlib.ExitStack  # closed once the run has written its end
    run_info: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def run_generation(task_id: str) -> str:
    """Start the task whose turn it is on this job's queue (fair across tenants, first in first out
    within one: generation/scheduling.py), with the queued tasks that can share its pipeline calls
    when the model batches across tasks (``batch_images``), then generate, store and finish each;
    while they are post-processed (:class:`Stage`) the job starts and generates the next fairest
    task, and so on while tasks are queued and time is left. ``task_id`` names the task the job
    was enqueued for; the job may start others, and each keeps its own job (which then starts
    nothing). Every way out leaves each started task in a final state."""
    hint = _task_or_none(task_id)
    job = get_current_job()
    job_id = job.id if job is not None else (hint.job_id if hint else "")
    holder = scheduling.token_holder(job_id=job_id, hint=hint)
    if holder is None:  # a replayed job, or one whose task was cancelled or started elsewhere
        return f"skipped: task is {hint.state if hint else 'missing'}"
    queue_name = job.origin if job is not None else queues.model_spec(holder.model).queue
    describe = lambda model: loaded_engine(model).describe()  # noqa: E731
    claim = scheduling.claim_next(
        queue_name=queue_name, holder=holder, job_id=job_id, worker_name=worker_identity(), describe=describe
    )
    task = claim.task
    if task is None and claim.waiting:
        # Tasks wait, their tenants at their running limit (generation/limits.py): this token comes
        # back after a delay, so the worker goes on with other jobs and the waiting tasks keep theirs.
        return f"deferred: tenants at their running limit; job {limits.task_defer_start(holder)}"
    if task is None:
        return "skipped: nothing queued"
    stage, every = Stage(overlap=settings.GENERATION_OVERLAP_STAGES), []
    began = time.monotonic()
    try:
        tasks = [task, *_companions(task, queue_name, loaded_engine(task.model), describe)]
        while tasks:
            engine = loaded_engine(tasks[0].model)
            runs = [_run_of(started) for started in tasks]
            every.extend(runs)
            batch_began = time.monotonic()
            results = _generate_or_end(runs, engine, stage)
            if results is not None:
                stage.hand_over(runs, results)
            tasks = []
            if stage.overlap and _time_for_another(job, began, time.monotonic() - batch_began):
                tasks = _following(queue_name, describe)
        stage.wait()
        return _outcome(stage.outcomes)
    finally:
        stage.close()
        for run in every:
            run.lease.close()


class Stage:
    """What follows a batch's generation: moderating, storing and finishing each of its tasks.
    With ``overlap`` (GENERATION_OVERLAP_STAGES) it runs on a thread while the job starts and
    generates the next queued tasks of its queue (ONNX Runtime, Pillow and the storage client
    release the GIL), one batch in it at a time: handing over the next batch first waits for the
    one before. Without, in the job's thread. The job ends once the stage is empty, so the job's
    timeout, a warm shutdown and a killed worker see every started task as before (running, with
    its lease, until its finish commits)."""

    def __init__(self, *, overlap: bool):
        self.overlap = overlap
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finish") if overlap else None
        self.pending: Future | None = None
        self.outcomes: list[str] = []

    def hand_over(self, runs: list[Run], results: list) -> None:
        self.wait()
        if self.pool is None:
            self.outcomes.extend(_finish_all(runs, results))
        else:
            self.pending = self.pool.submit(_finish_on_thread, runs, results)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.outcomes.extend(pending.result())

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)


def _time_for_another(job, began: float, last_batch: float) -> bool:
    """Chain another batch into this job: the worker is not stopping, and at the pace of the last
    batch two more fit in half the job's timeout (the chain never nears the timeout)."""
    timeout = (job.timeout if job is not None and job.timeout else None) or settings.GENERATION_JOB_TIMEOUT
    fair = settings.GENERATION_SCHEDULING == "fair"
    return fair and not stopping.is_set() and time.monotonic() - began + 2 * last_batch < timeout / 2


def _following(queue_name: str, describe) -> list[Task]:
    """The next task to start on the queue (the fairest now), with its companions; none when
    nothing can start. A failure to claim ends the chain: the queued tasks keep their jobs."""
    try:
        task = scheduling.claim_following(queue_name=queue_name, worker_name=worker_identity(), describe=describe)
    except Exception:
        log.exception("could not claim a following task on %s; the job ends here", queue_name)
        return []
    if task is None:
        return []
    return [task, *_companions(task, queue_name, loaded_engine(task.model), describe)]


def _run_of(task: Task) -> Run:
    """The run of a started task: its lease kept (renewed until the run has written its end), and
    its step hook, which publishes progress and stops the pipeline when the task was cancelled
    (Redis flag) or this run lost the row (the lease thread's event)."""
    lease = contextlib.ExitStack()
    keeper = lease.enter_context(lease_kept(task))
    reporter = StepReporter(task_id=task.pk, attempt=task.attempts, lost=keeper.lost)
    return Run(task=task, reporter=reporter, lease=lease, run_info=dict(task.run_info))


def _companions(task: Task, queue_name: str, engine, describe) -> list[Task]:
    """Queued tasks started to share ``task``'s pipeline calls (none unless the model batches
    across tasks). A failure to claim them leaves ``task`` to run alone."""
    if not engine.spec.batch_images:
        return []
    try:
        return scheduling.claim_companions(
            task=task, queue_name=queue_name, budget=engine.spec.batch_images,
            worker_name=worker_identity(), describe=describe,
        )  # fmt: skip
    except Exception:
        log.exception("task %s: could not claim tasks to batch with it; it runs alone", task.pk)
        return []


def _task_or_none(task_id: str) -> Task | None:
    try:
        uuid.UUID(str(task_id))
    except ValueError:
        return None
    return Task.unscoped_objects.select_related("project").filter(pk=task_id).first()


def _generate_or_end(runs: list[Run], engine, stage: Stage) -> list | None:
    """Generate the images of every run's task in shared pipeline calls. None: the generation
    stopped or failed, and each run's task has ended (its outcome is in ``stage``)."""
    for run in runs:
        waited = (run.task.started_at - run.task.created_at).total_seconds()
        run.timings.update(run.task.timings_ms, queue_wait=round(waited * 1000, 1))
    try:
        return _generate(runs, engine)
    except GenerationCancelled:
        stage.outcomes.extend(_stopped(run) for run in runs)
    except JobTimeoutException:
        for run in runs:
            _fail(run, *TOOK_TOO_LONG)
        raise
    except Exception as exc:
        log.exception("generation of task(s) %s failed", ", ".join(str(run.task.pk) for run in runs))
        for run in runs:
            _fail(run, *_failure(exc))
        stage.outcomes.extend("failed" for _ in runs)
    return None


def _finish_all(runs: list[Run], results: list) -> list[str]:
    """Moderate, store and finish each task on its own: a fault after generation fails only its
    task. Each run's lease ends with its finish."""
    outcomes = []
    for position, (run, result) in enumerate(zip(runs, results, strict=True)):
        try:
            outcomes.append(_finish(run, result))
            run.lease.close()
        except JobTimeoutException:
            for later in runs[position + 1 :]:
                _fail(later, *TOOK_TOO_LONG)
            raise
    return outcomes


def _finish_on_thread(runs: list[Run], results: list) -> list[str]:
    try:
        return _finish_all(runs, results)
    finally:
        connections.close_all()  # this thread's own


def _outcome(outcomes: list[str]) -> str:
    return outcomes[0] if len(outcomes) == 1 else f"{len(outcomes)} tasks: " + "; ".join(outcomes)


def _finish(run: Run, result) -> str:
    """Moderate, store and finish one task whose images were generated."""
    task, reporter, timings = run.task, run.reporter, run.timings
    if reporter.stopped_at is not None:  # left a shared batch (cancelled, or its run lost the row)
        result.discard()
        return _stopped(run)
    if result.pending:  # encoding deferred to this stage (an accelerator): its wait counts here
        result.collect()
        timings["generation_encode"] = round(result.timings_ms["encode"], 1)
        timings["generation"] = round(timings["generation"] + result.timings_ms["encode"], 1)
    stored: list[str] = []  # what this run wrote to storage, removed again if the task is cancelled
    try:
        if result.failure is not None:  # its images could not be encoded (the others' could)
            raise result.failure
        # Every image is checked before anything is stored: a flagged one never gets a path.
        verdicts, report = _moderate_images(task, result, timings)
        blocked = [v for v in verdicts if v.blocked]
        store = not blocked or (task.moderation == Task.Moderation.PARTIAL and len(blocked) < len(verdicts))
        if reporter.cancel_requested():  # cancelled after the last step: store nothing
            return _stopped(run, stored)
        images = _store_images(task, result, verdicts, store=store, stored=stored, timings=timings)
        timings["total"] = round(sum(timings[k] for k in ("queue_wait", "generation", "moderation", "storage")), 1)
    except JobTimeoutException:
        _fail(run, *TOOK_TOO_LONG, stored)
        raise
    except Exception as exc:
        log.exception("task %s failed", task.id)
        _fail(run, *_failure(exc), stored)
        return "failed"
    if not store:
        # strict (one flagged image fails the call) or partial with nothing left to return
        detail = "The generated images were blocked by moderation: " + "; ".join(v.reason() for v in blocked) + "."
        services.task_fail(
            task=task,
            code="moderation_blocked_image",
            detail=detail,
            from_states=(Task.State.RUNNING,),
            timings_ms=timings,
            run_info=run.run_info,
            images=images,
            moderation_report=report,
        )
        return "blocked"
    if not services.task_succeed(
        task=task, images=images, timings_ms=timings, run_info=run.run_info, moderation_report=report
    ):
        # Cancelled (or taken back) while this run finished: the row refused the finish, so nothing
        # was billed or recorded; the files are removed too (a cancelled task never runs again).
        _discard_if_cancelled(task, stored)
        return f"not finished here: task is {task.state}"
    return "succeeded"


def _generate(runs: list[Run], engine) -> list:
    """One generation for all runs' requests (pipeline calls shared when there are several)."""
    started = time.perf_counter()
    requests = [generation_request(run.task) for run in runs]
    for run, request in zip(runs, requests, strict=True):
        run.run_info.update(engine.settings_for(request), width=run.task.width, height=run.task.height)
    results = engine.generate_together(
        requests,
        on_step=TogetherReporter([run.reporter for run in runs]),
        on_preview=partial(_publish_preview, runs[0].task.pk),
        # On an accelerator the images are encoded while the next inference runs (the stage
        # collects them); on a CPU both would share its cores: there the job collects them.
        collect=not engine.defer_encoding,
    )
    elapsed = _ms(started)
    for run, request, result in zip(runs, requests, results, strict=True):
        run.timings["generation"] = elapsed
        run.timings.update({f"generation_{k}": round(v, 1) for k, v in result.timings_ms.items()})
        run.run_info.update(batches=result.batches, seeds=request.seeds)
        if len(runs) > 1:
            run.run_info["batched_with"] = [str(other.task.pk) for other in runs if other is not run]
    return results


def _moderate_images(task: Task, result, timings: dict[str, float]) -> tuple[list, dict]:
    """Each image's verdict under the project's policy, and the task's moderation report."""
    started = time.perf_counter()
    try:
        moderator = load_image_moderator()
        verdicts = moderator.moderate([image.image for image in result.images], image_policy_for(task.project))
        report = {
            "detectors": moderator.describe(),
            "images_withheld": sum(v.blocked for v in verdicts),
        }
    except JobTimeoutException:  # the job's time ran out here: "took too long", as anywhere
        raise
    except Exception as exc:  # fail closed: an image no detector looked at is never stored
        detail = f"Image moderation failed ({type(exc).__name__}); no image was stored or charged."
        raise StageFailed("moderation_failed", detail) from exc
    timings["moderation"] = _ms(started)
    return verdicts, report


def _store_images(
    task: Task, result, verdicts: list, *, store: bool, stored: list[str], timings: dict[str, float]
) -> list[services.StoredImage]:
    """Store the images that pass (when ``store``); every image is recorded, a withheld one with no
    path. ``stored`` collects the paths written; a write that fails raises :class:`StageFailed`
    (``storage_failed``), and the run's end removes what was written before it."""
    started = time.perf_counter()
    images = []
    for image, verdict in zip(result.images, verdicts, strict=True):
        path = ""
        if store and not verdict.blocked:
            path = storage.image_path(task.id, image.index, image.width, image.height, task.output_format)
            try:
                storage.save_image(path, image.data)
            except JobTimeoutException:
                raise
            except Exception as exc:
                detail = f"Storing the images failed ({type(exc).__name__}); no image was kept or charged."
                raise StageFailed("storage_failed", detail) from exc
            stored.append(path)
        images.append(
            services.StoredImage(
                index=image.index,
                seed=image.seed,
                width=image.width,
                height=image.height,
                storage_path=path,
                sha256=image.sha256,
                size_bytes=len(image.data),
                flagged=verdict.blocked,
                moderation=verdict.as_dict(),
            )
        )
    timings["storage"] = _ms(started)
    return images


def _failure(exc: Exception) -> tuple[str, str]:
    """The error code and detail of a run that raised ``exc``; the detail names the stage."""
    if isinstance(exc, StageFailed):
        return exc.code, exc.detail
    if isinstance(exc, EncodingFailed):
        return "generation_failed", f"Generation failed while encoding the images ({type(exc.__cause__).__name__})."
    return "generation_failed", f"Generation failed ({type(exc).__name__})."


def _fail(run: Run, code: str, detail: str, stored: list[str] = ()) -> None:
    """Fail the run's task (nothing billed, its hold released; what ran is kept in its run_info)
    and remove the files this run stored: a failed task returns none. A refused fail (the task
    cancelled or taken back meanwhile) removes them only if it ended cancelled."""
    if services.task_fail(task=run.task, code=code, detail=detail, timings_ms=run.timings, run_info=run.run_info):
        if stored:
            storage.delete_images(list(stored))
    else:
        _discard_if_cancelled(run.task, list(stored))


def generation_request(task: Task) -> GenerationRequest:
    """The engine's request for ``task``: its prompt, seeds and the customer's choices."""
    return GenerationRequest(
        prompt=task.text_data,
        negative_prompt=task.neg_text,
        seeds=[task.image_seed(i) for i in range(task.num_images)],
        width=task.width,
        height=task.height,
        steps=task.steps,
        guidance=task.guidance,
        output_format=task.output_format,
        quality=task.output_quality,
        partial_images=task.partial_images,
    )


def _publish_preview(task_id, index: int, pictures: list) -> None:
    """A partial image for the task's listeners (the OpenAI stream); lost if Redis is away."""
    data = encode_image(pictures[0].convert("RGB"), "png")
    try:
        events.partial_image_add(task_id, index=index, b64=base64.b64encode(data).decode())
    except RedisError as exc:
        log.warning("could not publish a partial image of task %s: %s", task_id, exc)


def _stopped(run: Run, stored: list[str] = ()) -> str:
    """The run was told to stop (its task cancelled, or the row no longer its own): write nothing,
    remove what it stored, and let the worker take its next job."""
    task, reporter = run.task, run.reporter
    attempt = task.attempts
    task.refresh_from_db()
    if task.state == Task.State.RUNNING and task.attempts == attempt:
        # A cancel flag without a cancelled row (set by hand?): never leave the task running.
        log.error("task %s: told to stop but still running; failing it", task.pk)
        services.task_fail(task=task, code="generation_failed", detail="The run was stopped.")
    _discard_if_cancelled(task, list(stored))
    where = "after the last step"
    if reporter.stopped_at is not None:
        where = "after step {} of {}".format(*reporter.stopped_at)
    log.info("task %s: run %s stopped %s (task is %s)", task.pk, attempt, where, task.state)
    return f"stopped {where}: task is {task.state}"


def _discard_if_cancelled(task: Task, paths: list[str]) -> None:
    """Remove the files this run stored, if its task ended cancelled. A task taken back from this
    run keeps them: its next run writes the same paths, and may already have."""
    if paths and task.state == Task.State.CANCELLED:
        storage.delete_images(paths)
