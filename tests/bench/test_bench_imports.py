"""The benchmarks import the apps' code (often inside functions, after Django is set up): every
name they import from an app must still be there, so a refactor that moves it fails here and not
on the next person to run a benchmark."""

import ast
import importlib
from pathlib import Path

import pytest

APPS = {"accounts", "billing", "callbacks", "console", "generation", "imgplatform", "moderation"}
BENCH = Path(__file__).resolve().parents[2] / "bench"


def app_imports() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted(BENCH.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in APPS:
                found += [(path.name, node.lineno, node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(path.name, node.lineno, a.name, "") for a in node.names if a.name.split(".")[0] in APPS]
    return found


def test_the_benchmarks_import_apps():
    assert len(app_imports()) > 20  # the walk sees them


@pytest.mark.parametrize(("script", "line", "module", "name"), app_imports())
def test_every_name_a_benchmark_imports_from_the_apps_exists(script, line, module, name):
    imported = importlib.import_module(module)
    assert not name or hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}"), (
        f"bench/{script}:{line}: {module} has no {name}"
    )
