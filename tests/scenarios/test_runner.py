"""Scenarios run on a fresh in-process emulator: real requests through the app, state read back
through the control API, each failing step with its differences."""

from __future__ import annotations

import asyncio
from pathlib import Path

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import parse
from emulator.scenarios.runner import Outcome, run

FORWARDED = """\
name: an mParticle event reaches CleverTap
description: the default connection forwards each accepted batch as /1/upload records
clock: {start: "2026-01-05T10:00:00Z"}
steps:
  - request:
      platform: mparticle
      method: POST
      path: /v2/events
      as: mparticle/1000
      body:
        user_identities: {customerid: cust-1}
        events:
          - event_type: custom_event
            data: {event_name: Viewed, custom_event_type: navigation}
      expect: {status: 202}
  - settle: {}
  - name: the batch was delivered
    expect_state:
      view: /bridge/default/deliveries
      expect: {total: 1, deliveries: [{flow: events, status: delivered}]}
  - name: CleverTap has the profile
    expect_state:
      view: /clevertap/EMU-TEST-0001/profiles
      expect: {total: 1, profiles: [{identities: [cust-1], events: {Viewed: {count: 1}}}]}
  - request:
      platform: control
      method: GET
      path: /clock
      expect: {body: {frozen: true, iso: {$capture: at}}}
  - advance_clock: {seconds: 3600}
  - request:
      platform: control
      method: GET
      path: /clock
      expect: {body: {iso: {$regex: "2026-01-05T11:00:00.*"}}}
"""


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
