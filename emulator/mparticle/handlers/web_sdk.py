"""The endpoints the Web SDK calls besides IDSync: batches (JSON sent as `text/plain`, so a
browser sends no CORS preflight), its configuration, alias requests and a user's audience
memberships, at the default hosts' paths and at the `domain` (CNAME) layout of the same calls.
The web input's key is in the path; every answer carries the CORS headers (`cors`), and every
browser-called path answers the preflight."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.responses import Response

from emulator.core.call import Call
from emulator.core.errors import ApiError
from emulator.core.operations import NO_BODY, Param, PlatformMethod, operation
from emulator.mparticle.handlers.access import ALIAS, Access, cors
from emulator.mparticle.handlers.events_api import MAX_REQUEST_BYTES, checked_batches, plan_outcome
from emulator.mparticle.handlers.idsync import MPID, idsync_paths
from emulator.mparticle.state import MParticleState
from emulator.mparticle.users import parse_mpid

ERROR = "mparticle/error"
TAGS = ["mParticle Web SDK"]
KEY = Param("key", "path", {"type": "string"}, required=True)
EVENTS_PATHS = ("/v3/JS/{key}/events", "/webevents/v3/JS/{key}/events")
CONFIG_PATHS = ("/JS/v2/{key}/config", "/tags/JS/v2/{key}/config")
ALIAS_PATHS = ("/v1/identity/{key}/Alias", "/webevents/v1/identity/{key}/Alias")
AUDIENCE_PATH = "/v1/{key}/audience"
IDSYNC_PATHS = [
    p for action in ("identify", "login", "logout", "search") for p in idsync_paths(action)
]


def _preflight(
    *paths: str, params: Sequence[Param] = ()
) -> Callable[[PlatformMethod], PlatformMethod]:
    """A CORS preflight declaration (`OPTIONS`, 204, CORS headers) for `paths`."""
    return operation(
        "OPTIONS",
        *paths,
        summary="CORS preflight",
        request_required=False,
        params=params,
        responses={204: NO_BODY},
        tags=TAGS,
        finish=cors,
    )


class WebSdk:
    def __init__(self, access: Access, state: MParticleState) -> None:
        self.access = access
        self.state = state

    @operation(
        "POST",
        *EVENTS_PATHS,
        summary="Web SDK batch (JSON sent as text/plain)",
        request="mparticle/batch",
        request_media="text/plain",
        params=[KEY],
        responses={202: NO_BODY, 400: ERROR, 401: ERROR, 413: ERROR},
        tags=TAGS,
        finish=cors,
        max_body=MAX_REQUEST_BYTES,
    )
    async def web_events(self, call: Call) -> Response:
        source = self.access.web_input(call)
        # The Web SDK would retry a 400 for ever: its partner identities are dropped instead.
        checked = checked_batches(
            call, call.json(), bulk=False, partners_ok=True, over_limit=source.input.over_limit
        )
        batches = [b for b in checked if b is not None]
        for batch, _ in batches:
            if batch.get("partner_identities"):
                del batch["partner_identities"]
                call.notes.append("partner_identities dropped: accepted only from a feed input")
        window = self.access.dedup_window(source.workspace)
        accepted = self.state.accept(
            source.workspace, source.input, batches, False, window, call.journal_receipt()
        )
        for outcome in accepted:
            plan_outcome(call, outcome, "$")
        call.emulator.changes += 1
        return Response(status_code=202)

    @operation(
        "GET",
        *CONFIG_PATHS,
        summary="Web SDK configuration",
        params=[KEY, Param("env", "query", {"type": "string"})],
        responses={200: "mparticle/web-config", 404: ERROR},
        tags=TAGS,
        finish=cors,
    )
    async def web_config(self, call: Call) -> dict[str, Any]:
        workspace_id = self.access.web_input(call, status=404).workspace
        workspace = self.access.workspace(workspace_id)
        name = workspace.name if workspace is not None else None
        return {
            "appName": name if name is not None else workspace_id,
            "kitConfigs": [],
            "pixelConfigs": [],
            "workspaceToken": f"EMU{workspace_id}",
            "flags": {},
        }

    @operation(
        "POST",
        *ALIAS_PATHS,
        summary="Web SDK alias request (recorded)",
        request="mparticle/alias",
        params=[KEY],
        responses={202: NO_BODY, 400: None, 401: ERROR},
        tags=TAGS,
        envelope=ALIAS,
        finish=cors,
    )
    async def web_alias(self, call: Call) -> Response:
        source = self.access.web_input(call)
        data = call.checked("mparticle/alias")["data"]
        if str(data["source_mpid"]) == str(data["destination_mpid"]):
            raise ApiError(400, "source and destination are the same")
        self.state.workspace(source.workspace).aliases.append(
            {"time": self.state.clock.now(), "input": source.input.key, **data}
        )
        call.emulator.changes += 1
        return Response(status_code=202)

    @operation(
        "GET",
        AUDIENCE_PATH,
        summary="Web SDK: a user's audience memberships",
        params=[KEY, Param("mpid", "query", {"type": "string"}, required=True)],
        responses={200: "mparticle/audience-memberships", 400: ERROR, 401: ERROR},
        tags=TAGS,
        finish=cors,
    )
    async def web_audience(self, call: Call) -> dict[str, Any]:
        source = self.access.web_input(call)
        mpid = parse_mpid(call.query("mpid"))
        if mpid is None:
            raise ApiError(400, "mpid is required.")
        workspace = self.state.workspace(source.workspace)
        workspace.refresh()
        user = workspace.user(mpid)
        return {"audience_memberships": workspace.memberships(user) if user is not None else []}

    # CORS preflight for every path a browser calls (IDSync's too), declared per path
    # parameter so each path lists its own.
    @_preflight(*sorted([*ALIAS_PATHS, *CONFIG_PATHS, *EVENTS_PATHS, AUDIENCE_PATH]), params=[KEY])
    @_preflight(*idsync_paths("{mpid}/modify"), params=[MPID])
    @_preflight(*sorted(IDSYNC_PATHS))
    async def preflight(self, call: Call) -> Response:
        return Response(status_code=204)
