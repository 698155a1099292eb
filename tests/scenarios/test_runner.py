"""Scenarios run on a fresh in-process emulator: real requests through the app, state read back
through the control API, each failing step with its differences."""

from __future__ import annotations

import asyncio
from pathlib import Path

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import parse
from emulator.scenarios.runner import Outcome, run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"

FORWARDED = (FIXTURES / "forwarding-custom-event.yaml").read_text()


def replay(text: str, contracts: ContractRegistry, tmp_path: Path) -> Outcome:
    return asyncio.run(run(parse(text, str(tmp_path / "s.yaml"), contracts)))


def test_a_scenario_drives_both_platforms_and_checks_their_state(
    contracts: ContractRegistry, tmp_path: Path
) -> None:
    outcome = replay(FORWARDED, contracts, tmp_path)
    assert outcome.setup_error is None
    assert [(s.label, s.problems) for s in outcome.steps if not s.ok] == []
    assert outcome.ok
    assert [s.line for s in outcome.steps] == [5, 16, 17, 21, 25, 30, 31]


def test_a_wrong_expectation_fails_its_step_with_the_difference(
    contracts: ContractRegistry, tmp_path: Path
) -> None:
    outcome = replay(
        FORWARDED.replace("{total: 1, profiles:", "{total: 2, profiles:"), contracts, tmp_path
    )
    assert not outcome.ok
    failed = [(s.index, s.label, s.problems) for s in outcome.steps if not s.ok]
    assert failed == [(3, "CleverTap has the profile", ["$.total: expected 2, got 1"])]


def test_a_refused_request_is_compared_like_any_answer(
    contracts: ContractRegistry, tmp_path: Path
) -> None:
    text = FORWARDED.replace("      as: mparticle/1000\n", "").replace(
        "expect: {status: 202}", "expect: {status: 401, body: {errors: [{code: UNAUTHORIZED}]}}"
    )
    outcome = replay(text, contracts, tmp_path)
    assert outcome.steps[0].ok


def test_a_state_file_that_is_not_json_fails_the_set_up_not_the_replay(
    contracts: ContractRegistry, tmp_path: Path
) -> None:
    (tmp_path / "state.json").write_text("not json")
    outcome = replay(
        FORWARDED.replace("clock:", "state: {file: state.json}\nclock:", 1), contracts, tmp_path
    )
    assert not outcome.ok
    assert outcome.steps == []
    assert outcome.setup_error is not None
    assert outcome.setup_error.startswith("state: state.json: Expecting value")
