"""The control API of mParticle exports (CleverTap's feed to an mParticle workspace) under
`/_emulator/clevertap/{tenant}/exports`: create, list, read, run now, stop. The rules are the
domain module `exports`; runs are started and finished by the `ExportScheduler`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.clevertap import exports
from emulator.clevertap.accounts import AccountStore
from emulator.clevertap.models import Account
from emulator.clevertap.scheduler import ExportScheduler
from emulator.core.call import ControlCall
from emulator.core.control import not_found
from emulator.core.jsonresp import JSONResponse
from emulator.core.operations import Param, control
from emulator.core.views import TENANT, TEXT, page

if TYPE_CHECKING:
    from emulator.runtime import Emulator

BASE = "/clevertap/{tenant}/exports"
EXPORT = Param("export_id", "path", TEXT, required=True)
ERR = "emulator/error"
VIEW = "clevertap/export-view"


class ExportsControl:
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

    def _account(self, tenant: str) -> Account:
        """The account, after starting the runs that came due while the clock ran freely."""
        if not self.owns(tenant):
            raise not_found(f"no CleverTap account {tenant!r} here")
        account = self.store.account(tenant)
        self.scheduler.run_due(tenant, account, self.emulator.clock.now())
        return account

    def _export(self, call: ControlCall) -> tuple[str, Account, dict[str, Any]]:
        tenant = call.path_param("tenant")
        account = self._account(tenant)
        export_id = call.path_param("export_id")
        export = exports.find(account, export_id)
        if export is None:
            raise not_found(f"no export {export_id!r} in {tenant!r}")
        return tenant, account, export

    @page(
        BASE,
        "exports",
        summary="mParticle exports with their runs",
        params=[Param("status", "query", TEXT), Param("data", "query", TEXT)],
    )
    def rows(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            exports.view(e)
            for e in self._account(tenant).exports
            if query.get("status") in (None, e["status"]) and query.get("data") in (None, e["data"])
        ]

    @control(
        "POST",
        BASE,
        summary="Create an mParticle export; its first run starts at `start` (default now)",
        request="clevertap/export",
        params=[TENANT],
        responses={201: VIEW, 400: ERR, 404: ERR},
    )
    async def create(self, call: ControlCall) -> JSONResponse:
        tenant = call.path_param("tenant")
        account = self._account(tenant)
        now = self.emulator.clock.now()
        export = exports.create(call.body, exports.next_id(account), now)
        account.exports.append(export)
        self.emulator.changes += 1
        self.scheduler.run_due(tenant, account, now)
        return JSONResponse(exports.view(export), status_code=201)

    @control(
        "GET",
        BASE + "/{export_id}",
        summary="One mParticle export with its runs",
        params=[TENANT, EXPORT],
        responses={200: VIEW, 404: ERR},
    )
    async def get(self, call: ControlCall) -> dict[str, Any]:
        return exports.view(self._export(call)[2])

    @control(
        "POST",
        BASE + "/{export_id}/run",
        summary="Run an export now (409 when stopped, done, or a one-time export that ran)",
        params=[TENANT, EXPORT],
        responses={200: VIEW, 404: ERR, 409: ERR},
    )
    async def run(self, call: ControlCall) -> dict[str, Any]:
        tenant, account, export = self._export(call)
        exports.check_runnable(export)
        now = self.emulator.clock.now()
        self.scheduler.start(tenant, account, export, now, now, "manual")
        return exports.view(export)

    @control(
        "POST",
        BASE + "/{export_id}/stop",
        summary="Stop an export: it never runs again (409 when it is DONE)",
        params=[TENANT, EXPORT],
        responses={200: VIEW, 404: ERR, 409: ERR},
    )
    async def stop(self, call: ControlCall) -> dict[str, Any]:
        _, _, export = self._export(call)
        exports.stop(export, self.emulator.clock.now())
        self.emulator.changes += 1
        return exports.view(export)
