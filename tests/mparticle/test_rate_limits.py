"""The Events API's throughput limit: 270 batches a second by default, 429 beyond with
`Retry-After` and `X-mp-rate-limit-exceeded` (https://docs.mparticle.com/guides/default-service-limits/,
https://docs.mparticle.com/developers/apis/http/). The emulator counts per workspace
(`events_batches_per_second`, 0 off); a refused request applies nothing."""

from __future__ import annotations

import time
from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.defaults import WORKSPACE
from tests.drivers.mparticle import custom_event, mp_batch


def workspace(emulator: EmulatorHandle, **changes: Any) -> dict[str, Any]:
    (doc,) = [t for t in emulator.client.tenants() if t["id"] == WORKSPACE]
    if changes:
        emulator.client.put_tenant({**doc, **changes})
    return doc


def ticks(n: int, first: int = 0) -> list[dict[str, Any]]:
    return [mp_batch(custom_event("Tick", n=first + i), customer_id="c1") for i in range(n)]


def tick_count(views: ControlViews) -> int:
    (user,) = views.mp_users()
    count: int = user["events"]["Tick"]["count"]
    return count


def test_by_default_a_burst_beyond_270_batches_is_refused(
    mp: MParticleDriver, views: ControlViews
) -> None:
    # 1,000 batches back to back: taken only if they took over 2.7 s to send.
    answers = [mp.post(ticks(100, first), path="/v2/bulkevents") for first in range(0, 1000, 100)]
    statuses = [a.status_code for a in answers]
    assert statuses[:2] == [202, 202] and 429 in statuses, statuses
    assert tick_count(views) == 100 * statuses.count(202)


def test_beyond_the_rate_429_with_retry_after_and_the_limit_header_then_a_resend_is_taken(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    workspace(emulator, events_batches_per_second=10)
    mp.send(ticks(10), path="/v2/bulkevents")  # a second's worth at once
    refused = mp.post(ticks(5, first=10), path="/v2/bulkevents")
    assert refused.status_code == 429, refused.text
    assert refused.headers["X-mp-rate-limit-exceeded"] == "workspace"
    wait = int(refused.headers["Retry-After"])
    assert wait >= 1
    assert refused.json()["errors"][0]["message"] == "Rate limit exceeded: 10 batches per second."
    assert tick_count(views) == 10  # nothing of the refused request was applied
    time.sleep(wait)  # as told: the resend is taken, each batch once
    mp.send(ticks(5, first=10), path="/v2/bulkevents")
    assert tick_count(views) == 15


def test_a_rate_of_0_turns_the_limit_off(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    workspace(emulator, events_batches_per_second=0)
    for first in range(0, 300, 100):
        mp.send(ticks(100, first), path="/v2/bulkevents")
    assert tick_count(views) == 300
