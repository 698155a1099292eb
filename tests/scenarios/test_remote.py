"""`replay --url`: a scenario run against a shared, running emulator works in tenants of its own
and leaves every other tenant's data as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import load
from emulator.scenarios.replay import replay
from emulator.testing.plugin import EmulatorHandle
from tests.drivers.clevertap import CleverTapDriver, event_record
from tests.drivers.control import ControlViews

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"


def test_replay_with_url_leaves_other_tenants_data_untouched(
    emulator: EmulatorHandle,
    ct: CleverTapDriver,
    views: ControlViews,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ct.upload_ok(event_record("keeper", "Kept"))
    tenants = emulator.client.tenants()
    profiles, deliveries = views.ct_profiles(), views.deliveries()

    code = replay([str(SHIPPED / "forwarding-custom-event.yaml")], None, url=emulator.url)

    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 passed, 0 failed" in out
    # The default tenants saw nothing: same profiles, no new deliveries, no users.
    assert views.ct_profiles() == profiles
    assert [p["identities"] for p in profiles] == [["keeper"]]
    assert views.deliveries() == deliveries
    assert views.mp_users() == []
    # The scenario's own tenants and faults are gone with their data.
    assert emulator.client.tenants() == tenants
    assert views.faults() == []


def test_every_shipped_scenario_passes_with_url_but_those_that_load_a_state(
    emulator: EmulatorHandle, contracts: ContractRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(SHIPPED.rglob("*.yaml"))
    shared = [str(f) for f in files if "state" not in load(f, contracts).document]
    assert len(files) - len(shared) == 1  # seed-state-known-customer.yaml
    tenants = emulator.client.tenants()

    code = replay(shared, None, url=emulator.url)

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{len(shared)} passed, 0 failed" in out
    assert emulator.client.tenants() == tenants


def test_a_starting_state_cannot_replace_a_shared_server(
    emulator: EmulatorHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (SHIPPED / "forwarding-custom-event.yaml").read_text()
    scenario = tmp_path / "with-state.yaml"
    scenario.write_text(text.replace("clock:", "state: {inline: {}}\nclock:", 1))
    assert replay([str(scenario)], None, url=emulator.url) == 1
    assert "setup: state: a starting state replaces the whole server's" in capsys.readouterr().out
