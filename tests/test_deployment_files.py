"""The container files start exactly the roles of scripts/serve, and the Grafana dashboard asks only
for metrics the platform exports. (The images themselves are not built here: no registry.)"""

from __future__ import annotations

import json
import re

import yaml
from imgplatform import metrics  # noqa: F401 - registers the platform's metrics
from prometheus_client import REGISTRY

from tests.conftest import ROOT

ROLES = {"web", "worker", "callbacks", "default", "scheduler", "metrics"}


def test_serve_knows_exactly_the_roles():
    usage = re.search(r"usage: scripts/serve ([a-z|]+)", (ROOT / "scripts" / "serve").read_text()).group(1)
    assert set(usage.split("|")) == ROLES


def test_the_dockerfile_starts_roles_through_scripts_serve():
    text = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["bash", "scripts/serve"]' in text and 'CMD ["web"]' in text


def test_compose_starts_each_role_from_the_image_and_shares_no_image_folder():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    started = {name: spec.get("command") for name, spec in services.items() if spec.get("image") == "imagegen:cpu"}
    started.pop("migrate")
    assert all(len(command) == 1 and command[0] in ROLES for command in started.values())
    assert {command[0] for command in started.values()} == ROLES
    for name, spec in services.items():  # images go to the object store, never to a shared volume
        assert not any("media" in volume for volume in spec.get("volumes", [])), name
    assert services["web"]["environment"]["IMAGE_STORAGE"] == "s3"


def test_the_dashboard_asks_only_for_exported_metrics():
    exported = {"imagegen_queue_depth", "imagegen_queue_oldest_seconds"}  # read from Redis at scrape time
    for family in REGISTRY.collect():
        exported |= {family.name, f"{family.name}_total"}
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    asked = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            asked |= {re.sub(r"_(bucket|sum|count)$", "", name) for name in re.findall(r"imagegen_\w+", target["expr"])}
    assert asked and asked <= exported, asked - exported
    titles = " ".join(panel["title"] for panel in dashboard["panels"])
    for needed in ("Queue depth", "by state", "p50", "p95", "Callback failures"):
        assert needed in titles
