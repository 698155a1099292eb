"""`ctmp-emulator replay`: the shipped scenarios pass, a failure shows its difference and fails
the run, a malformed file stops everything before anything runs, and JUnit XML is written."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emulator.scenarios.replay import replay

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "fixtures" / "scenarios"


def test_the_shipped_scenarios_pass_from_the_command_line(tmp_path: Path) -> None:
    junit = tmp_path / "scenarios.xml"
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "replay", str(SHIPPED), "--junit-xml", str(junit)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    suite = ET.parse(junit).getroot()
    shipped = list(SHIPPED.rglob("*.yaml"))
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures")) == (str(len(shipped)), "0")
    assert f"{len(shipped)} passed, 0 failed" in done.stdout


def test_a_wrong_expectation_fails_the_run_with_its_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (SHIPPED / "forwarding-custom-event.yaml").read_text()
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(text.replace("events: {Viewed: {count: 1}}", "events: {Viewed: {count: 5}}"))
    junit = tmp_path / "out.xml"
    assert replay([str(wrong)], junit) == 1
    out = capsys.readouterr().out
    assert "FAIL   4 CleverTap has the profile (line 21)" in out
    assert "$.profiles[0].events.Viewed.count: expected 5, got 1" in out
    failure = ET.parse(junit).getroot().find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == (
        "step 4 CleverTap has the profile (line 21): "
        "$.profiles[0].events.Viewed.count: expected 5, got 1"
    )


def test_a_malformed_file_stops_everything_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "a-good.yaml"
    good.write_text((SHIPPED / "forwarding-custom-event.yaml").read_text())
    bad = tmp_path / "b-bad.yaml"
    bad.write_text("name: broken\nsteps:\n  - advance_clock: {minutes: 5}\n")
    assert replay([str(tmp_path)], None) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{bad}:3: $.steps[0].advance_clock: " in captured.err


def test_no_scenario_files_is_an_error(tmp_path: Path) -> None:
    assert replay([str(tmp_path / "none-*.yaml")], None) == 2
