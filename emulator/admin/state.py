"""Control operations on the whole state: reset, export, import, save to the data file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.admin.journal import ERR, TENANT_QUERY, E
from emulator.core.call import ControlCall
from emulator.core.control import invalid, not_found
from emulator.core.errors import ApiError
from emulator.core.operations import Param, control
from emulator.core.store import StateError

if TYPE_CHECKING:
    from emulator.persist import Persister
    from emulator.runtime import Emulator


class StateControl:
    def __init__(self, emulator: Emulator, persister: Persister | None) -> None:
        self.emulator = emulator
        self.persister = persister

    @control(
        "POST",
        "/reset",
        summary="Forget data: everything, or one tenant's (tenants stay unless tenants=true)",
        params=[
            TENANT_QUERY,
            Param(
                "tenants",
                "query",
                {"type": "boolean"},
                description="Also put back the tenants the emulator started with",
            ),
        ],
        request=None,
        responses={200: E + "reset-result", 400: ERR, 404: ERR},
    )
    async def reset(self, call: ControlCall) -> dict[str, Any]:
        tenant, tenants = call.query.get("tenant"), call.query.get("tenants", False)
        if tenant is not None and tenants:
            raise invalid("'tenants' applies to a full reset only")
        return self.emulator.reset(tenant, tenants=tenants)

    @control(
        "GET",
        "/state",
        summary="Export the state (all, or one tenant's) as a versioned document",
        params=[TENANT_QUERY],
        responses={200: E + "state", 400: ERR, 404: ERR},
    )
    async def get_state(self, call: ControlCall) -> Any:
        tenant = call.query.get("tenant")
        if tenant is not None and self.emulator.tenants.get(tenant) is None:
            raise not_found(f"no tenant {tenant!r}")
        return self.emulator.export_state(tenant)

    @control(
        "PUT",
        "/state",
        summary="Replace the whole state with a document",
        request=E + "state",
        responses={200: E + "state-saved", 400: ERR},
    )
    async def put_state(self, call: ControlCall) -> dict[str, Any]:
        try:
            self.emulator.import_state(call.body)
        except ApiError as exc:  # whatever failed, the document is what was wrong
            raise StateError(exc.message) from exc
        return {"tables": {k: len(v) for k, v in call.body.items() if k != "_meta"}}

    @control(
        "POST",
        "/state/save",
        summary="Write the state to the data file now (500 `save_failed` names the cause)",
        responses={200: E + "state-saved", 409: ERR, 500: ERR},
    )
    async def save_state(self, call: ControlCall) -> dict[str, Any]:
        if self.persister is None:
            raise ApiError(409, "the emulator was started without --data-file", code="no_data_file")
        size, tables = await self.persister.save()
        return {"tables": tables, "path": str(self.persister.path), "bytes": size}
