"""Deadlines that are almost always met, checked by one timer per event loop.

A request's header and body deadlines are set and cleared on every request and nearly never
fire. A timer each (`asyncio.timeout`, `loop.call_later`) costs a libuv timer on uvloop: a
1-record upload spent a fifth of its time on them (bench/README.md). Here setting and clearing
a deadline is a dict write, and one timer sweeps the pending ones every `SWEEP_EVERY` seconds
while there are any, so a deadline fires up to that much late.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable

SWEEP_EVERY = 0.1


class Deadlines:
    """The pending deadlines of one event loop: a key, when it is due, what to do then."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._due: dict[Hashable, tuple[float, Callable[[], None]]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def set(self, key: Hashable, delay: float, expire: Callable[[], None]) -> None:
        """Call `expire` once `delay` seconds have passed, unless `clear(key)` comes first."""
        self._due[key] = (self.loop.time() + delay, expire)
        if self._timer is None:
            self._timer = self.loop.call_later(SWEEP_EVERY, self._sweep)

    def clear(self, key: Hashable) -> None:
        self._due.pop(key, None)

    def __len__(self) -> int:
        return len(self._due)

    def _sweep(self) -> None:
        self._timer = None
        now = self.loop.time()
        expired = [key for key, (due, _) in self._due.items() if due <= now]
        for key in expired:
            _, expire = self._due.pop(key)
            expire()
        if self._due:
            self._timer = self.loop.call_later(SWEEP_EVERY, self._sweep)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = (
    weakref.WeakKeyDictionary()
)


def deadlines(loop: asyncio.AbstractEventLoop | None = None) -> Deadlines:
    """The deadlines of `loop` (the running loop when not given)."""
    loop = loop or asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = Deadlines(loop)
    return found
