"""Scenario files are held to `contracts/scenario/scenario.json` before anything runs; every
problem names the file, the line and the JSON path."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import ScenarioError, load, parse

GOOD = """\
name: upload then read
description: an event uploaded to CleverTap is counted on its profile
tags: [clevertap]
steps:
  - request:
      platform: clevertap
      method: POST
      path: /1/upload
      as: clevertap/EMU-TEST-0001
      body: {d: [{type: event, identity: u1, evtName: Charged}]}
      expect: {status: 200, body: {status: success, processed: 1}}
  - advance_clock: {seconds: 60}
  - name: the profile has the event
    expect_state:
      view: /clevertap/EMU-TEST-0001/profiles
      expect: {total: 1}
"""


def problems(text: str, contracts: ContractRegistry) -> list[tuple[int, str, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse(text, "s.yaml", contracts)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_a_valid_scenario_loads_with_the_line_of_each_step(
    contracts: ContractRegistry, tmp_path: Path
) -> None:
    file = tmp_path / "upload.yaml"
    file.write_text(GOOD)
    scenario = load(file, contracts)
    assert scenario.name == "upload then read"
    assert [next(k for k in s if k != "name") for s in scenario.steps] == [
        "request",
        "advance_clock",
        "expect_state",
    ]
    assert scenario.step_lines == (5, 12, 13)
    assert scenario.steps[0]["request"]["body"]["d"][0]["evtName"] == "Charged"


def test_a_wrong_value_is_named_by_file_line_and_path(contracts: ContractRegistry) -> None:
    found = problems(GOOD.replace("method: POST", "method: FETCH"), contracts)
    assert len(found) == 1
    line, path, message = found[0]
    assert (line, path) == (7, "$.steps[0].request.method")
    assert "FETCH" in message
    with pytest.raises(ScenarioError, match=r"^s\.yaml:7: \$\.steps\[0\]\.request\.method: "):
        parse(GOOD.replace("method: POST", "method: FETCH"), "s.yaml", contracts)


def test_a_missing_required_field_points_at_its_parent(contracts: ContractRegistry) -> None:
    text = GOOD.replace("      method: POST\n", "")
    assert problems(text, contracts) == [
        (5, "$.steps[0].request", '"method" is a required property')
    ]


def test_every_problem_is_reported_in_file_order(contracts: ContractRegistry) -> None:
    text = GOOD.replace("method: POST", "method: FETCH").replace("seconds: 60", "seconds: -1")
    assert [(line, path) for line, path, _ in problems(text, contracts)] == [
        (7, "$.steps[0].request.method"),
        (12, "$.steps[1].advance_clock.seconds"),
    ]


def test_a_step_does_one_thing(contracts: ContractRegistry) -> None:
    text = GOOD.replace(
        "  - advance_clock: {seconds: 60}\n", "  - {advance_clock: {seconds: 1}, settle: {}}\n"
    )
    assert [(line, path) for line, path, _ in problems(text, contracts)] == [(12, "$.steps[1]")]


def test_a_body_is_inline_or_a_file_not_both(contracts: ContractRegistry) -> None:
    text = GOOD.replace(
        "      as: clevertap", "      body_file: payloads/x.json\n      as: clevertap"
    )
    assert [(line, path) for line, path, _ in problems(text, contracts)] == [
        (5, "$.steps[0].request")
    ]


def test_credentials_are_a_tenant_reference(contracts: ContractRegistry) -> None:
    found = problems(GOOD.replace("as: clevertap/EMU-TEST-0001", "as: secret"), contracts)
    assert [(line, path) for line, path, _ in found] == [(9, "$.steps[0].request.as")]


def test_text_that_is_not_yaml_names_its_line(contracts: ContractRegistry) -> None:
    assert problems("name: x\nsteps:\n  - request: {platform: [\n", contracts)[0][:2] == (4, "$")


def test_yes_and_on_stay_words(contracts: ContractRegistry) -> None:
    text = GOOD.replace("tags: [clevertap]", "tags: [yes, on, off]")
    assert parse(text, "s.yaml", contracts).document["tags"] == ["yes", "on", "off"]
    assert parse(GOOD, "s.yaml", contracts).document["steps"][0]["request"]["method"] == "POST"


def test_an_unreadable_file_is_a_problem_not_a_crash(
    contracts: ContractRegistry, tmp_path: Path
) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load(tmp_path / "absent.yaml", contracts)


def test_a_missing_body_or_state_file_is_named_before_anything_runs(
    contracts: ContractRegistry, tmp_path: Path
) -> None:
    text = GOOD.replace(
        "      body: {d: [{type: event, identity: u1, evtName: Charged}]}",
        "      body_file: payloads/absent.json",
    ).replace("tags: [clevertap]", "tags: [clevertap]\nstate: {file: ../states/absent.json}")
    (tmp_path / "scenarios").mkdir()
    scenario = tmp_path / "scenarios" / "s.yaml"
    scenario.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load(scenario, contracts)
    assert [(p.line, p.path, p.message) for p in caught.value.problems] == [
        (4, "$.state.file", "no file ../states/absent.json"),
        (11, "$.steps[0].request.body_file", "no file payloads/absent.json"),
    ]

    # Both relative to the scenario file.
    (tmp_path / "scenarios" / "payloads").mkdir()
    (tmp_path / "scenarios" / "payloads" / "absent.json").write_text('{"d": []}')
    (tmp_path / "states").mkdir()
    (tmp_path / "states" / "absent.json").write_text("{}")
    assert load(scenario, contracts).document["state"] == {"file": "../states/absent.json"}
