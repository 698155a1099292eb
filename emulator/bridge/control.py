"""The bridge's control API: each connection's deliveries, and `settle` (wait until every flow
has delivered what it has)."""

from __future__ import annotations

from typing import Any

from emulator.bridge.delivery import Deliverer
from emulator.core.call import ControlCall
from emulator.core.operations import Param, control
from emulator.core.views import TEXT, page

SETTLE_TIMEOUT = 10.0


class BridgeControl:
    def __init__(self, deliverer: Deliverer, owns: Any) -> None:
        self.deliverer = deliverer
        self.owns = owns

    @page(
        "/bridge/{tenant}/deliveries",
        "deliveries",
        summary="A connection's deliveries, oldest first: what each flow sent, every attempt "
        "and answer, and what was skipped and why",
        params=[
            Param("flow", "query", {"enum": ["events", "audiences", "feed", "dsr_erasure"]}),
            Param("status", "query", TEXT),
        ],
    )
    def deliveries(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return self.deliverer.select(tenant, query.get("flow"), query.get("status"))

    @control(
        "POST",
        "/bridge/settle",
        summary="Wait until every flow has delivered what it has (nothing queued or in flight)",
        params=[
            Param(
                "timeout",
                "query",
                {"type": "number", "minimum": 0, "maximum": 300},
                description=f"Seconds to wait at most (default {SETTLE_TIMEOUT:g})",
            )
        ],
        responses={200: "bridge/settled", 400: "emulator/error"},
    )
    async def settle(self, call: ControlCall) -> dict[str, Any]:
        settled = await self.deliverer.settle(call.query.get("timeout", SETTLE_TIMEOUT))
        return {"settled": settled, "pending": self.deliverer.pending()}
