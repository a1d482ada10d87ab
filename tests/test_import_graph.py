"""The shape of the code, checked on every run (docs/architecture.md, "The import graph").

1. The apps import each other in one direction only, so there is no cycle:

       imgplatform (platform/)  <-  accounts  <-  generation  <-  billing, callbacks, console

   ``a <- b``: ``b`` may import ``a``, never the reverse; ``billing``, ``callbacks`` and ``console``
   never import each other. ``moderation/`` and the engine (``generation/engine/``) are libraries
   that import no app, and ``imgplatform`` imports none either (it names apps by dotted string
   only: INSTALLED_APPS, ``include("app.urls")``). Every import counts, at module level or inside a
   function; only those under ``if TYPE_CHECKING:`` (annotations) are left out, and migrations.
   How a lower app reaches an upper one instead: signals and registries, e.g. ``task_ended``
   (generation/signals.py) that billing and callbacks subscribe to.
2. No function or method of the apps is longer than 60 lines (``def`` to its last line; migrations
   left out): a longer one is split into named steps.

Both are a small walk over the syntax trees of the packages: no import is executed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Package name -> its folder (the project's configuration is the folder platform/, imported as
# imgplatform: see the README).
PACKAGES = {
    "imgplatform": "platform",
    "accounts": "accounts",
    "generation": "generation",
    "billing": "billing",
    "callbacks": "callbacks",
    "console": "console",
    "moderation": "moderation",
}
ENGINE = "generation.engine"
# Who may import whom: an app imports only apps of a lower layer (never one of its own layer).
LAYERS = {"imgplatform": 0, "accounts": 1, "generation": 2, "billing": 3, "callbacks": 3, "console": 3}
# Libraries: they import nothing of the project but themselves.
LIBRARIES = {"moderation", ENGINE}
MAX_FUNCTION_LINES = 60


def source_files() -> Iterator[tuple[str, Path]]:
    """(dotted module name, path) of every Python file of the apps, migrations left out."""
    for package, folder in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join((package, *parts)), path


def owner(module: str) -> str | None:
    """The app or library ``module`` belongs to; None for anything outside the project."""
    if module == ENGINE or module.startswith(ENGINE + "."):
        return ENGINE
    top = module.split(".")[0]
    return top if top in PACKAGES else None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in ``tree`` but those under ``if TYPE_CHECKING:``.
    ``from a import b`` yields ``a.b`` (``b`` may be a module: ``from generation import engine``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".") if is_package else module.split(".")[:-1]
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name
        stack.extend(ast.iter_child_nodes(node))


def allowed(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    if importer in LIBRARIES:
        return False
    if imported == "moderation":
        return importer != "imgplatform"
    if imported == ENGINE:  # part of generation: wherever generation may be imported, and in it
        return importer == "generation" or LAYERS[importer] > LAYERS["generation"]
    return LAYERS[imported] < LAYERS[importer]


def wrong_imports() -> list[str]:
    """``path:line: importer imports module (upward|sideways)``, one per import statement and app."""
    found = {}
    for module, path in source_files():
        importer = owner(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, target in imports(tree, module, path.name == "__init__.py"):
            imported = owner(target)
            if imported is None or allowed(importer, imported):
                continue
            direction = "sideways" if LAYERS.get(importer, -1) == LAYERS.get(imported, -2) else "upward"
            where = (str(path.relative_to(ROOT)), line, imported)
            found.setdefault(where, f"{where[0]}:{line}: {importer} imports {target} ({direction})")
    return [found[where] for where in sorted(found)]


def long_functions() -> list[str]:
    found = []
    for _, path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append((str(path.relative_to(ROOT)), node.lineno, f"{node.name} is {length} lines"))
    return [f"{path}:{line}: {what}" for path, line, what in sorted(found)]


def test_every_package_is_found():
    modules = {module for module, _ in source_files()}
    for expected in ("imgplatform.settings", "accounts.models", "generation.services", ENGINE, "moderation.concepts"):
        assert expected in modules
    assert not any(".migrations" in module for module in modules)


def test_no_app_imports_upward_or_sideways():
    wrong = wrong_imports()
    assert not wrong, "imports against the layering (docs/architecture.md):\n" + "\n".join(wrong)


def test_no_function_is_longer_than_60_lines():
    long = long_functions()
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them into named steps):\n" + "\n".join(long)


def test_the_walk_sees_function_level_relative_and_type_checking_imports():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from billing.models import Plan\n"
        "def f():\n"
        "    from callbacks import services\n"
        "from . import selectors\n"
        "from .engine import runner\n"
    )
    found = sorted((line, target) for line, target in imports(tree, "generation.services", False) if owner(target))
    assert found == [(5, "callbacks.services"), (6, "generation.selectors"), (7, "generation.engine.runner")]
    assert not allowed("generation", "callbacks") and not allowed("billing", "console")
    assert not allowed("imgplatform", "accounts") and not allowed("imgplatform", "moderation")
    assert not allowed(ENGINE, "generation") and not allowed("moderation", "imgplatform")
    assert allowed("generation", ENGINE) and allowed("billing", ENGINE) and not allowed("accounts", ENGINE)
    assert allowed("console", "generation") and allowed("accounts", "imgplatform") and allowed("accounts", "moderation")
