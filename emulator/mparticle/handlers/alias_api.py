"""The server-to-server alias request (`POST /v2/alias`, the Events API's host and Basic key
and secret; https://docs.mparticle.com/developers/apis/http/ and
https://docs.mparticle.com/guides/idsync/aliasing/): 202 with no body when accepted, 400 in
the Events API's envelope for a request that is wrong in itself. What the alias does to the users
is in `aliasing.py`."""

from __future__ import annotations

from starlette.responses import Response

from emulator.core.call import Call
from emulator.core.operations import NO_BODY, operation
from emulator.mparticle import aliasing
from emulator.mparticle.handlers.access import Access
from emulator.mparticle.state import MParticleState

ERROR = "mparticle/error"


class AliasApi:
    def __init__(self, access: Access, state: MParticleState) -> None:
        self.access = access
        self.state = state

    @operation(
        "POST",
        "/v2/alias",
        summary="Alias a source MPID's events in a time window to a destination MPID",
        request="mparticle/s2s-alias",
        responses={202: NO_BODY, 400: ERROR, 401: ERROR, 403: ERROR},
        security=["mparticleBasic"],
    )
    async def alias(self, call: Call) -> Response:
        source = self.access.server_input(call)
        body = call.checked("mparticle/s2s-alias")
        workspace = self.state.workspace(source.workspace)
        aliasing.alias(workspace, body, self.state.clock.now(), f"s2s:{source.input.key}")
        call.emulator.changes += 1
        return Response(status_code=202)
