"""Request deadlines swept by one timer per loop (emulator/core/deadlines.py): a deadline fires
once, within a sweep of its time, and never after it was cleared; the timer stops when none is
pending."""

from __future__ import annotations

import asyncio

from emulator.core.deadlines import SWEEP_EVERY, deadlines


def test_a_deadline_fires_once_within_a_sweep_and_a_cleared_one_never() -> None:
    async def scenario() -> tuple[list[tuple[str, float]], int]:
        loop = asyncio.get_running_loop()
        pending = deadlines()
        assert deadlines(loop) is pending
        fired: list[tuple[str, float]] = []
        start = loop.time()
        pending.set("late", 0.2, lambda: fired.append(("late", loop.time() - start)))
        pending.set("cleared", 0.1, lambda: fired.append(("cleared", loop.time() - start)))
        pending.clear("cleared")
        await asyncio.sleep(0.2 + 3 * SWEEP_EVERY)
        return fired, len(pending)

    fired, left = asyncio.run(scenario())
    assert [name for name, _ in fired] == ["late"]
    assert 0.2 <= fired[0][1] <= 0.2 + 3 * SWEEP_EVERY
    assert left == 0


def test_the_sweep_stops_when_nothing_is_pending() -> None:
    async def scenario() -> bool:
        pending = deadlines()
        pending.set("x", 0.0, lambda: None)
        await asyncio.sleep(2 * SWEEP_EVERY)
        return pending._timer is None

    assert asyncio.run(scenario())
