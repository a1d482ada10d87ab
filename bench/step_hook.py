"""What the worker's step hook costs a generation: progress and the cancel check, every step.

    .venv/bin/python bench/step_hook.py [--redis redis://127.0.0.1:6379/15] [--calls 2000] [--steps 20] [--runs 5]

1. Per step, in a loop of ``--calls`` calls (median of ``--runs``): the hook the worker uses
   (``generation.progress.StepReporter``: one ``EVALSHA`` that reads the cancel flag and, when due,
   publishes progress and records it), once with progress due every step (interval 0) and once
   throttled (0.25 s, what runs by default); against a bare ``GET`` of the flag (the least a
   Redis-read cancel check can cost) and an empty Python function (no check at all).
2. Whole generations with the tiny model (one image, ``--steps`` steps, CPU): without a hook and
   with the worker's hook, median of ``--runs`` each, in the same run.

It writes keys under imagegen:task-progress:bench-* and publishes on the events channel (nobody
listens), and deletes the keys after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgplatform.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ["REDIS_URL"] = args.redis

    import django

    django.setup()

    from generation import queues
    from generation.engine import Engine, GenerationRequest
    from generation.engine.registry import BUILTIN
    from generation.progress import CANCEL_KEY, StepReporter

    conn = queues.connection()

    def per_call(make_hook) -> float:
        hook = make_hook()
        started = time.perf_counter()
        for step in range(1, args.calls + 1):
            hook(step, args.calls)
        return (time.perf_counter() - started) / args.calls * 1e6

    flag = CANCEL_KEY.format(task_id="bench-none")
    hooks = {
        "no check (empty function)": lambda: lambda step, steps: None,
        "bare GET of the flag": lambda: lambda step, steps: conn.get(flag),
        "StepReporter, throttled 0.25 s": lambda: StepReporter(task_id="bench-t", attempt=1, interval=0.25),
        "StepReporter, every step published": lambda: StepReporter(task_id="bench-e", attempt=1, interval=0),
    }
    print(f"1. per step, {args.calls} calls, median of {args.runs} runs")
    for name, make in hooks.items():
        runs = [per_call(make) for _ in range(args.runs)]
        print(f"   {name}: {statistics.median(runs):.1f} us (runs: {', '.join(f'{r:.1f}' for r in runs)})")

    engine = Engine.load(replace(BUILTIN["tiny"], steps=args.steps))
    engine.warm_up()
    request = GenerationRequest(prompt="a lighthouse", negative_prompt="", seeds=[1])
    hooked = "with the worker's hook"
    timings: dict[str, list[float]] = {"no hook": [], hooked: []}
    for _ in range(args.runs):  # interleaved, so a change in the machine's load hits both alike
        for name in timings:
            on_step = StepReporter(task_id="bench-g", attempt=1) if name == hooked else None
            started = time.perf_counter()
            engine.generate(request, on_step=on_step)
            timings[name].append((time.perf_counter() - started) * 1000)
    print(f"2. tiny model, 1 image, {args.steps} steps, median of {args.runs} runs")
    medians = {name: statistics.median(runs) for name, runs in timings.items()}
    for name, runs in timings.items():
        print(f"   {name}: {medians[name]:.1f} ms (runs: {', '.join(f'{r:.1f}' for r in runs)})")
    print(f"   with/without = {medians[hooked] / medians['no hook']:.3f}")
    keys = list(conn.scan_iter("imagegen:task-progress:bench-*"))
    if keys:
        conn.delete(*keys)


if __name__ == "__main__":
    main()
