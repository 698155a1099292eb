"""The Events API (https://docs.mparticle.com/developers/apis/http/): one batch, a bulk upload
of up to 100 batches, and historical data; also under `/s2s/`, as partner feeds call them.

202 on success; a request over 256 KB (refused while it arrives, before authentication) or a
batch over 128 KB is a 413; errors in the
`{"errors": [...]}` envelope (access.py). Each accepted batch is brought within mParticle's
limits (limits.py), resolved to a user (its `mpid`, else IDSync's identify over its
identities) and applied to it (state.py).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.core.admission import Rate
from emulator.core.call import Call
from emulator.core.contracts import ContractError, Verdict
from emulator.core.errors import ApiError
from emulator.core.jsonresp import dumps
from emulator.core.operations import NO_BODY, operation
from emulator.mparticle import identity_keys, limits
from emulator.mparticle.handlers.access import Access
from emulator.mparticle.limits import OverLimit
from emulator.mparticle.settings import Input
from emulator.mparticle.state import MParticleState, Outcome, RawBatch

MAX_REQUEST_BYTES = 256 * 1024
MAX_BATCH_BYTES = 128 * 1024
ERROR = "mparticle/error"
ANSWERS: dict[int, str | None] = {
    202: NO_BODY,
    400: ERROR,
    401: ERROR,
    403: ERROR,
    413: ERROR,
    429: ERROR,
}
# Which limit a 429 hit; the documented values are org, account, app, feed, workspace and
# acceleration (https://docs.mparticle.com/guides/default-service-limits/).
RATE_HEADER = "X-mp-rate-limit-exceeded"
BASIC = ["mparticleBasic"]


# The verdict kind of a limit applied to a batch (truncated, removed, or refused).
LIMIT = "limit"
FEED_ONLY = "partner_identities are accepted only from a feed input."
FEED_CONSENT = "consent_state is not accepted from a partner feed."


def feed_refusals(batch: dict[str, Any], feed: Input) -> list[tuple[str, str]]:
    """What a partner feed may not send, as (field, message): `consent_state`, and any partner
    identity but its registered one: a partner feed may send only its own registered partner
    identity (https://docs.mparticle.com/developers/apis/json-reference/, partner_identities)."""
    found = []
    if batch.get("consent_state") is not None:
        found.append(("consent_state", FEED_CONSENT))
    partner = batch.get("partner_identities")
    for name in partner if isinstance(partner, dict) else ():
        if name != feed.partner_identity:
            message = (
                f"partner identity {name!r} is not this feed's registered partner identity "
                f"({feed.partner_identity!r})."
            )
            found.append((f"partner_identities.{name}", message))
    return found


def checked_batches(
    call: Call,
    body: Any,
    bulk: bool,
    partners_ok: bool,
    feed: Input | None = None,
    over_limit: OverLimit = "truncate",
) -> list[RawBatch | None]:
    """The batches, each with its JSON (for the size limit and the stored copy), each within
    the size limit; a batch that breaks `mparticle/batch` (or carries partner identities where
    they are not `partners_ok`: only a feed sends them; or what a `feed` may not send; or, with
    `over_limit` `refuse`, goes past a limit) is None. A valid batch is brought within mParticle's
    limits (limits.py). Every problem of every batch, and every limit applied, goes in the
    request's verdict (a limit applied as a warning of kind `limit`).

    A single batch with a problem refuses the request; so does a bulk request whose batches all
    have one. Otherwise the valid batches of a bulk request are taken: "If some event batches
    succeed and some event batches fail, you will still get an Accepted response"
    (https://docs.mparticle.com/developers/apis/http/)."""
    emulator = call.emulator
    if bulk:
        call.checked("mparticle/bulk")
        batches = [(batch, dumps(batch)) for batch in body]
    else:
        batches = [(body, call.body)]
    merged = Verdict("mparticle/batch")
    call.verdict = merged
    types = emulator.contracts.schema("mparticle/batch")["properties"]["user_identities"]
    validate, mode = emulator.contracts.validate, emulator.config.mode
    # The batches held to the limits in one compiled pass (a bulk request's whole array): when
    # all are within, none has anything to change (limits.enforce would answer [] for each).
    fits = limits.all_within(body) if bulk else limits.within(body)
    kept: list[RawBatch | None] = []
    for index, (batch, raw) in enumerate(batches):
        if len(raw) > MAX_BATCH_BYTES:
            raise ApiError(413, f"Batch {index} exceeds {MAX_BATCH_BYTES} bytes.")
        verdict = validate("mparticle/batch", batch, mode)
        quiet = verdict.valid and not verdict.warnings and feed is None and fits
        if quiet and (partners_ok or not batch.get("partner_identities")):
            kept.append((batch, raw))  # the common batch: nothing to report
            continue
        if not verdict.valid or verdict.warnings:  # only a problem has anything to explain
            identity_keys.explain(verdict, batch, "user_identities", types["properties"])
        prefix = f"$[{index}]" if bulk else "$"
        errors = [_repath(e, prefix) for e in verdict.errors]
        if not partners_ok and verdict.valid and batch.get("partner_identities"):
            if not bulk:
                raise ApiError(400, FEED_ONLY)
            errors.append(ContractError(f"{prefix}.partner_identities", FEED_ONLY, "feed-only"))
        if feed is not None and verdict.valid:
            refused = feed_refusals(batch, feed)
            if refused and not bulk:
                raise ApiError(400, refused[0][1])
            errors += [ContractError(f"{prefix}.{at}", m, "feed-rule") for at, m in refused]
        merged.warnings += [_repath(e, prefix) for e in verdict.warnings]
        if not errors:
            try:
                notes = limits.enforce(batch, over_limit)
            except limits.OverLimitError as over:
                note = ContractError(over.note.path, over.note.message, LIMIT)
                if not bulk:
                    merged.errors.append(note)
                    raise call.envelope.invalid("mparticle/batch", merged) from None
                errors.append(_repath(note, prefix))
            else:
                merged.warnings += [
                    ContractError(prefix + n.path[1:], n.message, LIMIT) for n in notes
                ]
        merged.errors += errors
        kept.append(None if errors else (batch, raw))
        if bulk and errors:
            rejected = [e.as_dict() for e in errors]
            call.parts.append({"index": index, "outcome": "rejected", "errors": rejected})
    if all(b is None for b in kept):
        call.parts.clear()  # nothing taken: the 400 names every problem
        raise call.envelope.invalid("mparticle/batch", merged)
    return kept


def plan_outcome(call: Call, outcome: Outcome, prefix: str) -> Outcome:
    """The outcome without its data plan report, which goes in the request's verdict as
    warnings (kind `data_plan`: violations and why a batch was not validated;
    `data_plan_blocked`: what the plan's block settings removed)."""
    report = outcome.pop("data_plan", None)
    if report is not None and call.verdict is not None:
        call.verdict.warnings += report.warnings(prefix)
    return outcome


def _repath(error: ContractError, prefix: str) -> ContractError:
    return ContractError(prefix + error.path[1:], error.message, error.kind)


class EventsApi:
    def __init__(self, access: Access, state: MParticleState, rate: Rate) -> None:
        self.access = access
        self.state = state
        self.rate = rate

    def _throttle(self, workspace: str, batches: int) -> None:
        """The workspace's Events API throughput limit (default 270 batches a second): beyond
        it 429 with `Retry-After` and `X-mp-rate-limit-exceeded`, and nothing applied
        (https://docs.mparticle.com/guides/default-service-limits/)."""
        per_second = self.access.events_per_second(workspace)
        if per_second == 0:
            return
        wait = self.rate.wait(workspace, batches, per_second)
        if wait:
            raise ApiError(
                429,
                f"Rate limit exceeded: {per_second} batches per second.",
                retry_after=wait,
                headers={RATE_HEADER: "workspace"},
            )

    async def _accept(self, call: Call, bulk: bool, historical: bool = False) -> Response:
        source = self.access.server_input(call)
        feed = source.input if source.input.kind == "feed" else None
        batches = checked_batches(
            call,
            call.json(),
            bulk,
            partners_ok=feed is not None,
            feed=feed,
            over_limit=source.input.over_limit,
        )
        self._throttle(source.workspace, len(batches))
        taken = [b for b in batches if b is not None]
        window = self.access.dedup_window(source.workspace)
        accepted = self.state.accept(
            source.workspace, source.input, taken, historical, window, call.journal_receipt()
        )
        outcomes = iter(accepted)
        parts = {part["index"]: part for part in call.parts}
        for index, batch in enumerate(batches):
            if batch is not None:
                outcome = next(outcomes)
                if "data_plan" in outcome:
                    outcome = plan_outcome(call, outcome, f"$[{index}]" if bulk else "$")
                parts[index] = {"index": index, **outcome}
        if bulk or any(p["outcome"] != "accepted" for p in parts.values()):
            call.parts = [parts[i] for i in sorted(parts)]
        call.emulator.changes += 1
        # Refused batches are named in the journal (`parts`): the documented 202 has no body.
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
