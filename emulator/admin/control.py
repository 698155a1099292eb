"""The emulator's own control API: health, and the journal, state, tenant, clock, fault and
recording operations of the modules beside this one, assembled for routing and the OpenAPI
document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.admin.clock import ClockControl, FaultControl
from emulator.admin.journal import JournalControl
from emulator.admin.record import RecordControl
from emulator.admin.state import StateControl
from emulator.admin.tenants import TenantControl
from emulator.core.call import ControlCall
from emulator.core.control import PREFIX
from emulator.core.operations import ControlOperation, collect_control, control

if TYPE_CHECKING:
    from emulator.persist import Persister
    from emulator.runtime import Emulator

__all__ = ["PREFIX", "ControlAPI"]


class ControlAPI:
    def __init__(self, emulator: Emulator, persister: Persister | None) -> None:
        self.emulator = emulator
        self.handlers = (
            self,
            JournalControl(emulator),
            StateControl(emulator, persister),
            TenantControl(emulator),
            ClockControl(emulator),
            FaultControl(emulator),
            RecordControl(emulator),
        )

    @control("GET", "/health", summary="Liveness and readiness", responses={200: "emulator/health"})
    async def health(self, call: ControlCall) -> dict[str, Any]:
        health = self.emulator.health()
        if not call.authenticated:
            # The seed predicts every generated id and token: only for holders of the token.
            del health["seed"]
        return health

    def operations(self) -> list[ControlOperation]:
        return collect_control(*self.handlers)
