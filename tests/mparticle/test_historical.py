"""`/v2/bulkevents/historical`: accepted (202), but a batch is processed only when it has events,
every event has a timestamp, and every timestamp is at least 72 hours old; the
others are kept as received with the reason they were skipped."""

from __future__ import annotations

from typing import Any

from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.mparticle import custom_event

NOW = 1_800_000_000  # seconds
HOUR_MS = 3600 * 1000


def event(ts: int | None) -> dict[str, Any]:
    return custom_event("Old", ts)


def test_historical_batches_are_processed_only_when_old_enough(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(NOW)
    now_ms = NOW * 1000
    batches = [
        {"user_identities": {"customerid": "old"}, "events": [event(now_ms - 73 * HOUR_MS)]},
        {"user_identities": {"customerid": "recent"}, "events": [event(now_ms - 71 * HOUR_MS)]},
        {"user_identities": {"customerid": "untimed"}, "events": [event(None)]},
        {"user_identities": {"customerid": "empty"}, "events": []},
    ]
    mp.send(batches, path="/v2/bulkevents/historical")

    rows = views.mp_batches()
    assert [row["historical"] for row in rows] == [True] * 4
    assert "mpid" in rows[0]["resolved"]
    assert [row["resolved"].get("skipped") for row in rows[1:]] == [
        "event 0 is less than 72 hours old",
        "event 0 has no timestamp_unixtime_ms",
        "a historical batch needs events",
    ]
    # Only the processed batch made a user.
    users = views.mp_users()
    assert [u["user_identities"] for u in users] == [{"customer_id": "old"}]
    assert users[0]["events"]["Old"]["count"] == 1
