"""Image moderation of one task's images: one batched NudeNet call against one call per image,
and against NudeNet's own path.

    .venv/bin/python bench/moderation_batching.py [--images 6] [--runs 7]

The images are scikit-image's "astronaut" and "rocket" photographs, resized to 1024x1024 as the
engine hands them over. Baselines: NudeNet's ``detect_batch`` on the full pictures in BGR (what
``NudityDetector.scores`` did until 2026-12-07: OpenCV pads and resizes each 1024x1024 picture,
and the boxes are decoded in a Python loop), and ``NudityDetector.scores`` once per image.
Measured: ``scores`` once for all images, as the worker does. Also prints the prompt check's
median for a long prompt. Prints the median of --runs runs of each and the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.image import NudityDetector  # noqa: E402
from moderation.text import load_terms  # noqa: E402


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from PIL import Image
    from skimage import data

    photos = [Image.fromarray(data.astronaut()), Image.fromarray(data.rocket())]
    images = [photos[i % 2].convert("RGB").resize((1024, 1024), Image.Resampling.LANCZOS) for i in range(args.images)]
    load_started = time.perf_counter()
    detector = NudityDetector()
    load_s = time.perf_counter() - load_started
    detector.scores(images[:1])  # warm-up

    import numpy as np

    def nudenet_path() -> None:
        bgr = [np.ascontiguousarray(np.asarray(image)[:, :, ::-1]) for image in images]
        detector._detector.detect_batch(bgr, batch_size=len(bgr))

    library, baseline, measured = [], [], []
    for _ in range(args.runs):  # interleaved so drift hits all alike
        library.append(timed(nudenet_path))
        baseline.append(timed(lambda: [detector.scores([image]) for image in images]))
        measured.append(timed(lambda: detector.scores(images)))
    n, b, m = statistics.median(library), statistics.median(baseline), statistics.median(measured)

    terms = load_terms()
    prompt = "photorealistic portrait of a woman in a red dress in a field of sunflowers, golden hour, 35mm " * 20
    text = statistics.median(timed(lambda: terms.check({"text_data": prompt[:2000]})) for _ in range(args.runs))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"detector load: {load_s * 1000:.0f} ms; {args.images} images of 1024x1024, {args.runs} runs each (median)")
    print(f"NudeNet's own path, batched: {n * 1000:.0f} ms")
    print(f"one call per image:          {b * 1000:.0f} ms")
    print(f"one batched call:            {m * 1000:.0f} ms")
    print(f"NudeNet's path / batched: {n / m:.2f}x; per image / batched: {b / m:.2f}x")
    print(f"prompt check, 2000 characters: {text * 1000:.2f} ms")


if __name__ == "__main__":
    main()
