from __future__ import annotations

import json

import pytest
from PIL import Image as PILImage

from generation.engine.registry import ModelSpec
from moderation.checks import reset_image_moderator
from tests.conftest import TEST_REDIS_URL


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> dict[str, str]:
    """Photographs that ship with scikit-image: "astronaut" (a portrait of Eileen Collins, which
    NudeNet labels FACE_FEMALE) and "rocket" (nothing NudeNet labels)."""
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    out = {}
    for name in ("astronaut", "rocket"):
        path = folder / f"{name}.png"
        PILImage.fromarray(getattr(data, name)()).save(path)
        out[name] = str(path)
    return out


def still_spec(name: str, files: list[str]) -> ModelSpec:
    return ModelSpec(
        name=name, family="still", source=":".join(files), steps=1, guidance=0.0, native_size=512, dtype="float32"
    )


@pytest.fixture
def still_models(settings, photos):
    """Two "still" models: ``astro`` always serves the astronaut; ``mixed`` serves image i as
    [astronaut, rocket][(seed + i) % 2], so seed 0 and three images give astronaut, rocket,
    astronaut. Returns the GENERATION_MODELS JSON for worker processes."""
    specs = {
        "astro": still_spec("astro", [photos["astronaut"]]),
        "mixed": still_spec("mixed", [photos["astronaut"], photos["rocket"]]),
    }
    settings.MODEL_REGISTRY = {**settings.MODEL_REGISTRY, **specs}
    settings.RQ_QUEUES = {
        **settings.RQ_QUEUES,
        **{spec.queue: {"URL": TEST_REDIS_URL, "DEFAULT_TIMEOUT": 600} for spec in specs.values()},
    }
    return json.dumps({name: {k: v for k, v in spec.as_dict().items() if k != "name"} for name, spec in specs.items()})


@pytest.fixture
def fresh_moderator():
    """Detectors loaded again from the current MODERATION_* settings, and forgotten afterwards."""
    reset_image_moderator()
    yield
    reset_image_moderator()
