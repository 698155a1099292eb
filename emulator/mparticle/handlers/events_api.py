"""The Events API (https://docs.mparticle.com/developers/apis/http/): one batch, a bulk upload
of up to 100 batches, and historical data; also under `/s2s/`, as partner feeds call them.

202 on success; a request over 256 KB (refused while it arrives, before authentication) or a
batch over 128 KB is a 413; errors in the
`{"errors": [...]}` envelope (access.py). Each accepted batch is resolved to a user (its
`mpid`, else IDSync's identify over its identities) and applied to it (state.py).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.core.call import Call
from emulator.core.contracts import ContractError, Verdict
from emulator.core.errors import ApiError
from emulator.core.jsonresp import dumps
from emulator.core.operations import NO_BODY, operation
from emulator.mparticle.handlers.access import Access
from emulator.mparticle.state import MParticleState, RawBatch

MAX_REQUEST_BYTES = 256 * 1024
MAX_BATCH_BYTES = 128 * 1024
ERROR = "mparticle/error"
ANSWERS: dict[int, str | None] = {202: NO_BODY, 400: ERROR, 401: ERROR, 403: ERROR, 413: ERROR}
BASIC = ["mparticleBasic"]


def checked_batches(call: Call, body: Any, bulk: bool) -> list[RawBatch]:
    """The batches, each with its JSON (for the size limit and the stored copy), each within
    the size limit and held to `mparticle/batch`; every problem of every batch is reported."""
    emulator = call.emulator
    if bulk:
        call.checked("mparticle/bulk")
        batches = [(batch, dumps(batch)) for batch in body]
    else:
        batches = [(body, call.body)]
    merged = Verdict("mparticle/batch")
    call.verdict = merged
    for index, (batch, raw) in enumerate(batches):
        if len(raw) > MAX_BATCH_BYTES:
            raise ApiError(413, f"Batch {index} exceeds {MAX_BATCH_BYTES} bytes.")
        verdict = emulator.contracts.validate("mparticle/batch", batch, emulator.config.mode)
        prefix = f"$[{index}]" if bulk else "$"
        merged.errors += [_repath(e, prefix) for e in verdict.errors]
        merged.warnings += [_repath(e, prefix) for e in verdict.warnings]
    if not merged.valid:
        raise call.envelope.invalid("mparticle/batch", merged)
    return batches


def _repath(error: ContractError, prefix: str) -> ContractError:
    return ContractError(prefix + error.path[1:], error.message, error.kind)


class EventsApi:
    def __init__(self, access: Access, state: MParticleState) -> None:
        self.access = access
        self.state = state

    async def _accept(self, call: Call, bulk: bool, historical: bool = False) -> Response:
        source = self.access.server_input(call)
        batches = checked_batches(call, call.json(), bulk)
        if source.input.kind != "feed" and any(b.get("partner_identities") for b, _ in batches):
            raise ApiError(400, "partner_identities are accepted only from a feed input.")
        self.state.accept(source.workspace, source.input, batches, historical)
        call.emulator.changes += 1
        return Response(status_code=202)

    @operation(
        "POST",
        "/v2/events",
        "/s2s/v2/events",
        summary="Upload one batch",
        request="mparticle/batch",
        responses=ANSWERS,
        security=BASIC,
        max_body=MAX_REQUEST_BYTES,
    )
    async def events(self, call: Call) -> Response:
        return await self._accept(call, bulk=False)

    @operation(
        "POST",
        "/v2/bulkevents",
        "/s2s/v2/bulkevents",
        summary="Upload up to 100 batches",
        request="mparticle/bulk",
        responses=ANSWERS,
        security=BASIC,
        max_body=MAX_REQUEST_BYTES,
    )
    async def bulk_events(self, call: Call) -> Response:
        return await self._accept(call, bulk=True)

    @operation(
        "POST",
        "/v2/bulkevents/historical",
        "/s2s/v2/bulkevents/historical",
        summary="Upload up to 100 batches of historical data",
        request="mparticle/bulk",
        responses=ANSWERS,
        security=BASIC,
        max_body=MAX_REQUEST_BYTES,
    )
    async def historical(self, call: Call) -> Response:
        return await self._accept(call, bulk=True, historical=True)
