"""The development tools have one version each, written once in requirements/dev.txt, which
CI, tox and the pre-commit hooks all follow."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "requirements" / "dev.txt"
CONSTRAINT = "-c requirements/dev.txt"


def pins() -> dict[str, str]:
    """``{name: version}`` of requirements/dev.txt; every line must be ``name==version``."""
    found = {}
    for line in DEV.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;]*)", line.strip())
        assert match is not None, f"not a name==version pin (pip reads it as constraints): {line}"
        found[match.group(1).lower()] = match.group(2)
    return found


def tox_deps() -> dict[str, list[str]]:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini", encoding="utf-8")
    return {
        section: [line.strip() for line in config[section].get("deps", "").splitlines() if line]
        for section in config.sections()
        if section.startswith("testenv")
    }


def test_the_pre_commit_ruff_is_the_pinned_ruff() -> None:
    hooks = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    revision = re.search(r"astral-sh/ruff-pre-commit\s+rev:\s*v(\S+)", hooks)
    assert revision is not None, "the ruff hooks come from astral-sh/ruff-pre-commit"
    assert revision.group(1) == pins()["ruff"]


def test_every_tool_tox_installs_is_pinned_in_the_same_file() -> None:
    pinned = pins()
    for section in ("testenv", "testenv:typing", "testenv:style", "testenv:package"):
        deps = tox_deps()[section]
        assert CONSTRAINT in deps, section
        tools = [dep for dep in deps if dep != CONSTRAINT and dep != "pytest"]
        assert tools and all(tool.lower() in pinned for tool in tools), (section, tools)


def test_ci_installs_the_pinned_tools() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^install_python .*-r requirements/dev\.txt$", ci, flags=re.M)
    assert "ruff format --check" in ci
