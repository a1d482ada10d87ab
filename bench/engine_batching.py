"""Batched vs one-by-one generation with the engine.

    .venv/bin/python bench/engine_batching.py [--model tiny] [--images 6] [--runs 5]

Baseline: one pipeline call per image. Measured: one batched call (num_images_per_prompt) for
all images, as the worker does. Prints the median of --runs runs of each and their ratio.
Run it on the machine whose figures you record (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.engine import Engine, GenerationRequest, build_registry  # noqa: E402


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    spec = build_registry()[args.model]
    engine = Engine.load(replace(spec, max_batch=args.images))
    engine.warm_up()
    seeds = list(range(args.images))
    prompt = "modern architecture house"

    def one_by_one():
        for seed in seeds:
            engine.generate(GenerationRequest(prompt=prompt, negative_prompt="grass, pool", seeds=[seed]))

    def batched():
        engine.generate(GenerationRequest(prompt=prompt, negative_prompt="grass, pool", seeds=seeds))

    baseline, measured = [], []
    for _ in range(args.runs):  # interleaved so drift hits both alike
        baseline.append(timed(one_by_one))
        measured.append(timed(batched))
    b, m = statistics.median(baseline), statistics.median(measured)
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs, device {engine.device}/{engine.dtype}")
    print(f"model {args.model}, {args.images} images, {args.runs} runs each (median)")
    print(f"one call per image: {b:.3f} s")
    print(f"one batched call:   {m:.3f} s")
    print(f"ratio (one-by-one / batched): {b / m:.2f}x")


if __name__ == "__main__":
    main()
