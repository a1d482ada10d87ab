"""The real image detectors: NudeNet's ONNX model on scikit-image's photographs, and the CLIP
checker's code path with a tiny CLIP model built offline. No test uses an explicit image."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from PIL import Image as PILImage

from moderation.checks import load_image_moderator
from moderation.image import ClipChecker, ImageModerator, ImagePolicy, NudityDetector
from moderation.policy import image_policy
from tests.moderation.tiny_clip import save_tiny_clip

FACE_FEMALE = ImagePolicy({"FACE_FEMALE": 0.5})


@pytest.fixture(scope="module")
def detector():
    return NudityDetector()


@pytest.fixture(scope="module")
def pictures(photos):
    # As the engine hands them over: decoded RGB, resized to 1024x1024.
    return {
        name: PILImage.open(path).convert("RGB").resize((1024, 1024), PILImage.Resampling.LANCZOS)
        for name, path in photos.items()
    }


def test_nudenet_finds_the_astronauts_face_and_nothing_on_the_rocket(detector, pictures):
    astronaut, rocket = detector.scores([pictures["astronaut"], pictures["rocket"]])
    assert astronaut["FACE_FEMALE"] > 0.6
    assert rocket == {}


def test_the_detector_feeds_and_reads_the_model_as_nudenet_does(detector, pictures):
    """The detector builds the model's input itself (scaled to 320 with Pillow) and decodes its
    boxes with numpy: on the same scaled picture, NudeNet's own preprocessing gives the same
    tensor and its own decoding the same best score per label, for square and wide pictures."""
    import numpy as np
    from nudenet.nudenet import _read_image
    from skimage import data

    more = {name: PILImage.fromarray(getattr(data, name)()).convert("RGB") for name in ("coffee", "chelsea")}
    cases = [pictures["astronaut"], pictures["rocket"], *more.values(), pictures["rocket"].resize((1024, 576))]
    for picture in cases:
        blob, size = detector.model_input(picture)
        assert max(size) == 320 and blob.shape == (1, 3, 320, 320)
        scaled = picture.resize(size, PILImage.Resampling.BILINEAR, reducing_gap=2.0)
        bgr = np.ascontiguousarray(np.asarray(scaled)[:, :, ::-1])
        assert np.array_equal(blob, _read_image(bgr, 320)[0])
        theirs: dict[str, float] = {}
        for box in detector._detector.detect(bgr):
            theirs[box["class"]] = max(theirs.get(box["class"], 0.0), round(box["score"], 4))
        assert detector.scores([picture])[0] == theirs
    # Scaling first moves a score little against NudeNet on the full 1024x1024 picture.
    full = detector._detector.detect(np.ascontiguousarray(np.asarray(pictures["astronaut"])[:, :, ::-1]))
    face = max(box["score"] for box in full if box["class"] == "FACE_FEMALE")
    assert detector.scores([pictures["astronaut"]])[0]["FACE_FEMALE"] == pytest.approx(face, abs=0.05)


class CountingSession:
    """Wraps the ONNX session to count inference calls (it still runs every one)."""

    def __init__(self, session):
        self.session = session
        self.batches: list[int] = []

    def run(self, outputs, feeds):
        self.batches.append(next(iter(feeds.values())).shape[0])
        return self.session.run(outputs, feeds)

    def __getattr__(self, name):
        return getattr(self.session, name)


def test_all_images_of_a_task_go_through_one_batched_call(pictures):
    detector = NudityDetector()
    counting = CountingSession(detector._detector.onnx_session)
    detector._detector.onnx_session = counting
    images = [pictures["astronaut"], pictures["rocket"]] * 3
    batched = detector.scores(images)
    assert counting.batches == [6]
    # The batch gives each image the scores it gets alone.
    alone = detector.scores([pictures["astronaut"]])[0]
    assert batched[0]["FACE_FEMALE"] == pytest.approx(alone["FACE_FEMALE"], abs=1e-3)
    assert batched[1] == {} and batched[4]["FACE_FEMALE"] == batched[0]["FACE_FEMALE"]


def test_policy_decides_per_label_and_keeps_every_score(detector, pictures):
    moderator = ImageModerator([detector])
    blocked, passed = moderator.moderate([pictures["astronaut"], pictures["rocket"]], FACE_FEMALE)
    assert blocked.blocked and blocked.flagged == ["FACE_FEMALE"]
    assert blocked.thresholds == {"FACE_FEMALE": 0.5}
    assert "FACE_FEMALE 0.7" in blocked.reason() or "FACE_FEMALE 0.6" in blocked.reason()
    assert not passed.blocked and passed.as_dict()["decision"] == "pass"
    # The default policy does not block a face.
    default = image_policy({"FEMALE_BREAST_EXPOSED": 0.45}, None)
    assert not moderator.moderate([pictures["astronaut"]], default)[0].blocked
    # A project can switch a deployment label off (null) or add one.
    assert image_policy({"FACE_FEMALE": 0.5}, {"image_thresholds": {"FACE_FEMALE": None}}).thresholds == {}
    assert image_policy({}, {"image_thresholds": {"FACE_FEMALE": 0.9}}).thresholds == {"FACE_FEMALE": 0.9}


def test_the_worker_loads_its_detectors_once(settings, fresh_moderator):
    first = load_image_moderator()
    assert load_image_moderator() is first
    assert first.describe() == [f"nudenet-{version('nudenet')}-320n"]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> str:
    return str(save_tiny_clip(tmp_path_factory.mktemp("tiny-clip")))


def test_clip_checker_from_a_local_directory_scores_each_category(tiny_clip, pictures):
    checker = ClipChecker(tiny_clip)
    scores = checker.scores([pictures["astronaut"], pictures["rocket"], pictures["astronaut"]])
    assert len(scores) == 3
    for row in scores:
        assert set(row) == {"clip:nsfw", "clip:gore", "clip:violence"}
        assert all(0.0 <= value <= 1.0 for value in row.values())
        assert sum(row.values()) < 1.0  # the neutral descriptions hold the rest
    assert scores[0] == scores[2]  # same picture, same scores, whatever its place in the batch


def test_clip_and_nudenet_together_with_a_policy_on_clip_labels(tiny_clip, pictures):
    moderator = ImageModerator.load(clip_path=tiny_clip)
    assert moderator.describe()[1] == f"clip:{tiny_clip}"
    strict = ImagePolicy({"clip:gore": 0.0})  # every image blocks: proves the CLIP score reaches the decision
    verdict = moderator.moderate([pictures["rocket"]], strict)[0]
    assert verdict.flagged == ["clip:gore"] and "clip:nsfw" in verdict.scores
    lenient = ImagePolicy({"clip:gore": 1.0})
    assert not moderator.moderate([pictures["rocket"]], lenient)[0].blocked
