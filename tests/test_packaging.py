"""The wheel is made by package discovery (setup.py): every app with its migrations, commands,
templates and static files, platform/ as `imgplatform`, no tests; and setuptools has nothing to
warn about."""

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_the_wheel_ships_every_package_and_its_files_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "absent from the `packages` configuration" not in result.stdout + result.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {str(path.relative_to(ROOT)) for app in ROOT.glob("*/apps.py") for path in app.parent.rglob("*")}
    wanted = {name for name in shipped if name.endswith((".py", ".html", ".js", ".css", ".json"))}
    assert wanted - names == set()
    for name in (
        "imgplatform/settings.py",
        "imgplatform/checks.py",
        "moderation/terms.json",
        "accounts/templates/admin/accounts/apikey/issued.html",
        "accounts/management/commands/create_project.py",
        "console/static/console/vendor/chartjs/chart.umd.min.js",
    ):
        assert name in names, name
    assert not any(name.startswith(("tests/", "bench/", "platform/")) for name in names)
