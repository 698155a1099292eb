"""The control API of journeys with an mParticle export node under
`/_emulator/clevertap/{tenant}/journeys`: create, list, and who entered and exited. The rules
are the domain module `journeys`; the export step's runs go through the `ExportScheduler`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.clevertap import journeys
from emulator.clevertap.accounts import AccountStore
from emulator.clevertap.scheduler import ExportScheduler
from emulator.core.call import ControlCall
from emulator.core.control import not_found
from emulator.core.jsonresp import JSONResponse
from emulator.core.operations import Param, control
from emulator.core.views import TENANT, TEXT, page

if TYPE_CHECKING:
    from emulator.runtime import Emulator

BASE = "/clevertap/{tenant}/journeys"
ERR = "emulator/error"
STATE = "entered: still in the journey (its export not answered yet); exited: out of it"


class JourneysControl:
    def __init__(
        self,
        emulator: Emulator,
        store: AccountStore,
        scheduler: ExportScheduler,
        owns: Callable[[str], bool],
    ) -> None:
        self.emulator = emulator
        self.store = store
        self.scheduler = scheduler
        self.owns = owns

    @page(BASE, "journeys", summary="Journeys with how many users entered and exited")
    def rows(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return [journeys.view(j) for j in self.store.account(tenant).journeys]

    @page(
        BASE + "/entries",
        "entries",
        summary="Users who entered a journey, and whether its export step let them exit",
        params=[
            Param("journey", "query", TEXT, description="the journey's id"),
            Param("identity", "query", TEXT),
            Param("state", "query", {"enum": ["entered", "exited"]}, description=STATE),
        ],
    )
    def entries(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return journeys.entry_rows(self.store.account(tenant), query)

    @control(
        "POST",
        BASE,
        summary="Create a journey: an entry condition and an mParticle export step",
        request="clevertap/journey",
        params=[TENANT],
        responses={201: None, 400: ERR, 404: ERR},
    )
    async def create(self, call: ControlCall) -> JSONResponse:
        tenant = call.path_param("tenant")
        if not self.owns(tenant):
            raise not_found(f"no CleverTap account {tenant!r} here")
        account = self.store.account(tenant)
        now = self.emulator.clock.now()
        journey = journeys.create(account, call.body, journeys.next_id(account), now)
        account.journeys.append(journey)
        self.emulator.changes += 1
        self.scheduler.start_journeys(account, journeys.segment_entries(account, journey))
        return JSONResponse(journeys.view(journey), status_code=201)
