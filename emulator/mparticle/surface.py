"""mParticle HTTP handlers (thin) for the Events API.

Per `shared/reference/mparticle-api.md` §1: HTTP Basic with an input's key and secret (missing
→ 401, present but wrong → 403), 202 on success, `{"errors": [{"code", "message"}]}` on 400,
request over 256 KB or a batch over 128 KB → 413, at most 100 batches in a bulk upload. The same
operations answer under `/s2s/v2/...`, as partner feeds call them.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.admin.views import rows_view
from emulator.core.contracts import ContractError, Verdict
from emulator.core.jsonresp import JSONResponse, dumps, fragment
from emulator.core.rows import TenantRows
from emulator.core.surface import NO_BODY, BadJSON, Call, Operation, Surface
from emulator.runtime import Emulator

MAX_REQUEST_BYTES = 256 * 1024
MAX_BATCH_BYTES = 128 * 1024
_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_ENTITY_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
}


def errors(status: int, *messages: str, retry_after: int | None = None) -> JSONResponse:
    code = _CODES.get(status, "SERVER_ERROR" if status >= 500 else "ERROR")
    response = JSONResponse(
        {"errors": [{"code": code, "message": m} for m in messages]}, status_code=status
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, sep, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    return (key, secret) if sep else (key, "")


class MParticleSurface(Surface):
    name = "mparticle"
    tenant_kind = "mparticle_workspace"
    tenant_contract = "mparticle/workspace"
    path_prefixes = ("/v2/", "/s2s/")

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        # Accepted batches as received; users, IDSync and audiences build on them (issue 4).
        self.batches = TenantRows()
        # input key -> (workspace id, input)
        self._inputs: dict[str, tuple[str, dict[str, Any]]] = {}

    def tenants_changed(self) -> None:
        self._inputs = {
            item["key"]: (ws["id"], item)
            for ws in self.emulator.tenants.of_kind(self.tenant_kind)
            for item in ws["inputs"]
        }

    def check_tenant(self, doc: dict[str, Any]) -> list[str]:
        problems = []
        keys = [item["key"] for item in doc["inputs"]]
        for key in {k for k in keys if keys.count(k) > 1}:
            problems.append(f"input key {key!r} is used twice")
        for key in keys:
            owner = self._inputs.get(key)
            if owner is not None and owner[0] != doc["id"]:
                problems.append(f"input key {key!r} already belongs to workspace {owner[0]!r}")
        return problems

    # -- pipeline hooks --------------------------------------------------------------------
    def resolve_tenant(self, request: Request) -> str | None:
        creds = basic_credentials(request)
        owner = self._inputs.get(creds[0]) if creds else None
        return owner[0] if owner else None

    def error_response(self, status: int, message: str, retry_after: int | None = None) -> Response:
        return errors(status, message, retry_after=retry_after)

    def authenticate(self, call: Call) -> tuple[str, dict[str, Any]] | Response:
        """The server-side input the request's Basic credentials name, or mParticle's 401/403."""
        creds = basic_credentials(call.request)
        if creds is None:
            return errors(401, "Authorization header is missing.")
        owner = self._inputs.get(creds[0])
        if (
            owner is None
            or owner[1]["kind"] == "web"
            or not secrets.compare_digest(creds[1].encode(), owner[1].get("secret", "").encode())
        ):
            return errors(403, "The API key and secret are not valid.")
        return owner

    # -- handlers --------------------------------------------------------------------------
    async def _accept(self, call: Call, bulk: bool, historical: bool = False) -> Response:
        owner = self.authenticate(call)
        if isinstance(owner, Response):
            return owner
        if len(call.body) > MAX_REQUEST_BYTES:
            return errors(413, f"Request body exceeds {MAX_REQUEST_BYTES} bytes.")
        try:
            body = call.json()
        except BadJSON:
            return errors(400, "Request body is not valid JSON.")
        batches = self._checked_batches(call, body, bulk)
        if isinstance(batches, Response):
            return batches
        self._store(owner, batches, historical)
        return Response(status_code=202)

    def _checked_batches(self, call: Call, body: Any, bulk: bool) -> list[Any] | Response:
        contracts, mode = self.emulator.contracts, self.emulator.config.mode
        if bulk:
            verdict = call.validate("mparticle/bulk", body)
            if not verdict.valid:
                return errors(400, *(f"{e.path}: {e.message}" for e in verdict.errors))
            batches = body
        else:
            batches = [body]
        merged = Verdict("mparticle/batch")
        for index, batch in enumerate(batches):
            if len(dumps(batch)) > MAX_BATCH_BYTES:
                call.verdict = merged
                return errors(413, f"Batch {index} exceeds {MAX_BATCH_BYTES} bytes.")
            verdict = contracts.validate("mparticle/batch", batch, mode)
            prefix = f"$[{index}]" if bulk else "$"
            merged.errors += [_repath(e, prefix) for e in verdict.errors]
            merged.warnings += [_repath(e, prefix) for e in verdict.warnings]
        call.verdict = merged
        if not merged.valid:
            return errors(400, *(f"{e.path}: {e.message}" for e in merged.errors))
        return batches

    def _store(
        self, owner: tuple[str, dict[str, Any]], batches: list[Any], historical: bool
    ) -> None:
        workspace_id, source = owner
        received = self.emulator.clock.now()
        for batch in batches:
            self.batches.add(
                workspace_id,
                {
                    "received": received,
                    "input": source["key"],
                    "historical": historical,
                    # Kept serialised until users and IDSync build on them.
                    "batch": fragment(batch),
                },
            )

    async def events(self, call: Call) -> Response:
        return await self._accept(call, bulk=False)

    async def bulk_events(self, call: Call) -> Response:
        return await self._accept(call, bulk=True)

    async def historical(self, call: Call) -> Response:
        return await self._accept(call, bulk=True, historical=True)

    # -- declaration -----------------------------------------------------------------------
    def operations(self) -> list[Operation]:
        err = "mparticle/error"
        responses: dict[int, str | None] = {202: NO_BODY, 400: err, 401: err, 403: err, 413: err}
        ops = []
        for prefix in ("", "/s2s"):
            ops += [
                Operation(
                    "POST",
                    prefix + "/v2/events",
                    self.events,
                    "Upload one batch",
                    request="mparticle/batch",
                    responses=responses,
                    security=["mparticleBasic"],
                ),
                Operation(
                    "POST",
                    prefix + "/v2/bulkevents",
                    self.bulk_events,
                    "Upload up to 100 batches",
                    request="mparticle/bulk",
                    responses=responses,
                    security=["mparticleBasic"],
                ),
                Operation(
                    "POST",
                    prefix + "/v2/bulkevents/historical",
                    self.historical,
                    "Upload up to 100 batches of historical data",
                    request="mparticle/bulk",
                    responses=responses,
                    security=["mparticleBasic"],
                ),
            ]
        return ops

    def control_operations(self) -> list[Operation]:
        return [
            rows_view(
                "/mparticle/{tenant}/batches",
                self.batches,
                "batches",
                self.owns,
                "Batches a workspace accepted, as received, oldest first",
            )
        ]

    def security_schemes(self) -> dict[str, Any]:
        return {"mparticleBasic": {"type": "http", "scheme": "basic"}}

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        return {"batches": self.batches.export(tenants)}

    def import_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.batches.load(tables.get("batches", []))

    def reset(self, tenants: Any) -> None:
        self.batches.reset(tenants)


def _repath(error: ContractError, prefix: str) -> ContractError:
    return ContractError(prefix + error.path[1:], error.message, error.kind)
