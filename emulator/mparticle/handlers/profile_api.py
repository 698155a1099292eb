"""The Profile API (https://docs.mparticle.com/developers/apis/profile-api/): an OAuth
client-credentials token (8 hours on the emulator clock), then a user's profile by MPID or by an
identity, with the requested field groups. OAuth and the Profile API each answer errors in their
own envelope (access.py)."""

from __future__ import annotations

from typing import Any

from emulator.core.call import Call
from emulator.core.operations import Param, operation
from emulator.mparticle import profiles
from emulator.mparticle.handlers.access import OAUTH, PROFILE, Access
from emulator.mparticle.state import MParticleState
from emulator.mparticle.users import User, idsync_key, parse_mpid

TAGS = ["mParticle Profile API"]
BEARER = ["mparticleBearer"]
ERROR = "mparticle/platform-error"
ANSWERS: dict[int, str | None] = {
    200: "mparticle/profile",
    400: ERROR,
    401: ERROR,
    403: ERROR,
    404: ERROR,
}
FIELDS = Param(
    "fields",
    "query",
    {"type": "string"},
    required=True,
    description="comma list of " + ", ".join(profiles.FIELDS),
)
PLACE = [
    Param(name, "path", {"type": "string"}, required=True)
    for name in ("org", "account", "workspace")
]


class ProfileApi:
    def __init__(self, access: Access, state: MParticleState) -> None:
        self.access = access
        self.state = state

    @operation(
        "POST",
        "/oauth/token",
        summary="OAuth client credentials: a bearer token for the Profile API (8 h)",
        request="mparticle/oauth-token-request",
        responses={
            200: "mparticle/oauth-token",
            400: "mparticle/oauth-error",
            401: "mparticle/oauth-error",
        },
        tags=TAGS,
        envelope=OAUTH,
    )
    async def oauth_token(self, call: Call) -> dict[str, Any]:
        body = call.checked("mparticle/oauth-token-request")
        workspace_id = self.access.api_client(body["client_id"], body["client_secret"])
        token = self.state.ids.token(32)
        expires = self.state.clock.now() + profiles.TOKEN_SECONDS
        self.state.tokens[token] = profiles.Token(workspace_id, expires, body["client_id"])
        call.tenant = workspace_id
        return {"access_token": token, "expires_in": profiles.TOKEN_SECONDS, "token_type": "Bearer"}

    @operation(
        "POST",
        "/userprofile/v1/resolve/{org}/{account}/{workspace}",
        summary="A user profile by an identity",
        request="mparticle/profile-resolve",
        params=[*PLACE, FIELDS],
        responses=ANSWERS,
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def profile_resolve(self, call: Call) -> dict[str, Any]:
        workspace_id = self.access.profile_workspace(call)
        fields = profiles.parse_fields(call.query("fields"))
        identity = call.checked("mparticle/profile-resolve")["identity"]
        kind = idsync_key(identity["type"]) or identity["type"]
        user = self.state.workspace(workspace_id).holder(kind, identity["value"])
        if user is None:
            raise profiles.ProfileError(404, "NOT_FOUND", "No user with that identity.")
        return self._profile(workspace_id, user, fields)

    @operation(
        "GET",
        "/userprofile/v1/{org}/{account}/{workspace}/{mpid}",
        summary="A user profile by MPID",
        params=[*PLACE, Param("mpid", "path", {"type": "string"}, required=True), FIELDS],
        responses=ANSWERS,
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def profile_by_mpid(self, call: Call) -> dict[str, Any]:
        workspace_id = self.access.profile_workspace(call)
        fields = profiles.parse_fields(call.query("fields"))
        mpid = parse_mpid(call.path_param("mpid"))
        user = self.state.workspace(workspace_id).user(mpid) if mpid is not None else None
        if user is None:
            raise profiles.ProfileError(404, "NOT_FOUND", "No user with that MPID.")
        return self._profile(workspace_id, user, fields)

    def _profile(self, workspace_id: str, user: User, fields: list[str]) -> dict[str, Any]:
        workspace = self.state.workspace(workspace_id)
        workspace.refresh()
        return profiles.profile(user, fields, workspace.memberships(user))
