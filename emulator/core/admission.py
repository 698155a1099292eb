"""Admission before a request runs: the platforms' documented rate limits.

A surface decides, from the request's headers alone and before its body is read, whether the
request may run (`Surface.admit`). The decision is a `Slot`: a refusal (the platform's 429) or
a place the pipeline releases once the answer is made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.core.errors import ApiError


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Slot:
    refusal: ApiError | None = None
    release: Callable[[], None] = field(default=_nothing)


OPEN = Slot()


class InFlight:
    """How many requests of each key are being processed now (body read, handler, answer).

    A request counts from the moment its body starts to arrive until its answer is made, so
    concurrent clients sending large bodies overlap even though the handlers themselves run
    one at a time on the event loop.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def admit(self, key: str, limit: int, refusal: ApiError) -> Slot:
        """A place for `key` while fewer than `limit` hold one, else `refusal`."""
        if self._counts[key] >= limit:
            return Slot(refusal)
        self._counts[key] += 1
        return Slot(release=lambda: self._leave(key))

    def _leave(self, key: str) -> None:
        self._counts[key] -= 1
        if self._counts[key] <= 0:
            del self._counts[key]

    def held(self, key: str) -> int:
        return self._counts[key]
