"""mParticle's control API under `/_emulator/mparticle/{tenant}/`: what a workspace stored
(batches, users, aliases), its audiences and their membership changes, and defining or
removing an audience."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from emulator.core.call import ControlCall
from emulator.core.control import conflict, not_found
from emulator.core.jsonresp import JSONResponse
from emulator.core.operations import Param, control
from emulator.core.views import TENANT, TEXT, page
from emulator.mparticle import views
from emulator.mparticle.handlers.access import Access
from emulator.mparticle.models import Workspace
from emulator.mparticle.state import MParticleState
from emulator.mparticle.users import parse_mpid

ERROR = "emulator/error"


class MParticleControl:
    def __init__(self, access: Access, state: MParticleState, changed: Callable[[], None]) -> None:
        self.access = access
        self.state = state
        # Tells the persister there is something new to save.
        self.changed = changed

    def owns(self, tenant_id: str) -> bool:
        return self.access.workspace(tenant_id) is not None

    def _workspace(self, tenant: str) -> Workspace:
        if not self.owns(tenant):
            raise not_found(f"no tenant {tenant!r} here")
        return self.state.workspace(tenant)

    @page(
        "/mparticle/{tenant}/batches",
        "batches",
        summary="Batches a workspace accepted, as received and as resolved, oldest first",
    )
    def batches(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return self.state.batches.rows(tenant)

    @page(
        "/mparticle/{tenant}/users",
        "users",
        summary="Users: identities, attributes, event counts, MPID history",
        params=[
            Param("mpid", "query", TEXT),
            Param("identity", "query", TEXT, description="any identity"),
        ],
    )
    def users(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        workspace = self.state.workspace(tenant)
        workspace.refresh()
        found = views.find_users(workspace, query.get("mpid"), query.get("identity"))
        return [views.user_view(workspace, user) for user in found]

    @page(
        "/mparticle/{tenant}/audiences",
        "audiences",
        summary="Audiences with their criteria and current members",
    )
    def audiences(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        workspace = self.state.workspace(tenant)
        workspace.refresh()
        return views.audience_views(workspace)

    @control(
        "POST",
        "/mparticle/{tenant}/audiences",
        summary="Define an audience (evaluated at once, then as data and the clock move)",
        request="mparticle/audience",
        params=[TENANT],
        responses={201: None, 400: ERROR, 404: ERROR},
    )
    async def add_audience(self, call: ControlCall) -> Response:
        workspace = self._workspace(call.path_param("tenant"))
        body = call.body
        if body.get("id") in workspace.audiences:
            raise conflict(f"audience {body['id']} exists")
        audience = workspace.add_audience(
            body["name"], body["criteria"], body.get("id"), body.get("export", "recurring")
        )
        self.changed()
        members = [str(m) for m in sorted(workspace.members[audience["id"]])]
        return JSONResponse({**audience, "members": members}, status_code=201)

    @control(
        "POST",
        "/mparticle/{tenant}/audiences/{audience_id}/connections",
        summary="Connect an audience to an audience output with a User ID (back-fills members)",
        request="mparticle/audience-connection",
        params=[TENANT, Param("audience_id", "path", TEXT, required=True)],
        responses={201: None, 400: ERROR, 404: ERROR},
    )
    async def connect_audience(self, call: ControlCall) -> Response:
        tenant, raw = call.path_param("tenant"), call.path_param("audience_id")
        workspace = self._workspace(tenant)
        audience_id = int(raw) if raw.isascii() and raw.isdigit() else None
        if audience_id is None or audience_id not in workspace.audiences:
            raise not_found("no such audience")
        output = call.body["output"]
        doc = self.access.tenants.get(output)
        if doc is None or doc.get("kind") != "connection" or doc.get("workspace") != tenant:
            raise not_found(f"workspace {tenant!r} has no output (connection) {output!r}")
        audience = workspace.connect_audience(
            audience_id, output, call.body.get("user_id", "customerId")
        )
        self.changed()
        members = [str(m) for m in sorted(workspace.members[audience_id])]
        return JSONResponse({**audience, "members": members}, status_code=201)

    @control(
        "DELETE",
        "/mparticle/{tenant}/audiences/{audience_id}",
        summary="Remove an audience",
        params=[TENANT, Param("audience_id", "path", TEXT, required=True)],
        responses={200: "emulator/deleted", 404: ERROR},
    )
    async def remove_audience(self, call: ControlCall) -> dict[str, Any]:
        tenant, raw = call.path_param("tenant"), call.path_param("audience_id")
        if not self.owns(tenant) or not (raw.isascii() and raw.isdigit()):
            raise not_found("no such audience")
        if not self.state.workspace(tenant).remove_audience(int(raw)):
            raise not_found("no such audience")
        self.changed()
        return {"deleted": raw}

    @page(
        "/mparticle/{tenant}/memberships",
        "memberships",
        summary="Audience membership changes (add/delete, time, reason), oldest first",
        params=[Param("audience_id", "query", TEXT), Param("mpid", "query", TEXT)],
    )
    def memberships(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        workspace = self.state.workspace(tenant)
        workspace.refresh()
        return views.membership_changes(workspace, query.get("audience_id"), query.get("mpid"))

    @page(
        "/mparticle/{tenant}/dsr-requests",
        "requests",
        summary="Data subject requests (OpenDSR), oldest first: identities, status history, "
        "the users an erasure removed, an access request's result",
    )
    def dsr_requests(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        self.state.dsr.tick(self.state.clock.now())
        return self.state.dsr.of(tenant).export()

    @page(
        "/mparticle/{tenant}/aliases",
        "aliases",
        summary="Alias requests, oldest first: Web SDK (recorded only) and S2S (with status)",
    )
    def aliases(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.state.workspace(tenant).aliases)

    @control(
        "GET",
        "/mparticle/{tenant}/users/{mpid}",
        summary="One user by MPID",
        params=[TENANT, Param("mpid", "path", TEXT, required=True)],
        responses={200: None, 404: ERROR},
    )
    async def user(self, call: ControlCall) -> dict[str, Any]:
        workspace = self._workspace(call.path_param("tenant"))
        mpid = parse_mpid(call.path_param("mpid"))
        user = workspace.user(mpid) if mpid is not None else None
        if user is None:
            raise not_found("no user with that MPID")
        workspace.refresh()
        return views.user_view(workspace, user)

    @page(
        "/mparticle/{tenant}/plans",
        "plans",
        summary="Data plans with every version and its document and block settings",
    )
    def plans(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.state.plans.plans.get(tenant, {}).values())

    @page(
        "/mparticle/{tenant}/plan-violations",
        "violations",
        summary="Batches a data plan found violations in or blocked data of, oldest first",
        params=[Param("plan_id", "query", TEXT), Param("mpid", "query", TEXT)],
    )
    def plan_violations(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            row
            for row in self.state.plans.violations.rows(tenant)
            if query.get("plan_id") in (None, row["plan_id"])
            and query.get("mpid") in (None, row["mpid"])
        ]
