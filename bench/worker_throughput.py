"""Worker throughput: a burst of six-image tasks through a real `run_worker` process (tiny model),
each mode in the same run: `sequential` (every stage in turn, as before: GENERATION_ENCODE_THREADS=0,
GENERATION_OVERLAP_STAGES=false) against `overlap` (the worker as configured by default: a batch's
images encoded on threads while the next batch runs, and a task's moderation, storage and finish
on the job's stage thread while the job generates the next queued task) and `batched` (overlap,
and the model batching across tasks: ``batch_images`` 6, so queued tasks with the same settings
share pipeline calls; it pays for small tasks: try ``--images 1``).

    .venv/bin/python bench/worker_throughput.py --database-url postgres://postgres@127.0.0.1:5432/bench_worker \
        --redis-url redis://127.0.0.1:6379/12 --tasks 12 --runs 3

Figures per mode (median of the runs): images/s and model inference / wall over the burst (from the
first task's start to the last one's end, read from the rows: the worker's start-up is not in it),
and for one six-image task alone its wall (start to end) / inference. The database is created (and
migrated) if missing; its tasks are deleted between runs. Use a Redis database nothing else uses.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._live import ROOT, prepare  # noqa: E402
from bench.fairness import clean, setup_django, start_worker, submit, tenant, wait_all  # noqa: E402

MODES = {
    "sequential": {"GENERATION_ENCODE_THREADS": "0", "GENERATION_OVERLAP_STAGES": "false"},
    "overlap": {},
    "batched": {"GENERATION_MODELS": json.dumps({"tiny": {"batch_images": 6}})},
}


def burst(client, tasks: int, images: int) -> dict[str, float]:
    from generation.models import Task

    clean()
    for _ in range(tasks):
        submit(client, images)
    wait_all()
    done = list(Task.unscoped_objects.all())
    assert all(t.state == "succeeded" for t in done), {t.state for t in done}
    wall = (max(t.finished_at for t in done) - min(t.started_at for t in done)).total_seconds()
    # Tasks batched together share their pipeline calls (and the same inference figure): count once.
    shared = {frozenset([str(t.pk), *t.run_info.get("batched_with", [])]): t for t in done}
    inference = sum(t.timings_ms["generation_inference"] for t in shared.values()) / 1000
    return {"images_per_s": sum(t.images_delivered for t in done) / wall, "inference_over_wall": inference / wall}


def single(client, images: int) -> float:
    from generation.models import Task

    clean()
    submit(client, images)
    wait_all()
    task = Task.unscoped_objects.get()
    return (task.finished_at - task.started_at).total_seconds() * 1000 / task.timings_ms["generation_inference"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_worker")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=12, help="tasks in a burst")
    parser.add_argument("--images", type=int, default=6, help="images per task")
    args = parser.parse_args()
    env = prepare(args.database_url, args.redis_url)
    setup_django(env)
    client = tenant()
    figures: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for run in range(args.runs):
        for mode, extra in MODES.items():  # one worker at a time, alternating: drift hits both
            worker = start_worker(env, extra, ROOT / "var" / f"bench-worker-{mode}.log", warm_up=True)
            try:
                row = {
                    **burst(client, args.tasks, args.images),
                    "single_wall_over_inference": single(client, args.images),
                }
            finally:
                os.killpg(worker.pid, 15)
                worker.wait(timeout=180)
            figures[mode].append(row)
            print(f"run {run + 1} {mode:10} " + " ".join(f"{k} {v:.2f}" for k, v in row.items()), flush=True)
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.tasks} tasks x {args.images} images")
    medians = {mode: {k: statistics.median(r[k] for r in rows) for k in rows[0]} for mode, rows in figures.items()}
    for mode, row in medians.items():
        print(f"{mode:10} " + " ".join(f"{k} {v:.2f}" for k, v in row.items()))
    for mode in ("overlap", "batched"):
        ratio = medians[mode]["images_per_s"] / medians["sequential"]["images_per_s"]
        print(f"images/s {mode} / sequential: {ratio:.2f}")


if __name__ == "__main__":
    main()
