"""The typed event bus: listeners by event type, each isolated from the others' failures."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.core.events import Event, EventBus


@dataclass(frozen=True)
class Ping(Event):
    n: int


@dataclass(frozen=True)
class Pong(Event):
    n: int


def test_listeners_get_only_their_event_type_in_order() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(Ping, lambda e: seen.append(f"a{e.n}"))
    bus.subscribe(Pong, lambda e: seen.append(f"pong{e.n}"))
    bus.subscribe(Ping, lambda e: seen.append(f"b{e.n}"))
    assert bus.publish(Ping(1)) == []
    assert seen == ["a1", "b1"]


def test_a_raising_listener_is_reported_and_the_next_still_runs() -> None:
    bus = EventBus()
    seen: list[int] = []

    def broken(event: Ping) -> None:
        raise ValueError(f"no {event.n}")

    bus.subscribe(Ping, broken)
    bus.subscribe(Ping, lambda e: seen.append(e.n))
    (failure,) = bus.publish(Ping(7))
    assert seen == [7]
    assert failure.event == "Ping"
    assert failure.listener.endswith("broken")
    assert failure.error == "ValueError: no 7"
    assert bus.stats()["failures"] == 1
    assert bus.stats()["recent"] == [
        {"event": "Ping", "listener": failure.listener, "error": "ValueError: no 7"}
    ]
