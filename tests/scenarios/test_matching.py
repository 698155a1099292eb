"""Scenario expectations: subset matching, operators, captures and differences named by path."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.scenarios.matching import ExpectationError, match, substitute

ACTUAL: dict[str, Any] = {
    "status": "success",
    "processed": 2,
    "unprocessed": [],
    "record": {"identity": "u1", "mpid": "-8812", "events": {"Charged": {"count": 3}}},
    "tags": ["a", "b"],
}


def texts(expected: Any, actual: Any = ACTUAL) -> list[str]:
    return [m.text() for m in match(expected, actual, {})]


def test_only_what_is_written_is_checked() -> None:
    assert texts({"status": "success", "record": {"identity": "u1"}}) == []


def test_a_difference_names_its_path_the_expected_and_the_actual_value() -> None:
    assert texts({"processed": 3, "record": {"events": {"Charged": {"count": 2}}}}) == [
        "$.processed: expected 3, got 2",
        "$.record.events.Charged.count: expected 2, got 3",
    ]


def test_a_missing_key_is_reported_as_absent() -> None:
    assert texts({"record": {"email": "x@y"}}) == [
        '$.record.email: expected "x@y", got nothing (absent)'
    ]


def test_arrays_match_element_by_element_with_the_same_length() -> None:
    assert texts({"tags": ["a", "b"]}) == []
    assert texts({"tags": ["a"]}) == ['$.tags: expected ["a"], got ["a", "b"]']
    assert texts({"tags": ["a", "c"]}) == ['$.tags[1]: expected "c", got "b"']


def test_numbers_compare_by_value_but_booleans_are_not_numbers() -> None:
    assert texts({"processed": 2.0}) == []
    assert texts({"flag": True}, {"flag": 1}) == ["$.flag: expected true, got 1"]
    assert texts({"n": 1}, {"n": "1"}) == ['$.n: expected 1, got "1"']


@pytest.mark.parametrize(
    ("expected", "ok"),
    [
        ({"record": {"mpid": {"$regex": "-[0-9]+"}}}, True),
        ({"record": {"mpid": {"$regex": "[0-9]+"}}}, False),  # the whole string must match
        ({"processed": {"$gte": 2, "$lt": 3}}, True),
        ({"processed": {"$gt": 2}}, False),
        ({"tags": {"$len": 2}}, True),
        ({"tags": {"$len": {"$gte": 3}}}, False),
        ({"record": {"$any": True}}, True),
        ({"nothing": {"$any": True}}, False),
        ({"nothing": {"$absent": True}}, True),
        ({"status": {"$absent": True}}, False),
        ({"status": {"$gt": 1}}, False),  # a string is never compared as a number
    ],
)
def test_operators(expected: dict[str, Any], ok: bool) -> None:
    assert (texts(expected) == []) is ok


def test_a_capture_is_used_by_a_later_step() -> None:
    captures: dict[str, Any] = {}
    assert (
        match(
            {"record": {"mpid": {"$capture": "mpid"}}, "processed": {"$capture": "n"}},
            ACTUAL,
            captures,
        )
        == []
    )
    assert captures == {"mpid": "-8812", "n": 2}
    step = {"path": "/users/${mpid}", "body": {"count": "${n}", "note": "n=${n}"}}
    assert substitute(step, captures) == {
        "path": "/users/-8812",
        "body": {"count": 2, "note": "n=2"},
    }


def test_a_wrong_expectation_is_the_scenario_s_error() -> None:
    with pytest.raises(ExpectationError, match=r"\$\.status: unknown operator \$regx"):
        match({"status": {"$regx": "s"}}, ACTUAL, {})
    with pytest.raises(ExpectationError, match="before a step captured it"):
        substitute("/users/${mpid}", {})
    with pytest.raises(ExpectationError, match=r"\$gt takes a number"):
        match({"processed": {"$gt": "1"}}, ACTUAL, {})
