"""The shipped package stands on its own: nothing under ``middleware/`` imports ``tests``, and
``pip install .`` ships ``middleware.testing`` (STYLE.md, dependency direction; issue 10 part 5)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from setuptools import find_packages

from tests.builders import REPO

PACKAGE = REPO / "middleware"


def imports_of_tests(path: Path) -> set[str]:
    """Absolute imports in ``path`` of ``tests`` or anything under it (relative imports cannot
    leave the package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name for name in names if name == "tests" or name.startswith("tests."))
    return found


def test_scanner_sees_both_import_forms(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import tests\nimport os, tests.builders as b\n"
        "def f():\n    from tests.fakes import x\n"
        "from . import tests_like\nfrom testsuite import y\n"
    )
    assert imports_of_tests(sample) == {"tests", "tests.builders", "tests.fakes"}


def test_nothing_under_middleware_imports_tests() -> None:
    found = {
        (path.relative_to(REPO).as_posix(), module)
        for path in sorted(PACKAGE.rglob("*.py"))
        for module in imports_of_tests(path)
    }
    assert found == set(), "middleware/ must not import tests/"


def test_pip_install_ships_middleware_testing() -> None:
    """The packages setuptools finds with pyproject's include pattern, as ``pip install .`` does."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = set(find_packages(where=str(REPO), include=include))
    assert {"middleware.testing", "middleware.testing.google"} <= packages
    assert not any(p == "tests" or p.startswith("tests.") for p in packages)
    # Every directory holding modules under middleware/testing is a package, so none is left out.
    for directory in {p.parent for p in (PACKAGE / "testing").rglob("*.py")}:
        assert (directory / "__init__.py").is_file(), directory


def test_pip_install_ships_the_dashboards_templates_and_static_files() -> None:
    """Every file of the dashboard that is not Python is matched by pyproject's package-data
    (setuptools' globs, relative to the package), so an installed copy serves its pages."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["middleware"]
    shipped = {path for pattern in patterns for path in PACKAGE.glob(pattern) if path.is_file()}
    dashboard = PACKAGE / "web" / "dashboard"
    needed = {
        path
        for folder in ("templates", "static")
        for path in (dashboard / folder).rglob("*")
        if path.is_file()
    }
    assert needed, "the dashboard has no templates or static files?"
    assert sorted(p.relative_to(PACKAGE).as_posix() for p in needed - shipped) == []
    names = {p.name for p in needed}
    assert {"base.html", "htmx.min.js", "htmx.LICENSE.txt", "dashboard.css"} <= names
