"""Control operations on tenants and connections: list, add, read, replace, remove."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from emulator.admin.journal import ERR, E
from emulator.core.call import ControlCall
from emulator.core.control import conflict, invalid, not_found
from emulator.core.errors import ApiError
from emulator.core.jsonresp import JSONResponse
from emulator.core.operations import Param, control

if TYPE_CHECKING:
    from emulator.runtime import Emulator

TENANT_ID = Param("tenant_id", "path", {"type": "string"}, required=True)
# Any kind's document: the handler checks which contract applies and explains.
KINDS = ("clevertap/account", "mparticle/workspace", "bridge/connection")


class TenantControl:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def _checked(self, body: Any) -> None:
        problems = self.emulator.check_tenant(body)
        if problems:
            raise ApiError(
                400, "the tenant document is not valid", code="invalid_request", problems=problems
            )

    @control(
        "GET", "/tenants", summary="Tenants and connections", responses={200: E + "tenant-list"}
    )
    async def list_tenants(self, call: ControlCall) -> dict[str, Any]:
        return {"tenants": self.emulator.tenants.all()}

    @control(
        "POST",
        "/tenants",
        summary="Add a tenant or connection at run time",
        request=KINDS,
        responses={201: None, 400: ERR, 409: ERR},
    )
    async def add_tenant(self, call: ControlCall) -> Response:
        self._checked(call.body)
        return JSONResponse(self.emulator.add_tenant(call.body), status_code=201)

    @control(
        "GET",
        "/tenants/{tenant_id}",
        summary="One tenant or connection",
        params=[TENANT_ID],
        responses={200: None, 404: ERR},
    )
    async def get_tenant(self, call: ControlCall) -> Any:
        doc = self.emulator.tenants.get(call.path_param("tenant_id"))
        if doc is None:
            raise not_found(f"no tenant {call.path_param('tenant_id')!r}")
        return doc

    @control(
        "PUT",
        "/tenants/{tenant_id}",
        summary="Replace a tenant or connection's settings (its data stays), or add it",
        request=KINDS,
        params=[TENANT_ID],
        responses={200: None, 201: None, 400: ERR, 409: ERR},
    )
    async def put_tenant(self, call: ControlCall) -> Response:
        tenant_id, body = call.path_param("tenant_id"), call.body
        if isinstance(body, dict) and body.get("id") != tenant_id:
            raise invalid(f"the document's id must be {tenant_id!r}")
        self._checked(body)
        current = self.emulator.tenants.get(tenant_id)
        if current is not None and current["kind"] != body["kind"]:
            raise conflict(f"{tenant_id!r} is a {current['kind']}")
        doc = self.emulator.add_tenant(body, replace=True)
        return JSONResponse(doc, status_code=200 if current is not None else 201)

    @control(
        "DELETE",
        "/tenants/{tenant_id}",
        summary="Remove a tenant and its data",
        params=[TENANT_ID],
        responses={200: E + "deleted", 404: ERR, 409: ERR},
    )
    async def delete_tenant(self, call: ControlCall) -> dict[str, Any]:
        tenant_id = call.path_param("tenant_id")
        if not self.emulator.remove_tenant(tenant_id):
            raise not_found(f"no tenant {tenant_id!r}")
        return {"deleted": tenant_id}
