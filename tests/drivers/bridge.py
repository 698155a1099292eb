"""The mParticle → CleverTap event flow as the bridge tests drive it: batches in through the Events
API, `settle`, then the connection's deliveries; the batches and events they send (a customer id
`cust-1` and a timestamp T0 unless told otherwise) and what they check on a delivery row."""

from __future__ import annotations

from typing import Any

from tests.drivers.control import ControlViews
from tests.drivers.mparticle import MParticleDriver, commerce_event, mp_batch, mp_event

BRIDGE_AGENT = "ctmp-emulator-bridge"
T0 = 1704103200000  # 2024-01-01 10:00:00 UTC, in ms (older than 72 h: historical-eligible)
T0_S = 1704103200
# Small backoffs: a retried delivery costs milliseconds, not seconds.
FAST = {"max_attempts": 10, "backoff_ms": 1, "max_backoff_ms": 50}


# -- what the bridge tests send ------------------------------------------------------------------


def event(kind: str, ts: int | None = T0, **data: Any) -> dict[str, Any]:
    """An event of `kind` at T0 (ms) unless told otherwise."""
    return mp_event(kind, ts, **data)


def commerce(ts: int = T0, **data: Any) -> dict[str, Any]:
    return commerce_event(ts, **data)


def batch(
    *events: dict[str, Any],
    customer_id: str | None = "cust-1",
    identities: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A development batch of `events` for customer `cust-1` unless told otherwise."""
    return mp_batch(*events, customer_id=customer_id, identities=identities, **extra)


# -- what they check on a delivery -----------------------------------------------------------------


def records(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The `/1/upload` records a delivery sent."""
    assert row["request"]["method"] == "POST" and row["request"]["path"] == "/1/upload", row
    sent: list[dict[str, Any]] = row["request"]["body"]["d"]
    return sent


def accepted(row: dict[str, Any]) -> dict[str, Any]:
    """`row` was delivered and CleverTap took every record."""
    assert row["status"] == "delivered", row
    assert row["response"]["status"] == 200, row
    assert row["response"]["body"]["status"] == "success", row["response"]
    assert row["response"]["body"]["unprocessed"] == [], row["response"]
    return row


def named(events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """CleverTap events as (evtName, evtData)."""
    return [(e["evtName"], e["evtData"]) for e in events]


def attempt_statuses(row: dict[str, Any]) -> list[int | None]:
    return [a.get("status") for a in row["attempts"]]


class BridgeDriver:
    """The default connection's event flow: send through mParticle, settle, read deliveries."""

    def __init__(self, mp: MParticleDriver, views: ControlViews) -> None:
        self.mp = mp
        self.views = views

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """The default connection's event deliveries (filters: status), oldest first."""
        return self.views.deliveries(flow="events", **filters)

    def only_delivery(self) -> dict[str, Any]:
        rows = self.deliveries()
        assert len(rows) == 1, rows
        return rows[0]

    def forward(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one batch, settle, and answer its delivery, which CleverTap must have taken
        whole."""
        self.mp.send(body)
        self.views.settle()
        return accepted(self.only_delivery())

    def uploads(self) -> list[dict[str, Any]]:
        """Journal entries of `/1/upload` (the bridge's requests among them), oldest first."""
        return self.views.client.requests(platform="clevertap", path="/1/upload")
