"""The lock file covers what pyproject.toml asks for, and the audit judge reads pip-audit right."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[_normal(match.group(1).split("[")[0])] = match.group(2)
    return pins


def test_every_runtime_dependency_is_locked_at_a_version_its_floor_admits() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = _locked()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = _normal(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: regenerate it (README)"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name}=={locked[name]}, outside {requirement.specifier}: "
            "regenerate it (README)"
        )


def test_every_locked_release_carries_a_hash() -> None:
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    for block in blocks:
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]


def _judge(tmp_path: Path, report: object) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "report.json"
    path.write_text(report if isinstance(report, str) else json.dumps(report))
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "audit_report.py"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_known_vulnerability_fails_the_audit_and_names_the_fix(tmp_path: Path) -> None:
    report = {
        "dependencies": [
            {"name": "flask", "version": "3.1.3", "vulns": []},
            {
                "name": "gunicorn",
                "version": "22.0.0",
                "vulns": [{"id": "GHSA-hc5x-x2vx-497g", "fix_versions": ["23.0.0"]}],
            },
        ]
    }
    result = _judge(tmp_path, report)
    assert result.returncode == 1
    assert "gunicorn 22.0.0: GHSA-hc5x-x2vx-497g (fixed in 23.0.0)" in result.stdout


@pytest.mark.parametrize(
    ("report", "said"),
    [
        ({"dependencies": [{"name": "flask", "skip_reason": "not found"}]}, "not reachable"),
        ("", "could not reach"),
        ({"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}]}, "1 locked"),
    ],
)
def test_an_unreachable_database_or_a_clean_report_passes(
    tmp_path: Path, report: object, said: str
) -> None:
    result = _judge(tmp_path, report)
    assert result.returncode == 0
    assert said in result.stdout
