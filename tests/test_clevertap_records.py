"""The upload's one-pass path for plain events (`records.simple_event`) agrees with the full
per-record check (`records.check`): whatever it accepts, `check` accepts with the same result, so
the fast path can never let through a record CleverTap would refuse."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.clevertap.records import (
    RESTRICTED_EVENTS,
    Limits,
    Rejected,
    check,
    simple_event,
)

NOW = 1_763_900_000
LIMITS = Limits(max_event_properties=3, discarded_events=frozenset({"Debug"}))

# Values and names near every edge the checks draw: lengths, `$` strings, whitespace, types.
texts = st.one_of(
    st.text(max_size=3),
    st.sampled_from(["", " ", "\t", "$D_1700000000", "$D_x", "$", "x" * 128, "x" * 129]),
    st.sampled_from(["é" * 130, "😀" * 129, "x" * 513]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
values = st.one_of(
    scalars, st.lists(scalars, max_size=2), st.dictionaries(texts, scalars, max_size=1)
)
keys = st.one_of(texts, st.sampled_from(["k" * 120, "k" * 121, "Items", "plan"]))
event_names = st.one_of(
    texts, st.sampled_from(["Charged", "Debug", "Viewed", *RESTRICTED_EVENTS[:3]])
)
identities = st.one_of(texts, st.integers(), st.none(), st.sampled_from(["u1", " u1 "]))
timestamps = st.one_of(
    st.integers(min_value=-1, max_value=10_000_000_001),
    st.sampled_from([0, 1, 9_999_999_999, 10_000_000_000, 1.0, "1", True, None]),
)


@st.composite
def records(draw: st.DrawFn) -> Any:
    record: dict[str, Any] = {"type": draw(st.sampled_from(["event", "event", "profile", "x"]))}
    if draw(st.booleans()):
        record["identity"] = draw(identities)
    for extra in ("objectId", "FBID", "GPID"):
        if draw(st.integers(0, 9)) == 0:
            record[extra] = draw(texts)
    if draw(st.booleans()):
        record["ts"] = draw(timestamps)
    if draw(st.integers(0, 5)):
        record["evtName"] = draw(event_names)
    if draw(st.integers(0, 5)):
        record["evtData"] = draw(
            st.one_of(st.dictionaries(keys, values, max_size=4), st.sampled_from([[], "x", None]))
        )
    return record


@settings(max_examples=3000, deadline=None)
@given(records())
def test_simple_event_accepts_only_what_check_accepts_alike(record: Any) -> None:
    simple = simple_event(record, NOW, LIMITS)
    if simple is None:
        return
    try:
        accepted = check(record, NOW, LIMITS)
    except Rejected as rejected:  # the failure this test exists for
        raise AssertionError(f"fast path took a record check refuses: {rejected.code}") from None
    identity, ts, name, data = simple
    assert accepted.kind == "event"
    assert accepted.ids == [("identity", identity)]
    assert (accepted.ts, accepted.name, accepted.data) == (ts, name, data)


def test_the_common_event_takes_the_fast_path() -> None:
    record = {"type": "event", "identity": "u1", "evtName": "Viewed", "evtData": {"a": 1}}
    assert simple_event(record, NOW, LIMITS) == ("u1", NOW, "Viewed", {"a": 1})
    for other in (
        {**record, "objectId": "__abc"},  # another identifier: attach or merge
        {**record, "evtName": "Charged"},  # Items rules
        {**record, "evtData": {"when": "$D_1700000000"}},  # a date
        {**record, "type": "profile"},
    ):
        assert simple_event(other, NOW, LIMITS) is None
