"""A Hive v2 client that sends none of the new options sees the answer it saw before they existed.

``recorded/hive_v2_seed_task.json`` was recorded from the code before customer choices (issue 15)
with ``RECORD_HIVE_ANSWER=1``; values that change per run (ids, times, seeds, hashes, signed links,
timings) are replaced by placeholders, everything else (keys, their order, types, values) must be
byte-for-byte the same. The only member added since is the ``reproducibility`` extension. One
order is the database's, not the code's: ``timings_ms`` is a JSON column, which PostgreSQL's jsonb
gives back with its keys sorted its own way and SQLite as written, so its keys are compared sorted."""

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import SEED_REQUEST, poll, submit

pytestmark = pytest.mark.django_db(transaction=True)
RECORDED = Path(__file__).parent / "recorded" / "hive_v2_seed_task.json"
ADDED_EXTENSIONS = ("reproducibility",)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VOLATILE = {"created_on", "started_on", "finished_on", "url", "sha256", "seed", "model_version", "user_id"}


def normalise(value, key=None):
    if isinstance(value, dict):
        if key == "timings_ms":
            return {k: "<ms>" for k in sorted(value)}
        return {k: normalise(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, key) for v in value]
    if key in VOLATILE and value is not None:
        return f"<{key}>"
    if key == "project_id":
        return "<project_id>"
    if isinstance(value, str):
        return UUID.sub("<uuid>", value)
    return value


def test_a_hive_v2_request_without_new_fields_answers_as_before(api, run_worker):
    queued = submit(api, SEED_REQUEST)
    run_worker()
    answers = {"queued": normalise(queued), "succeeded": normalise(poll(api, queued["id"]))}
    if os.environ.get("RECORD_HIVE_ANSWER"):
        RECORDED.write_text(json.dumps(answers, indent=1) + "\n")
    for answer in answers.values():
        for name in ADDED_EXTENSIONS:
            answer.pop(name, None)
    recorded = normalise(json.loads(RECORDED.read_text()))  # placeholders stay; timings_ms sorted
    assert json.dumps(answers, indent=1) == json.dumps(recorded, indent=1)
