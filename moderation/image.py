"""Image moderation: detectors score every generated image, a policy decides which scores block.

* :class:`NudityDetector` runs NudeNet's 320n ONNX detector (shipped inside the ``nudenet``
  package, CPU, offline) over all of a task's images in one batched call. Its labels are body-part
  classes such as ``FEMALE_BREAST_EXPOSED`` or ``FACE_FEMALE``; an image's score for a label is the
  highest confidence of any box with that label.
* :class:`ClipChecker`, optional, loads a CLIP model from a local directory and scores each image
  against text descriptions of nudity, gore and violence (zero-shot): its labels are
  ``clip:nsfw``, ``clip:gore`` and ``clip:violence``, each the probability mass of that category's
  descriptions against neutral ones.

No Django here: the worker builds an :class:`ImageModerator` once and passes a policy per task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

NUDENET_LABELS = (
    "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED", "BELLY_COVERED",
    "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE", "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED", "BUTTOCKS_COVERED",
)  # fmt: skip

# What each CLIP category is compared with. The neutral descriptions take the probability mass of
# ordinary images, so a category's score is high only when its own descriptions fit best.
CLIP_CONCEPTS: dict[str, tuple[str, ...]] = {
    "nsfw": ("an explicit photo of a naked person", "a pornographic image", "a photo of exposed genitals"),
    "gore": ("a gory photo of blood and open wounds", "a mutilated body", "a severed body part"),
    "violence": ("a violent attack with a weapon", "a person being shot or stabbed", "a brutal beating"),
}
CLIP_NEUTRAL = (
    "an ordinary photo", "a landscape", "a portrait of a clothed person", "an illustration",
    "a photo of food", "a photo of an animal", "a building", "an abstract pattern",
)  # fmt: skip
CLIP_LABELS = tuple(f"clip:{name}" for name in CLIP_CONCEPTS)
KNOWN_LABELS = NUDENET_LABELS + CLIP_LABELS


@dataclass(frozen=True)
class ImagePolicy:
    """label -> the score from which an image is blocked. Labels not listed never block."""

    thresholds: Mapping[str, float]

    def flagged(self, scores: Mapping[str, float]) -> list[str]:
        return sorted(label for label, minimum in self.thresholds.items() if scores.get(label, 0.0) >= minimum)


@dataclass
class ImageVerdict:
    index: int
    scores: dict[str, float]  # every label a detector reported, highest score per label
    flagged: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)  # of the flagged labels

    @property
    def blocked(self) -> bool:
        return bool(self.flagged)

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": "block" if self.blocked else "pass",
            "flagged": self.flagged,
            "thresholds": self.thresholds,
            "scores": self.scores,
        }

    def reason(self) -> str:
        parts = [
            f"{label} {self.scores[label]:.2f} (blocks from {self.thresholds[label]:.2f})" for label in self.flagged
        ]
        return f"image {self.index}: " + ", ".join(parts)


class NudityDetector:
    """NudeNet's detector, loaded once. ``scores`` runs every image in one ONNX call.

    The model sees a 320x320 input (its ``input_width``), so each picture is scaled down to that
    first (Pillow, antialiased) rather than handed over at 1024x1024 for NudeNet to flip, pad and
    resize with OpenCV; and the boxes are decoded with numpy over all 2,100 candidates at once
    instead of NudeNet's loop in Python. The input tensor (zero padding to the right and bottom,
    1/255, NudeNet's channel order) and the boxes kept (score >= 0.2, its non-maximum suppression)
    are NudeNet's own: a test compares both with the package on the same pictures. Six images
    took 330-345 ms before and 192-202 ms after (docs/benchmarks.md, "Image moderation")."""

    MIN_SCORE = 0.2  # NudeNet's: candidates below it are not boxes
    NMS_SCORE, NMS_IOU = 0.25, 0.45

    def __init__(self, model_path: str | None = None):
        from importlib.metadata import version

        from nudenet import NudeDetector

        self._detector = NudeDetector(model_path=model_path or None)
        self.side = self._detector.input_width
        self.name = f"nudenet-{version('nudenet')}-320n" if not model_path else f"nudenet:{model_path}"

    def model_input(self, image) -> tuple[Any, tuple[int, int]]:
        """``image`` as the model's input (1, 3, side, side) float32, and the size it was scaled
        to (the picture fills the top-left corner; the rest is zeros)."""
        import numpy as np
        from PIL import Image

        image = image.convert("RGB")
        scale = self.side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        if image.size != size:
            image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        blob = np.zeros((1, 3, self.side, self.side), dtype=np.float32)
        # NudeNet turns OpenCV's BGR into RGB and then asks blobFromImage to swap red and blue
        # again: its model is fed blue, green, red, in that order.
        blob[0, :, : size[1], : size[0]] = np.asarray(image, dtype=np.float32)[:, :, ::-1].transpose(2, 0, 1)
        blob *= np.float32(1 / 255.0)
        return blob, size

    def scores(self, images: Sequence[Any]) -> list[dict[str, float]]:
        import numpy as np

        if not images:
            return []
        inputs = [self.model_input(image) for image in images]
        session = self._detector.onnx_session
        feeds = {self._detector.input_name: np.concatenate([blob for blob, _ in inputs])}
        outputs = session.run(None, feeds)[0]
        return [self._best_per_label(output, size) for output, (_, size) in zip(outputs, inputs, strict=True)]

    def _best_per_label(self, output, size: tuple[int, int]) -> dict[str, float]:
        """The highest score of each label among the boxes NudeNet keeps, from one image's raw
        output (4 box values and one score per label, for each candidate)."""
        import cv2
        import numpy as np

        candidates = output.T  # (candidates, 4 + labels)
        scores = candidates[:, 4:].max(axis=1)
        keep = scores >= self.MIN_SCORE
        if not keep.any():
            return {}
        candidates, scores = candidates[keep], scores[keep]
        labels = candidates[:, 4:].argmax(axis=1)
        # Centre and size to a top-left corner, clipped to the picture (not to its padding).
        width, height = size
        x = np.clip(candidates[:, 0] - candidates[:, 2] / 2, 0, width)
        y = np.clip(candidates[:, 1] - candidates[:, 3] / 2, 0, height)
        w = np.minimum(candidates[:, 2], width - x)
        h = np.minimum(candidates[:, 3], height - y)
        boxes = np.stack([x, y, w, h], axis=1).astype(np.float64)
        kept = cv2.dnn.NMSBoxes(boxes.tolist(), scores.astype(np.float64).tolist(), self.NMS_SCORE, self.NMS_IOU)
        best: dict[str, float] = {}
        for i in np.asarray(kept, dtype=int).reshape(-1):
            label = NUDENET_LABELS[labels[i]]
            best[label] = max(best.get(label, 0.0), round(float(scores[i]), 4))
        return best


class ClipChecker:
    """Zero-shot CLIP scoring against :data:`CLIP_CONCEPTS`, loaded once from a local directory
    (``CLIPModel`` weights plus its processor files); the text side is encoded once at load."""

    def __init__(self, path: str):
        import torch
        from transformers import CLIPModel, CLIPProcessor

        self.name = f"clip:{path}"
        self.model = CLIPModel.from_pretrained(path, local_files_only=True).eval()
        self.processor = CLIPProcessor.from_pretrained(path, local_files_only=True)
        self.prompts = [p for concepts in CLIP_CONCEPTS.values() for p in concepts] + list(CLIP_NEUTRAL)
        text = self.processor(text=self.prompts, return_tensors="pt", padding=True)
        with torch.inference_mode():
            features = self.model.get_text_features(**text)
            features = getattr(features, "pooler_output", features)
        self.text_features = features / features.norm(dim=-1, keepdim=True)

    def scores(self, images: Sequence[Any]) -> list[dict[str, float]]:
        import torch

        if not images:
            return []
        pixels = self.processor(images=[image.convert("RGB") for image in images], return_tensors="pt")
        with torch.inference_mode():
            features = self.model.get_image_features(pixel_values=pixels["pixel_values"])
            features = getattr(features, "pooler_output", features)
            features = features / features.norm(dim=-1, keepdim=True)
            logits = self.model.logit_scale.exp() * features @ self.text_features.T
            probs = logits.softmax(dim=-1)
        out = []
        for row in probs.tolist():
            scores, position = {}, 0
            for name, concepts in CLIP_CONCEPTS.items():
                scores[f"clip:{name}"] = round(sum(row[position : position + len(concepts)]), 4)
                position += len(concepts)
            out.append(scores)
        return out


class ImageModerator:
    """The detectors of one worker process. ``moderate`` scores a task's images with each of them
    (each batched over the images) and applies the task's policy."""

    def __init__(self, detectors: Sequence[NudityDetector | ClipChecker]):
        self.detectors = list(detectors)

    @classmethod
    def load(cls, *, nudenet_path: str | None = None, clip_path: str | None = None) -> ImageModerator:
        started = time.perf_counter()
        detectors: list[NudityDetector | ClipChecker] = [NudityDetector(nudenet_path)]
        if clip_path:
            detectors.append(ClipChecker(clip_path))
        log.info(
            "loaded image moderation (%s) in %.0f ms", cls(detectors).describe(), (time.perf_counter() - started) * 1000
        )
        return cls(detectors)

    def describe(self) -> list[str]:
        return [d.name for d in self.detectors]

    def moderate(self, images: Sequence[Any], policy: ImagePolicy) -> list[ImageVerdict]:
        scores: list[dict[str, float]] = [{} for _ in images]
        for detector in self.detectors:
            for merged, found in zip(scores, detector.scores(images), strict=True):
                merged.update(found)
        verdicts = []
        for index, found in enumerate(scores):
            flagged = policy.flagged(found)
            verdicts.append(
                ImageVerdict(
                    index=index,
                    scores=dict(sorted(found.items())),
                    flagged=flagged,
                    thresholds={label: policy.thresholds[label] for label in flagged},
                )
            )
        return verdicts
