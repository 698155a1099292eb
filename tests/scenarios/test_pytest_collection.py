"""The pytest plugin collects scenario files as test items: one per scenario, the differences as
the failure text, a malformed file as a collection error naming file, line and path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "fixtures" / "scenarios" / "forwarding-custom-event.yaml"


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (folder / "pytest.ini").write_text("[pytest]\n")  # no project settings from above
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scenarios_are_collected_and_run_as_tests(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    text = SHIPPED.read_text()
    (scenarios / "good.yaml").write_text(text)
    wrong = text.replace("name: an mParticle event", "name: wrong count of an mParticle event")
    (scenarios / "wrong.yaml").write_text(
        wrong.replace("{total: 1, profiles:", "{total: 3, profiles:")
    )
    done = pytest_in(tmp_path, "--ctmp-scenarios", "scenarios")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    assert "step 4 CleverTap has the profile (line 21):" in done.stdout
    assert "$.total: expected 3, got 1" in done.stdout


def test_a_malformed_scenario_is_a_collection_error(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "bad.yaml").write_text("name: bad\nsteps: []\n")
    done = pytest_in(tmp_path, "--ctmp-scenarios", "scenarios")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "bad.yaml:2: $.steps: [] has less than 1 item" in done.stdout


def test_without_the_option_yaml_files_are_not_collected(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(SHIPPED.read_text())
    done = pytest_in(tmp_path)
    assert done.returncode == 5, done.stdout + done.stderr  # nothing collected
