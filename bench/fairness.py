"""Fair scheduling against first in, first out, in the same run, with a real `run_worker` process.

Scenario 1 (issue 19): tenant X submits 15 six-image tasks, then tenant Y one one-image task. The
figure is Y's queue wait, and how many of X's tasks started before it, against the run time of one
of X's tasks. Scenario 2: three busy tenants on plans of weight 2, 1 and 1 submit mixed tasks (1 to 6
images); the figure is each tenant's share of the images started while all three still waited.

    .venv/bin/python bench/fairness.py --database-url postgres://postgres@127.0.0.1:5432/bench_fair \
        --redis-url redis://127.0.0.1:6379/12 --runs 3

The database is created (and migrated) if missing; its tasks are deleted between scenarios. The
Redis database's generation queue is emptied between scenarios (use one nothing else uses).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._live import PY, ROOT, prepare  # noqa: E402


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgplatform.settings")
    import django

    django.setup()


def start_worker(env: dict[str, str], extra: dict[str, str], log: Path, *, warm_up: bool = False) -> subprocess.Popen:
    """A `run_worker` process with ``extra`` in its environment, once it listens (its own session)."""
    out = open(log, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [PY, "manage.py", "run_worker", *([] if warm_up else ["--no-warm-up"])],
        cwd=ROOT,
        env={**env, **extra, "LOG_LEVEL": "INFO"},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while "Listening on" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return proc


def clean() -> None:
    import django_rq

    from billing.models import CreditEntry, UsageLine, UsageRecord
    from callbacks.models import CallbackDelivery
    from generation.models import FairClock, FairShare, IdempotencyKey, Image, Task

    django_rq.get_queue("generation-tiny").empty()
    for model in (UsageLine, UsageRecord, CreditEntry, IdempotencyKey, CallbackDelivery, Image, Task):
        model.unscoped_objects.all().delete() if hasattr(model, "unscoped_objects") else model.objects.all().delete()
    FairShare.objects.all().delete()
    FairClock.objects.all().delete()


def tenant(weight: int = 1):
    from django.utils import timezone

    from accounts.authentication import ApiClient
    from accounts.services import tenant_create
    from billing.models import Plan, PriceTier
    from billing.services import tenant_plan_assign

    made = tenant_create(name=f"bench {time.time_ns()}")
    made.tenant.max_queued_tasks, made.tenant.max_running_tasks = 1000, 1000
    made.tenant.save()
    if weight != 1:
        plan = Plan.objects.create(code=f"bench-w{weight}-{made.tenant.pk}", name="bench", scheduling_weight=weight)
        PriceTier.objects.create(plan=plan, up_to=None, unit_price="0.001")
        tenant_plan_assign(tenant=made.tenant, plan=plan, starts_at=timezone.now() - timezone.timedelta(days=1))
    return ApiClient(api_key=made.key.api_key, tenant=made.tenant, project=made.project)


def submit(client, images: int):
    from generation import services

    return services.task_submit(client=client, data=services.TaskInput(text_data="a lighthouse", num_images=images))


def wait_all(timeout: float = 900) -> None:
    from generation.models import Task

    deadline = time.monotonic() + timeout
    while Task.unscoped_objects.filter(state__in=["queued", "running"]).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("tasks did not finish")
        time.sleep(0.2)


def backlog_run(x_tasks: int) -> dict[str, float]:
    from generation.models import Task

    clean()
    x, y = tenant(), tenant()
    xs = [submit(x, 6) for _ in range(x_tasks)]
    while not Task.unscoped_objects.filter(state="running").exists():
        time.sleep(0.02)
    late = submit(y, 1)
    wait_all()
    late.refresh_from_db()
    done = Task.unscoped_objects.filter(pk__in=[t.pk for t in xs])
    run = statistics.median((t.finished_at - t.started_at).total_seconds() for t in done)
    return {
        "y_wait_s": late.timings_ms["queue_wait"] / 1000,
        "x_before_y": done.filter(started_at__lt=late.started_at).count(),
        "x_task_s": run,
    }


def shares_run(tasks_per_weight: int) -> dict[str, float]:
    from generation.models import Task

    clean()
    clients = {"w2": tenant(2), "w1a": tenant(1), "w1b": tenant(1)}
    sizes = itertools.cycle([1, 6, 3, 2, 5, 4])
    for name, count in (("w2", 2 * tasks_per_weight), ("w1a", tasks_per_weight), ("w1b", tasks_per_weight)):
        for _ in range(count):
            submit(clients[name], next(sizes))
    wait_all()
    names = {c.tenant.pk: name for name, c in clients.items()}
    tasks = list(Task.unscoped_objects.order_by("started_at"))
    end = min(max(t.started_at for t in tasks if names[t.tenant_id] == n) for n in clients)
    served = dict.fromkeys(clients, 0)
    for task in tasks:
        if task.started_at <= end:
            served[names[task.tenant_id]] += task.num_images
    total = sum(served.values())
    return {name: served[name] / total for name in clients}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_fair")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--x-tasks", type=int, default=15, help="six-image tasks tenant X queues")
    parser.add_argument("--tasks-per-weight", type=int, default=20, help="0: skip the shares scenario")
    parser.add_argument("--step-delay", type=float, default=0.05, help="seconds per denoising step (tiny model)")
    args = parser.parse_args()
    env = prepare(args.database_url, args.redis_url)
    env["GENERATION_MODELS"] = f'{{"tiny": {{"step_delay": {args.step_delay}}}}}'
    setup_django(env)
    for mode in ("fifo", "fair"):
        worker = start_worker(env, {"GENERATION_SCHEDULING": mode}, ROOT / "var" / f"bench-fairness-{mode}.log")
        try:
            backlog = [backlog_run(args.x_tasks) for _ in range(args.runs)]
            shares = [shares_run(args.tasks_per_weight) for _ in range(args.runs if args.tasks_per_weight else 0)]
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(timeout=30)
        median = {k: statistics.median(r[k] for r in backlog) for k in backlog[0]}
        print(
            f"{mode}: Y waited {median['y_wait_s']:.2f} s behind {median['x_before_y']:.0f} of X's tasks "
            f"(one X task {median['x_task_s']:.2f} s; runs: {[round(r['y_wait_s'], 2) for r in backlog]})",
            flush=True,
        )
        if shares:
            share = {k: statistics.median(r[k] for r in shares) for k in shares[0]}
            print(
                f"{mode}: shares while all busy w2 {share['w2']:.1%} w1a {share['w1a']:.1%} "
                f"w1b {share['w1b']:.1%} (weights: 50% / 25% / 25%)",
                flush=True,
            )


if __name__ == "__main__":
    main()
