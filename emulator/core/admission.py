"""Admission before a request runs: the platforms' documented rate limits.

A surface decides, from the request's headers alone and before its body is read, whether the
request may run (`Surface.admit`). The decision is a `Slot`: a refusal (the platform's 429) or
a place the pipeline releases once the answer is made.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
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


class Rate:
    """A token bucket per key: `per_second` units a second, a second's worth at most in hand.

    Real (monotonic) time, not the emulator's clock: a throughput limit is about how fast a
    client sends, and a frozen clock would otherwise refuse everything after the first second.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (units in hand, when)

    def wait(self, key: str, units: int, per_second: int) -> int:
        """Take `units` (a second's worth at most) and answer 0, or take nothing and answer the
        whole seconds until they are in hand (a `Retry-After`)."""
        now = self._now()
        held, then = self._buckets.get(key, (float(per_second), now))
        held = min(float(per_second), held + (now - then) * per_second)
        need = min(units, per_second)
        if held >= need:
            self._buckets[key] = (held - need, now)
            return 0
        self._buckets[key] = (held, now)
        return max(1, math.ceil((need - held) / per_second))

    def forget(self, keys: Iterable[str] | None) -> None:
        if keys is None:
            self._buckets.clear()
        for key in keys or ():
            self._buckets.pop(key, None)


class Window:
    """At most `limit` units per key in each `span` seconds of a given clock: fixed windows, the
    first unit after one ends opens the next (a clock moved back opens one too).

    Unlike `Rate`, the clock is passed in: a per-minute or per-day quota is about the calendar
    the platform keeps, so it runs on the emulator's clock and a test moves the clock instead of
    waiting a day.
    """

    def __init__(self, span: float) -> None:
        self.span = span
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, units used)

    def wait(self, key: str, limit: int, now: float) -> int:
        """0 while `key` has a unit left in its window at `now`, else the whole seconds until the
        window ends (a `Retry-After`)."""
        start, used = self._current(key, now)
        if used < limit:
            return 0
        return max(1, math.ceil(start + self.span - now))

    def take(self, key: str, now: float) -> None:
        """Count one unit for `key` at `now`."""
        start, used = self._current(key, now)
        self._windows[key] = (start, used + 1)

    def _current(self, key: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get(key, (now, 0))
        if not start <= now < start + self.span:
            return now, 0
        return start, used

    def forget(self, keys: Iterable[str] | None) -> None:
        if keys is None:
            self._windows.clear()
        for key in keys or ():
            self._windows.pop(key, None)
