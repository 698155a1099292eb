"""The near-miss report (after WireMock's, https://wiremock.org/docs/verifying/#near-misses):
for a request no operation took, the declared operations it came closest to.

The operations are the ones the OpenAPI document lists (each surface's `operations()`); a path
template's `{param}` segments take the request's segment at that place before comparing, so
`/v1/workspaces/7/users` is one segment away from `/v1/workspaces/{id}/user`, not many."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from emulator.core.operations import Operation


@dataclass(frozen=True, slots=True)
class NearMiss:
    method: str
    path: str
    summary: str
    score: float  # 0..1, 1 being the same method and path
    differs: tuple[str, ...]  # "method", "path"


def _fill(template: str, segments: list[str]) -> list[str]:
    parts = template.strip("/").split("/")
    return [
        segments[i] if p.startswith("{") and i < len(segments) and segments[i] else p
        for i, p in enumerate(parts)
    ]


def _similarity(a: list[str], b: list[str]) -> float:
    """Segment by segment (a missing or extra segment counts as nothing alike)."""
    pairs = zip(a, b, strict=False)
    same = sum(SequenceMatcher(None, x, y, autojunk=False).ratio() for x, y in pairs)
    return same / max(len(a), len(b), 1)


def near_misses(
    method: str, path: str, operations: Iterable[Operation[Any]], count: int = 3
) -> list[NearMiss]:
    """The `count` operations closest to `method path`, closest first."""
    segments = path.strip("/").split("/")
    found: list[NearMiss] = []
    for op in operations:
        candidate = _fill(op.path, segments)
        similarity = _similarity(segments, candidate)
        same_method = op.method == method.upper()
        differs = tuple(
            name
            for name, same in (("method", same_method), ("path", candidate == segments))
            if not same
        )
        # The path weighs most: the right path with the wrong method is the nearest miss.
        score = 0.8 * similarity + (0.2 if same_method else 0.0)
        found.append(NearMiss(op.method, op.path, op.summary, round(score, 3), differs))
    found.sort(key=lambda miss: -miss.score)
    return found[:count]
