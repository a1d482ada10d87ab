"""The ``still`` family: a stand-in model that serves existing pictures instead of generating.

Image ``i`` of a task is ``files[seed_i % len(files)]``, so the same seeds give the same pictures.
It exists to check the moderation path with known photographs: the test suite feeds the
scikit-image "astronaut" photograph through the whole API to see the real detector block it, and
an operator can register one with canary pictures to check a deployment's policy end to end
(``GENERATION_MODELS='{"canary": {"family": "still", "source": "/srv/canary", ...}}'``). The source
is a directory of images (sorted by name) or a list of files separated by ``:``.

It has no denoising loop, but it takes diffusers' ``callback_on_step_end`` and calls it once per
nominal step (``num_inference_steps``), so progress, a model's ``step_delay`` and cancelling a
running task work with it as with a real pipeline.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


@dataclass
class _Output:
    images: list


class StillImagePipeline:
    scheduler = None
    num_timesteps = 0  # steps of the last call, as diffusers pipelines say

    def __init__(self, files: list[Path]):
        if not files:
            raise ValueError("a still model needs at least one image")
        self.files = files
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.read_bytes())
        self.digest = digest.hexdigest()[:12]

    @classmethod
    def from_source(cls, source: str) -> StillImagePipeline:
        if os.path.isdir(source):
            files = sorted(p for p in Path(source).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files = [Path(part) for part in source.split(":") if part]
        return cls(files)

    def to(self, device: str) -> StillImagePipeline:
        return self

    def set_progress_bar_config(self, **kwargs) -> None:
        pass

    def __call__(
        self, *, generator: list, num_inference_steps: int = 1, callback_on_step_end=None, **kwargs
    ) -> _Output:
        from PIL import Image

        self.num_timesteps = num_inference_steps
        if callback_on_step_end is not None:
            for i in range(num_inference_steps):
                callback_on_step_end(self, i, None, {})
        images = []
        for g in generator:
            with Image.open(self.files[g.initial_seed() % len(self.files)]) as picture:
                images.append(picture.convert("RGB"))
        return _Output(images=images)
