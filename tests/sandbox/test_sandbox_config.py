"""``FLOWGLAD_SANDBOX`` as a state file, and ``FLOWGLAD_SANDBOX_PRICING``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_flowglad import ConfigurationError, Flowglad
from flask_flowglad.sandbox import PricingError, Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")


def sandbox_of(tmp_path: Path, **config: Any) -> Any:
    app = Flask("configured", instance_path=str(tmp_path / "instance"), root_path=str(tmp_path))
    app.config.update(config)
    Flowglad(app)
    return app.extensions["flowglad"].sandbox


@pytest.mark.parametrize("name", ["flowglad-sandbox.db", "state/s.sqlite", "s.SQLITE3"])
def test_a_state_file_is_relative_to_the_instance_folder(tmp_path: Path, name: str) -> None:
    sandbox = sandbox_of(tmp_path, FLOWGLAD_SANDBOX=name)
    assert sandbox.path == str(tmp_path / "instance" / name)
    sandbox.create_customer("u1")
    assert Sandbox(path=sandbox.path).billing("u1")["customer"]["externalId"] == "u1"


def test_an_absolute_path_or_a_path_object_is_used_as_it_is(tmp_path: Path) -> None:
    assert sandbox_of(tmp_path, FLOWGLAD_SANDBOX=str(tmp_path / "a.db")).path == str(
        tmp_path / "a.db"
    )
    assert sandbox_of(tmp_path, FLOWGLAD_SANDBOX=tmp_path / "b.state").path == str(
        tmp_path / "b.state"
    )


@pytest.mark.parametrize("value", ["ture", "sandbox.json", "instance/sandbox", " "])
def test_anything_else_is_refused_naming_the_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError, match="FLOWGLAD_SANDBOX must be True, False, a"):
        sandbox_of(tmp_path, FLOWGLAD_SANDBOX=value)


def test_true_is_a_sandbox_in_memory(tmp_path: Path) -> None:
    sandbox = sandbox_of(tmp_path, FLOWGLAD_SANDBOX=True)
    assert sandbox.path is None
    assert not (tmp_path / "instance").exists()


def test_the_pricing_file_is_relative_to_the_root_path_and_checked_at_start(
    tmp_path: Path,
) -> None:
    (tmp_path / "pricing.json").write_text(
        json.dumps({"products": [{"slug": "solo", "default": True, "prices": [{"slug": "solo"}]}]})
    )
    sandbox = sandbox_of(
        tmp_path, FLOWGLAD_SANDBOX="s.db", FLOWGLAD_SANDBOX_PRICING="pricing.json"
    )
    assert [p["slug"] for p in sandbox.pricing.record["products"]] == ["solo"]
    (tmp_path / "bad.json").write_text(
        json.dumps({"usageMeters": [{"slug": "m", "prices": [{"slug": "m_no_charge"}]}]})
    )
    with pytest.raises(PricingError, match="reserved"):
        sandbox_of(tmp_path, FLOWGLAD_SANDBOX=True, FLOWGLAD_SANDBOX_PRICING="bad.json")


def test_a_pricing_file_for_a_sandbox_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="a Sandbox object has its own pricing"):
        sandbox_of(tmp_path, FLOWGLAD_SANDBOX=Sandbox(), FLOWGLAD_SANDBOX_PRICING="p.json")


class Store(dict[str, Any]):
    """A cache backend: get, set, delete."""

    def set(self, key: str, value: Any, timeout: Any = None) -> bool:
        self[key] = value
        return True

    def delete(self, key: str) -> bool:
        return self.pop(key, None) is not None


def test_a_state_files_billing_cache_entries_are_shared_by_processes(tmp_path: Path) -> None:
    """An in-memory sandbox is each process's own; a state file is one Flowglad."""
    caches = {}
    for setting in (True, "s.db"):
        app = Flask("cached", instance_path=str(tmp_path / "instance"))
        app.config.update(FLOWGLAD_SANDBOX=setting, FLOWGLAD_BILLING_CACHE=Store())
        Flowglad(app)
        caches[setting] = app.extensions["flowglad"].billing_cache
    assert caches[True]._per_process is True
    assert caches["s.db"]._per_process is False
