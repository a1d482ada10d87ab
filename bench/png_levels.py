"""Encoding speed against size for the worker's 1024x1024 outputs: PNG compress_level 0..9,
optimize and zlib's RLE and Huffman-only strategies, with JPEG q=90 and WebP q=90 / lossless
beside them.

    .venv/bin/python bench/png_levels.py [--runs 5]

The images (none of them flat noise, which no model outputs and no codec compresses):
* ``photo``: scikit-image's "astronaut" (a 512x512 photograph) upscaled to 1024 with Lanczos,
  as the engine upscales a model's smaller output;
* ``rocket``: scikit-image's "rocket" (427x640 photograph) resized to 1024x1024;
* ``render``: a synthetic picture like a smooth generated image: two-colour gradients, filled
  shapes with soft edges and mild Gaussian grain (sigma 3), seeded.
Each figure is the median of ``--runs`` encodes of each image (CPU time of the encoding
thread), then the mean over the images.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 1024


def render(seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    base = np.stack([80 + 150 * x, 60 + 120 * y, 200 - 140 * (x * y)], axis=-1)
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x0, y0 = rng.integers(0, SIZE - 200, 2)
        w, h = rng.integers(60, 380, 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((int(x0), int(y0), int(x0 + w), int(y0 + h)), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    grain = rng.normal(0, 3, (SIZE, SIZE, 3))
    return Image.fromarray((np.asarray(image, dtype=np.float64) + grain).clip(0, 255).astype(np.uint8))


def images() -> dict[str, Image.Image]:
    from skimage import data

    def resized(array) -> Image.Image:
        return Image.fromarray(array).convert("RGB").resize((SIZE, SIZE), Image.Resampling.LANCZOS)

    return {"photo": resized(data.astronaut()), "rocket": resized(data.rocket()), "render": render()}


def formats() -> dict[str, dict]:
    out = {f"PNG level {level}": {"format": "PNG", "compress_level": level} for level in range(10)}
    out["PNG optimize"] = {"format": "PNG", "optimize": True}
    # zlib's strategies at the fast levels (Pillow's compress_type): Z_RLE and Z_HUFFMAN_ONLY skip
    # deflate's string search, which PNG's row filters leave little to find in a photograph.
    for level in (1, 2):
        for strategy, name in ((3, "RLE"), (2, "Huffman only")):
            out[f"PNG level {level}, {name}"] = {"format": "PNG", "compress_level": level, "compress_type": strategy}
    out["JPEG q=90"] = {"format": "JPEG", "quality": 90}
    out["WebP q=90"] = {"format": "WEBP", "quality": 90}
    out["WebP lossless"] = {"format": "WEBP", "lossless": True}
    return out


def encode(image: Image.Image, options: dict) -> tuple[float, int]:
    """CPU time of the encoding thread (Pillow encodes in the calling thread), so that other work
    on a shared machine does not inflate it as wall time would; and the size in bytes."""
    buffer = io.BytesIO()
    started = time.thread_time()
    image.save(buffer, **options)
    return time.thread_time() - started, buffer.tell()


def measure(pictures: dict[str, Image.Image], options: dict, runs: int) -> tuple[float, float]:
    """Mean over the images of the median encode CPU time (ms), and the mean size (KiB)."""
    times, sizes = [], []
    for image in pictures.values():
        results = [encode(image, options) for _ in range(runs)]
        times.append(statistics.median(t for t, _ in results) * 1000)
        sizes.append(results[0][1] / 1024)
    return statistics.mean(times), statistics.mean(sizes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pictures = images()
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs; Pillow {Image.__version__}; images {', '.join(pictures)}")
    print(f"median of {args.runs} encodes per image, mean over the images; 'vs level 4' = the engine's level today\n")
    rows = {name: measure(pictures, options, args.runs) for name, options in formats().items()}
    base_ms, base_kib = rows["PNG level 4"]
    print("| format | encode CPU ms | KiB | ms vs level 4 | size vs level 4 |")
    print("|---|---|---|---|---|")
    for name, (ms, kib) in rows.items():
        print(f"| {name} | {ms:.1f} | {kib:.0f} | {ms / base_ms:.2f}x | {kib / base_kib:.2f}x |")


if __name__ == "__main__":
    main()
