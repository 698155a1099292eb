"""The Platform API's audiences (https://docs.mparticle.com/developers/apis/platform/,
"Audiences"): list an account's or a workspace's audiences, read one, delete one. Bearer token
from `POST /oauth/token` (the Profile API's), `accountId` required; errors in the Platform API's
`{"errors": [{"code", "message"}]}` (the Profile API's envelope)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.core.call import Call
from emulator.core.operations import NO_BODY, Param, operation
from emulator.mparticle import platform
from emulator.mparticle.handlers.access import PROFILE, Access
from emulator.mparticle.profiles import ProfileError
from emulator.mparticle.settings import WorkspaceSettings
from emulator.mparticle.state import MParticleState

TAGS = ["mParticle Platform API"]
BEARER = ["mparticleBearer"]
ERROR = "mparticle/platform-error"
AUDIENCE = "mparticle/platform-audience"
ACCOUNT = Param(
    "accountId", "query", {"type": "string"}, required=True, description="the account's id"
)
AUDIENCE_ID = Param("audience_id", "path", {"type": "string"}, required=True)
WORKSPACE_ID = Param("workspaceId", "path", {"type": "string"}, required=True)
ERRORS: dict[int, str | None] = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR}


class PlatformApi:
    def __init__(self, access: Access, state: MParticleState) -> None:
        self.access = access
        self.state = state

    @operation(
        "GET",
        "/v1/audiences",
        summary="Platform API: the account's audiences (every workspace of it)",
        params=[ACCOUNT],
        responses={200: AUDIENCE, **ERRORS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def list_account(self, call: Call) -> list[dict[str, Any]]:
        _, workspaces = self.access.platform_account(call)
        return [row for ws in workspaces for row in self._audiences(ws)]

    @operation(
        "GET",
        "/v1/workspace/{workspaceId}/audiences",
        summary="Platform API: one workspace's audiences",
        params=[WORKSPACE_ID, ACCOUNT],
        responses={200: AUDIENCE, **ERRORS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def list_workspace(self, call: Call) -> list[dict[str, Any]]:
        _, workspaces = self.access.platform_account(call)
        wanted = call.path_param("workspaceId")
        for ws in workspaces:
            if ws.id == wanted:
                return self._audiences(ws)
        raise ProfileError(404, "NOT_FOUND", f"No workspace {wanted} in this account.")

    @operation(
        "GET",
        "/v1/audiences/{audience_id}",
        summary="Platform API: one audience",
        params=[AUDIENCE_ID, ACCOUNT],
        responses={200: AUDIENCE, **ERRORS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def get_one(self, call: Call) -> dict[str, Any]:
        ws, found = self._find(call)
        workspace = self.state.workspace(ws.id)
        workspace.refresh()
        return platform.audience(workspace, ws.name, found, self.state.clock.now())

    @operation(
        "DELETE",
        "/v1/audiences/{audience_id}",
        summary="Platform API: delete an audience (its outputs are told it is gone)",
        params=[AUDIENCE_ID, ACCOUNT],
        responses={204: NO_BODY, **ERRORS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def delete_one(self, call: Call) -> Response:
        ws, found = self._find(call)
        self.state.workspace(ws.id).remove_audience(found["id"])
        call.emulator.changes += 1
        return Response(status_code=204)

    def _audiences(self, ws: WorkspaceSettings) -> list[dict[str, Any]]:
        return platform.audiences(self.state.workspace(ws.id), ws.name, self.state.clock.now())

    def _find(self, call: Call) -> tuple[WorkspaceSettings, dict[str, Any]]:
        """The audience the path names: in the token's workspace first, then the account's
        other workspaces (audience ids are per workspace on the emulator)."""
        own, workspaces = self.access.platform_account(call)
        wanted = platform.audience_id(call.path_param("audience_id"))
        for ws in sorted(workspaces, key=lambda w: w.id != own.id):
            found = self.state.workspace(ws.id).audiences.get(wanted)
            if found is not None:
                return ws, found
        raise ProfileError(404, "NOT_FOUND", f"No audience {wanted} in this account.")
