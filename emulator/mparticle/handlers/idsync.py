"""IDSync (https://docs.mparticle.com/developers/apis/idsync/): identify, login, logout, search
and modify, also under `/identity/`, with the CORS headers the Web SDK needs. Errors in IDSync's
own envelope (access.py); the strategy is the workspace's (models.py). With `read_only` nothing
is created or changed (`Workspace.peek`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.core.call import Call
from emulator.core.operations import Param, PlatformMethod, operation
from emulator.mparticle import identity_keys
from emulator.mparticle.handlers.access import IDSYNC, Access, cors
from emulator.mparticle.models import Workspace
from emulator.mparticle.state import MParticleState
from emulator.mparticle.users import (
    LOGIN_ID,
    IdentityError,
    Resolution,
    User,
    idsync_key,
    parse_mpid,
)

ERROR = "mparticle/identity-error"
ANSWERS: dict[int, str | None] = {
    200: "mparticle/identity-response",
    400: ERROR,
    401: ERROR,
    404: ERROR,
}
TAGS = ["mParticle IDSync"]
MPID = Param("mpid", "path", {"type": "string"}, required=True)
READ_ONLY = Param(
    "read_only",
    "query",
    {"type": "boolean"},
    description="Answer without creating users or changing identities (identity-swagger.yaml)",
)


def read_only(call: Call) -> bool:
    """The swagger's `read_only` flag (a debugging aid): `true` or `1`."""
    return (call.query("read_only") or "").lower() in ("true", "1")


def idsync_paths(action: str) -> tuple[str, str]:
    return f"/v1/{action}", f"/identity/v1/{action}"


def _idsync(action: str, summary: str) -> Callable[[PlatformMethod], PlatformMethod]:
    """An IDSync action's declaration (the four share everything but path and summary)."""
    return operation(
        "POST",
        *idsync_paths(action),
        summary=summary,
        request="mparticle/identity-request",
        params=[READ_ONLY],
        responses=ANSWERS,
        tags=TAGS,
        envelope=IDSYNC,
        finish=cors,
    )


class IdSync:
    def __init__(self, access: Access, state: MParticleState) -> None:
        self.access = access
        self.state = state

    async def _identity(self, call: Call, action: str) -> dict[str, Any]:
        workspace_id = self.access.idsync_workspace(call)
        body = _checked(call)
        workspace = self.state.workspace(workspace_id)
        flags: dict[str, Any] = {"journal": call.journal_receipt()}
        if read_only(call):
            flags["read_only"] = True
        try:
            answer = self._resolve(call, action, body, workspace)
        except IdentityError as error:
            message = {"code": error.code, "message": error.message}
            workspace.note_idsync(action, body, error.status, message, **flags)
            raise
        workspace.note_idsync(action, body, 200, answer, **flags)
        return answer

    def _resolve(
        self, call: Call, action: str, body: dict[str, Any], workspace: Workspace
    ) -> dict[str, Any]:
        known, spelled = _known_identities(body["known_identities"])
        if not known and action != "logout":
            raise IdentityError(400, "LOOKUP_ERROR", "knownIdentities is empty.")
        previous = parse_mpid(body.get("previous_mpid"))
        if read_only(call):
            return _answer(workspace.peek(action, known, previous), known, spelled)
        if action == "identify":
            resolution = workspace.identify(known)
        elif action == "login":
            resolution = workspace.login(known, previous)
        elif action == "logout":
            resolution = workspace.logout(known)
        else:
            resolution = workspace.search(known)
        workspace.settle(action)
        call.emulator.changes += 1
        return _answer(resolution, known, spelled)

    @_idsync("identify", "IDSync identify: the MPID of known identities")
    async def identify(self, call: Call) -> dict[str, Any]:
        return await self._identity(call, "identify")

    @_idsync("login", "IDSync login")
    async def login(self, call: Call) -> dict[str, Any]:
        return await self._identity(call, "login")

    @_idsync("logout", "IDSync logout: a new anonymous user")
    async def logout(self, call: Call) -> dict[str, Any]:
        return await self._identity(call, "logout")

    @_idsync("search", "IDSync search: like identify, never creates")
    async def search(self, call: Call) -> dict[str, Any]:
        return await self._identity(call, "search")

    @operation(
        "POST",
        *idsync_paths("{mpid}/modify"),
        summary="IDSync modify: change an existing user's identities",
        request="mparticle/identity-modify",
        params=[MPID, READ_ONLY],
        responses={**ANSWERS, 200: "mparticle/identity-modify-response"},
        tags=TAGS,
        envelope=IDSYNC,
        finish=cors,
    )
    async def modify(self, call: Call) -> dict[str, Any]:
        workspace_id = self.access.idsync_workspace(call)
        body = call.checked("mparticle/identity-modify")
        mpid = parse_mpid(call.path_param("mpid"))
        if mpid is None:
            raise IdentityError(400, "BAD_REQUEST", "The MPID in the path is not a number.")
        changes = []
        for change in body["identity_changes"]:
            name = idsync_key(change["identity_type"])
            if name is not None:
                changes.append((name, change.get("old_value"), change.get("new_value")))
        workspace = self.state.workspace(workspace_id)
        flags: dict[str, Any] = {"mpid": str(mpid), "journal": call.journal_receipt()}
        if read_only(call):
            flags["read_only"] = True
        try:
            user = self._modify(call, workspace, mpid, changes)
        except IdentityError as error:
            message = {"code": error.code, "message": error.message}
            workspace.note_idsync("modify", body, error.status, message, **flags)
            raise
        answer = {
            "change_results": [
                {"identity_type": c["identity_type"], "modified_mpid": str(user.mpid)}
                for c in body["identity_changes"]
            ]
        }
        workspace.note_idsync("modify", body, 200, answer, **flags)
        return answer

    @staticmethod
    def _modify(
        call: Call, workspace: Workspace, mpid: int, changes: list[tuple[str, Any, Any]]
    ) -> User:
        if read_only(call):  # the user must exist; nothing changes
            found = workspace.user(mpid)
            if found is None:
                raise IdentityError(404, "NOT_FOUND_ERROR", f"MPID {mpid} does not exist.")
            return found
        user = workspace.modify(mpid, changes)
        workspace.settle("modify")
        call.emulator.changes += 1
        return user


def _checked(call: Call) -> dict[str, Any]:
    """The request body within its contract; a key of `known_identities` that is not an
    identity type is named with the type it probably meant (identity_keys.py): refused in
    strict mode, a warning (and ignored) in lenient mode."""
    body = call.json()
    contract = "mparticle/identity-request"
    verdict = call.validate(contract, body)
    types = call.emulator.contracts.schema(contract)["properties"]["known_identities"]
    identity_keys.explain(verdict, body, "known_identities", types["properties"])
    if not verdict.valid:
        raise call.envelope.invalid(contract, verdict)
    result: dict[str, Any] = body
    return result


def _known_identities(given: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The request's known identities under our names, and each one's spelling in the request
    (our key -> theirs, for `matched_identities`); unknown types and empty values are left out."""
    known: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for key, value in given.items():
        name = idsync_key(key)
        if name is not None and isinstance(value, str) and value:
            known[name] = value
            spelled[name] = key
    return known, spelled


def _answer(
    resolution: Resolution, known: dict[str, str], spelled: dict[str, str]
) -> dict[str, Any]:
    user = resolution.user
    return {
        "context": None,
        "mpid": str(user.mpid),
        "matched_identities": {spelled[k]: v for k, v in resolution.matched.items()},
        "is_ephemeral": False,
        "is_logged_in": user.known and known.get(LOGIN_ID) == user.identities[LOGIN_ID],
    }
