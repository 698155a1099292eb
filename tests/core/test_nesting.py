"""The nesting check on raw bytes (emulator/core/nesting.py) against the depth of the parsed
value, on generated JSON: strings full of brackets, quotes and backslashes, small bodies and
large ones (the two take different paths)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.nesting import SMALL, exceeds

_TRICKY = st.text(alphabet='[]{}"\\ ab\u00e9', max_size=12)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), _TRICKY)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY, inner, max_size=4),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=400, deadline=None)
@given(value=_VALUES, limit=st.integers(min_value=1, max_value=8), padded=st.booleans())
def test_the_byte_check_agrees_with_the_parsed_depth(value: Any, limit: int, padded: bool) -> None:
    raw = json.dumps(value).encode()
    if padded:  # past SMALL: the path that cuts the body to its skeleton first
        raw = raw + b" " * (SMALL + 1 - len(raw)) if len(raw) <= SMALL else raw
    assert exceeds(raw, limit) == (_depth(value) > limit)


def test_a_large_bulk_body_at_the_limit_passes_and_one_deeper_does_not() -> None:
    deep: Any = 1
    for _ in range(63):
        deep = [deep]
    records = [{"evtData": {"k": "v[{"}, "n": i} for i in range(500)]
    assert not exceeds(json.dumps({"d": records, "deep": deep}).encode(), 64)  # 64 levels
    assert exceeds(json.dumps({"d": records, "deep": [deep]}).encode(), 64)  # 65
