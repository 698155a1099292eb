"""Typed in-process events: how one surface tells another what happened.

A platform publishes a frozen dataclass (`BatchAccepted`, `ExportRunStarted`, ...) and the
bridge, which subscribes by event type, turns it into deliveries; the platforms never import each
other. Listeners are isolated: one that raises is logged, counted (`/_emulator/health`) and named
on the journal entry of the request that caused it, and the publisher carries on, so a bug in a
flow never changes a platform's answer.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from emulator.core.call import current_call

log = logging.getLogger("ctmp_emulator")


class Event:
    """Base of the events surfaces publish (frozen dataclasses)."""


E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class ListenerFailure:
    event: str
    listener: str
    error: str

    def text(self) -> str:
        return f"{self.listener} failed on {self.event}: {self.error}"


class EventBus:
    # How many recent failures health shows. Resets keep them: they are the emulator's bugs,
    # not a test's data.
    KEEP = 20

    def __init__(self) -> None:
        self._listeners: dict[type[Event], list[Callable[[Any], None]]] = {}
        self.failures = 0
        self.recent: collections.deque[ListenerFailure] = collections.deque(maxlen=self.KEEP)

    def subscribe(self, kind: type[E], listener: Callable[[E], None]) -> None:
        self._listeners.setdefault(kind, []).append(listener)

    def publish(self, event: Event) -> list[ListenerFailure]:
        """Tell every listener of the event's type; answer the failures (usually none)."""
        failed: list[ListenerFailure] = []
        for listener in self._listeners.get(type(event), ()):
            try:
                listener(event)
            except Exception as exc:  # isolated: logged, counted, shown; never re-raised
                name = getattr(listener, "__qualname__", repr(listener))
                failure = ListenerFailure(
                    type(event).__name__, name, f"{type(exc).__name__}: {exc}"
                )
                log.exception("listener %s failed on %s", name, failure.event)
                failed.append(failure)
        if failed:
            self.failures += len(failed)
            self.recent.extend(failed)
            call = current_call.get()
            if call is not None:
                call.listener_errors.extend(f.text() for f in failed)
        return failed

    def stats(self) -> dict[str, Any]:
        return {
            "failures": self.failures,
            "recent": [
                {"event": f.event, "listener": f.listener, "error": f.error} for f in self.recent
            ],
        }
