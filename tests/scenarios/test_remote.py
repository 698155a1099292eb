"""`replay --url`: a scenario run against a shared, running emulator works in tenants of its own
and leaves every other tenant's data as it was."""

from __future__ import annotations

import xml.etree.ElementTree as ET
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


def test_every_shipped_scenario_passes_with_url_and_those_that_load_a_state_are_skipped(
    emulator: EmulatorHandle,
    contracts: ContractRegistry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = sorted(SHIPPED.rglob("*.yaml"))
    with_state = [f for f in files if "state" in load(f, contracts).document]
    assert [f.name for f in with_state] == ["seed-state-known-customer.yaml"]
    tenants = emulator.client.tenants()
    report = tmp_path / "scenarios.xml"

    code = replay([str(SHIPPED)], report, url=emulator.url)

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{len(files) - 1} passed, 0 failed, 1 skipped" in out
    assert "skip " in out and "would replace the whole server's; replay it without --url" in out
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        str(len(files)),
        "0",
        "1",
    )
    assert len(suite.findall("testcase/skipped")) == 1
    assert emulator.client.tenants() == tenants
