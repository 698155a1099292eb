"""The controls page: what it shows of the clock, faults and tenants, and the scenario run it
adds (in an app of its own: the running emulator does not change)."""

from __future__ import annotations

from pathlib import Path

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.inspector import InspectorDriver

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "fixtures" / "scenarios" / "clevertap-upload-profile-and-event.yaml"


def test_the_page_shows_the_clock_faults_and_tenants(
    inspector: InspectorDriver, emulator: EmulatorHandle
) -> None:
    emulator.client.freeze_clock("2024-01-01T10:00:00Z")
    emulator.client.add_fault(path="/1/upload", status=503, times=2)
    try:
        page = inspector.controls()
    finally:
        emulator.client.clear_faults()
        emulator.client.http.post("/clock/unfreeze")
    assert page.shows("2024-01-01T10:00:00Z", "frozen")
    assert page.shows("* /1/upload", "503", "2")
    assert page.shows(f"{emulator.clevertap['id']} (CleverTap account)")
    assert "/_emulator/state" in page.links


def test_a_scenario_runs_apart_from_the_running_emulator(
    inspector: InspectorDriver, ct: CleverTapDriver, views: ControlViews
) -> None:
    answer = inspector.run_scenario(SCENARIO.read_text(encoding="utf-8"), SCENARIO.name)
    assert answer.status_code == 200, answer.text
    verdict = answer.json()
    assert verdict["ok"] is True, verdict
    assert verdict["steps"] and all(step["ok"] for step in verdict["steps"])
    assert views.client.requests() == []  # its requests went to its own app
    assert ct.find_profile(identity="user-42") is None


def test_a_failing_scenario_names_its_step_and_problem(inspector: InspectorDriver) -> None:
    failing = SCENARIO.read_text(encoding="utf-8").replace("status: 200", "status: 201", 1)
    verdict = inspector.run_scenario(failing).json()
    assert verdict["ok"] is False
    failed = [step for step in verdict["steps"] if not step["ok"]]
    assert failed and "201" in " ".join(failed[0]["problems"]), failed


def test_a_file_that_is_not_a_scenario_is_explained(inspector: InspectorDriver) -> None:
    verdict = inspector.run_scenario("steps: [", "broken.yaml").json()
    assert verdict == {"ok": False, "loaded": False, "problems": [verdict["problems"][0]]}
    assert verdict["problems"][0].startswith("broken.yaml")
    assert "not YAML" in verdict["problems"][0]
    # Like every control write, JSON only (an HTML form from another site cannot post it).
    form = inspector.http.post(
        "/_emulator/ui/controls/scenario", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert form.status_code == 415
