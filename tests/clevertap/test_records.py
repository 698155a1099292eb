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
    simple_profile,
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


PROFILE_KEYS = ["Name", "Photo", "Email", "Phone", "Gender", "Age", "identity", "MSG-sms", "DOB"]


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
    if draw(st.integers(0, 3)) == 0:
        record["profileData"] = draw(
            st.one_of(
                st.dictionaries(st.one_of(keys, st.sampled_from(PROFILE_KEYS)), values, max_size=4),
                st.sampled_from([[], "x", None]),
            )
        )
    if draw(st.integers(0, 5)):
        record["evtData"] = draw(
            st.one_of(st.dictionaries(keys, values, max_size=4), st.sampled_from([[], "x", None]))
        )
    return record


plain_keys = st.sampled_from(["a", "b", "k" * 120, "Name", "Photo"])
plain_values = st.sampled_from([1, 1.5, True, None, "x", "x" * 128, "é" * 128, 10**20])
edge_keys = st.sampled_from(["k" * 121, "", "Items", "Email", "Gender", "identity"])
edge_values = st.sampled_from(["x" * 129, "$x", "$D_1", [], {}, ["a"], {"$add": ["a"]}, 7])
# Mostly plain entries, with an edge now and then: both sides of every fast-path rule.
entries = st.one_of(
    st.tuples(plain_keys, plain_values),
    st.tuples(plain_keys, plain_values),
    st.tuples(plain_keys, plain_values),
    st.tuples(st.one_of(plain_keys, edge_keys), st.one_of(plain_values, edge_values)),
)


@st.composite
def near_plain(draw: st.DrawFn) -> Any:
    """Records one edge away from the fast paths, so both sides of every rule are drawn."""
    kind = draw(st.sampled_from(["event", "profile"]))
    record: dict[str, Any] = {"type": kind, "identity": draw(st.sampled_from(["u1", "u1", " "]))}
    if draw(st.booleans()):
        record["ts"] = draw(st.sampled_from([1_700_000_000, 0, 10_000_000_000, 1.5]))
    data = dict(draw(st.lists(entries, max_size=4)))
    if kind == "event":
        record["evtName"] = draw(
            st.sampled_from(["Viewed", "Viewed", "Charged", "Debug", "x" * 129])
        )
        record["evtData"] = data
    else:
        record["profileData"] = data
    return record


all_records = st.one_of(records(), near_plain())


@settings(max_examples=3000, deadline=None)
@given(all_records)
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


@settings(max_examples=3000, deadline=None)
@given(all_records)
def test_simple_profile_accepts_only_what_check_accepts_alike(record: Any) -> None:
    simple = simple_profile(record, LIMITS)
    if simple is None:
        return
    try:
        accepted = check(record, NOW, LIMITS)
    except Rejected as rejected:  # the failure this test exists for
        raise AssertionError(f"fast path took a record check refuses: {rejected.code}") from None
    identity, data = simple
    assert accepted.kind == "profile"
    assert accepted.ids == [("identity", identity)]
    assert accepted.data == data


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
