"""The console's own files: the vendored chart library is the one the README names, with its
licence, served by the app; the demo data the screenshots use makes a dashboard that adds up; the
screenshot script never opens the developer's database."""

from __future__ import annotations

import os
import re
import runpy
from pathlib import Path

from django.contrib.staticfiles import finders

from console import metrics
from console.demo import seed_demo
from generation.models import Task
from tests.factories import ProjectFactory

ROOT = Path(__file__).resolve().parents[2]


def test_the_vendored_chartjs_is_the_version_the_readme_names_and_keeps_its_licence():
    script = finders.find("console/vendor/chartjs/chart.umd.min.js")
    licence = finders.find("console/vendor/chartjs/LICENSE.md")
    assert script and licence
    version = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", Path(script).read_text()[:300]).group(1)
    assert "MIT License" in Path(licence).read_text()
    assert f"| Chart.js {version} (MIT, vendored) |" in (ROOT / "README.md").read_text()


def test_the_dashboard_page_loads_only_local_scripts(staff_client):
    html = staff_client.get("/admin/console/").content.decode()
    sources = re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert "/static/console/vendor/chartjs/chart.umd.min.js" in sources
    assert "/static/console/charts.js" in sources
    assert all(src.startswith("/static/") for src in sources)


def test_demo_traffic_adds_up_on_the_dashboard(db):
    projects = [ProjectFactory(), ProjectFactory()]
    written = seed_demo(projects, days=2, per_day=8)
    data = metrics.dashboard(window=metrics.WINDOWS["7d"])
    assert data["summary"]["total"] == written == Task.unscoped_objects.count()
    assert sum(row["total"] for row in data["daily"]["rows"]) == written


def test_the_screenshot_script_uses_a_temporary_database(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", {**os.environ, "DATABASE_URL": "postgres://someone@db/their_own"})
    script = runpy.run_path(str(ROOT / "scripts" / "screenshots.py"), run_name="not_main")
    env = script["setup_environment"](tmp_path)
    assert env["DATABASE_URL"] == f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert env["MEDIA_ROOT"] == str(tmp_path / "media") and env["VAR_DIR"] == str(tmp_path)
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/14"
