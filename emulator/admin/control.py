"""Control API handlers: health, journal, wait, reset, state, tenants, clock, faults.

Each handler is declared as an `Operation` with its parameters and contracts; `ControlAPI`
turns them into routes that check the admin token, parse the query against the declared
parameters, validate the JSON body against its contract and map `ControlError` to the envelope.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.admin.errors import ControlError, error_response
from emulator.admin.views import MAX_INT, PAGE_PARAMS
from emulator.core.clock import ClockRangeError
from emulator.core.journal import JournalFilter
from emulator.core.jsonresp import JSONDecodeError, JSONResponse, loads
from emulator.core.params import ParamError, QueryParser
from emulator.core.pipeline import ALL_METHODS
from emulator.core.store import StateError
from emulator.core.surface import Operation, Param
from emulator.core.tenants import TenantError

if TYPE_CHECKING:
    from emulator.persist import Persister
    from emulator.runtime import Emulator

PREFIX = "/_emulator"
log = logging.getLogger("ctmp_emulator")

_FILTER_PARAMS = [
    Param(
        "platform",
        "query",
        {"type": "string", "minLength": 1},
        description="clevertap or mparticle",
    ),
    Param("tenant", "query", {"type": "string", "minLength": 1}, description="Tenant id"),
    Param("path", "query", {"type": "string", "minLength": 1}, description="Exact path, or a glob"),
    Param("method", "query", {"type": "string", "pattern": "^[A-Za-z]{1,10}$"}),
    Param("status", "query", {"type": "integer", "minimum": 100, "maximum": 599}),
    Param("valid", "query", {"type": "boolean"}, description="Contract verdict"),
    Param(
        "since",
        "query",
        {"type": "integer", "minimum": 0, "maximum": MAX_INT},
        description="Only entries after this seq",
    ),
]
_WAIT_PARAMS = [
    Param(
        "count",
        "query",
        {"type": "integer", "minimum": 1, "maximum": 10000},
        description="How many entries to wait for (default 1)",
    ),
    Param(
        "timeout",
        "query",
        {"type": "number", "minimum": 0, "maximum": 300},
        description="Seconds (default 5)",
    ),
]
_TENANT_PARAM = Param("tenant", "query", {"type": "string", "minLength": 1})


def _filter(values: dict[str, Any]) -> JournalFilter:
    return JournalFilter(
        platform=values.get("platform"),
        tenant=values.get("tenant"),
        path=values.get("path"),
        method=values.get("method"),
        status=values.get("status"),
        valid=values.get("valid"),
        since=values.get("since"),
    )


def _instant(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ControlError(
            400, "invalid_request", f"'at' is not an ISO 8601 date-time: {value!r}"
        ) from exc
    if parsed.tzinfo is None:
        raise ControlError(400, "invalid_request", "'at' needs a UTC offset (e.g. Z)")
    return parsed.timestamp()


@contextlib.contextmanager
def _clock_range() -> Iterator[None]:
    try:
        yield
    except ClockRangeError as exc:
        raise ControlError(400, "invalid_request", str(exc)) from exc


class ControlAPI:
    def __init__(self, emulator: Emulator, persister: Persister | None) -> None:
        self.emulator = emulator
        self.persister = persister

    # -- handlers --------------------------------------------------------------------------
    async def health(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        return JSONResponse(self.emulator.health())

    async def requests(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        limit, offset = q.get("limit", 100), q.get("offset", 0)
        page, total = self.emulator.journal.query(_filter(q), limit, offset)
        return JSONResponse(
            {
                "requests": page,
                "total": total,
                "limit": limit,
                "offset": offset,
                "journal": self.emulator.journal.stats(),
            }
        )

    async def count(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        return JSONResponse({"count": self.emulator.journal.count(_filter(q))})

    async def wait(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        wanted, timeout = q.get("count", 1), q.get("timeout", 5.0)
        started = time.perf_counter()
        satisfied, matched = await self.emulator.journal.wait(_filter(q), wanted, timeout)
        return JSONResponse(
            {
                "satisfied": satisfied,
                "wanted": wanted,
                "count": len(matched),
                "requests": matched,
                "waited_ms": round((time.perf_counter() - started) * 1000, 3),
            }
        )

    async def request_entry(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        raw = request.path_params["seq"]
        entry = self.emulator.journal.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if entry is None:
            raise ControlError(
                404, "not_found", f"no journal entry {raw!r} (it may have been dropped)"
            )
        return JSONResponse(entry)

    async def clear_requests(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        tenant = q.get("tenant")
        removed = self.emulator.journal.clear(None if tenant is None else {tenant})
        return JSONResponse(
            {
                "scope": "tenant" if tenant else "all",
                "journal_entries_removed": removed,
                **({"tenant": tenant} if tenant else {}),
            }
        )

    async def reset(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        try:
            tenant, tenants = q.get("tenant"), q.get("tenants", False)
            if tenant is not None and tenants:
                raise ControlError(400, "invalid_request", "'tenants' applies to a full reset only")
            return JSONResponse(self.emulator.reset(tenant, tenants=tenants))
        except TenantError as exc:
            raise ControlError(404, "not_found", str(exc)) from exc

    async def get_state(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        tenant = q.get("tenant")
        if tenant is not None and self.emulator.tenants.get(tenant) is None:
            raise ControlError(404, "not_found", f"no tenant {tenant!r}")
        return JSONResponse(self.emulator.export_state(tenant))

    async def put_state(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        try:
            self.emulator.import_state(body)
        except (StateError, TenantError) as exc:
            raise ControlError(400, "invalid_state", str(exc)) from exc
        return JSONResponse({"tables": {k: len(v) for k, v in body.items() if k != "_meta"}})

    async def save_state(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        if self.persister is None:
            raise ControlError(409, "no_data_file", "the emulator was started without --data-file")
        size, tables = await self.persister.save()
        return JSONResponse({"tables": tables, "path": str(self.persister.path), "bytes": size})

    async def list_tenants(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        return JSONResponse({"tenants": self.emulator.tenants.all()})

    async def add_tenant(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        problems = self.emulator.check_tenant(body)
        if problems:
            raise ControlError(400, "invalid_request", "the tenant document is not valid", problems)
        try:
            doc = self.emulator.add_tenant(body)
        except TenantError as exc:
            raise ControlError(409, "conflict", str(exc)) from exc
        return JSONResponse(doc, status_code=201)

    async def put_tenant(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        """Replace a tenant or connection's document (its data stays), or add it."""
        tenant_id = request.path_params["tenant_id"]
        if isinstance(body, dict) and body.get("id") != tenant_id:
            raise ControlError(400, "invalid_request", f"the document's id must be {tenant_id!r}")
        problems = self.emulator.check_tenant(body)
        if problems:
            raise ControlError(400, "invalid_request", "the tenant document is not valid", problems)
        current = self.emulator.tenants.get(tenant_id)
        if current is not None and current["kind"] != body["kind"]:
            raise ControlError(409, "conflict", f"{tenant_id!r} is a {current['kind']}")
        try:
            doc = self.emulator.add_tenant(body, replace=True)
        except TenantError as exc:
            raise ControlError(409, "conflict", str(exc)) from exc
        return JSONResponse(doc, status_code=200 if current is not None else 201)

    async def get_tenant(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        doc = self.emulator.tenants.get(request.path_params["tenant_id"])
        if doc is None:
            raise ControlError(404, "not_found", f"no tenant {request.path_params['tenant_id']!r}")
        return JSONResponse(doc)

    async def delete_tenant(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        tenant_id = request.path_params["tenant_id"]
        try:
            removed = self.emulator.remove_tenant(tenant_id)
        except TenantError as exc:
            raise ControlError(409, "conflict", str(exc)) from exc
        if not removed:
            raise ControlError(404, "not_found", f"no tenant {tenant_id!r}")
        return JSONResponse({"deleted": tenant_id})

    async def get_clock(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        return JSONResponse(self.emulator.clock.snapshot())

    async def freeze_clock(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        at = (body or {}).get("at")
        with _clock_range():
            self.emulator.clock.freeze(None if at is None else _instant(at))
        return await self.get_clock(request, q, body)

    async def unfreeze_clock(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        self.emulator.clock.unfreeze()
        return await self.get_clock(request, q, body)

    async def set_clock(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        with _clock_range():
            self.emulator.clock.set(_instant(body["at"]))
        return await self.get_clock(request, q, body)

    async def advance_clock(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        with _clock_range():
            self.emulator.clock.advance(float(body["seconds"]))
        return await self.get_clock(request, q, body)

    async def list_faults(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        return JSONResponse({"faults": self.emulator.faults.snapshot()})

    async def add_fault(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        rule = self.emulator.faults.add(body)
        self.emulator.changes += 1
        return JSONResponse(rule.as_dict(), status_code=201)

    async def clear_faults(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        cleared = len(self.emulator.faults.list())
        self.emulator.faults.clear()
        return JSONResponse({"faults": [], "cleared": cleared})

    async def delete_fault(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        fault_id = request.path_params["fault_id"]
        if not self.emulator.faults.remove(fault_id):
            raise ControlError(404, "not_found", f"no fault rule {fault_id!r}")
        return JSONResponse({"deleted": fault_id})

    # -- declaration -----------------------------------------------------------------------
    def operations(self) -> list[Operation]:
        e = "emulator/"
        err = e + "error"
        tenant_kinds = [s.tenant_contract for s in self.emulator.surfaces if s.tenant_contract]
        op = Operation
        return [
            op(
                "GET",
                "/health",
                self.health,
                "Liveness and readiness",
                responses={200: e + "health"},
            ),
            op(
                "GET",
                "/requests",
                self.requests,
                "Journal entries matching a filter, paged",
                params=_FILTER_PARAMS + PAGE_PARAMS,
                responses={200: e + "requests-page", 400: err},
            ),
            op(
                "DELETE",
                "/requests",
                self.clear_requests,
                "Forget journal entries (all or one tenant)",
                params=[_TENANT_PARAM],
                responses={200: e + "reset-result", 400: err},
            ),
            op(
                "GET",
                "/requests/count",
                self.count,
                "How many journal entries match a filter",
                params=_FILTER_PARAMS,
                responses={200: e + "requests-count", 400: err},
            ),
            op(
                "GET",
                "/requests/wait",
                self.wait,
                "Wait (long-poll) until `count` entries match the filter, or the timeout passes",
                params=_FILTER_PARAMS + _WAIT_PARAMS,
                responses={200: e + "requests-wait", 400: err},
            ),
            op(
                "GET",
                "/requests/{seq}",
                self.request_entry,
                "One journal entry by sequence number",
                params=[
                    Param(
                        "seq", "path", {"type": "string", "pattern": "^[0-9]{1,16}$"}, required=True
                    )
                ],
                responses={200: e + "journal-entry", 404: err},
            ),
            op(
                "POST",
                "/reset",
                self.reset,
                "Forget data: everything, or one tenant's (tenants stay unless tenants=true)",
                params=[
                    _TENANT_PARAM,
                    Param(
                        "tenants",
                        "query",
                        {"type": "boolean"},
                        description="Also put back the tenants the emulator started with",
                    ),
                ],
                request=None,
                responses={200: e + "reset-result", 400: err, 404: err},
            ),
            op(
                "GET",
                "/state",
                self.get_state,
                "Export the state (all, or one tenant's) as a versioned document",
                params=[_TENANT_PARAM],
                responses={200: e + "state", 400: err, 404: err},
            ),
            op(
                "PUT",
                "/state",
                self.put_state,
                "Replace the whole state with a document",
                request=e + "state",
                responses={200: e + "state-saved", 400: err},
            ),
            op(
                "POST",
                "/state/save",
                self.save_state,
                "Write the state to the data file now",
                responses={200: e + "state-saved", 409: err},
            ),
            op(
                "GET",
                "/tenants",
                self.list_tenants,
                "Tenants and connections",
                responses={200: e + "tenant-list"},
            ),
            op(
                "POST",
                "/tenants",
                self.add_tenant,
                "Add a tenant or connection at run time",
                request=tenant_kinds,  # type: ignore[arg-type]
                responses={201: None, 400: err, 409: err},
            ),
            op(
                "GET",
                "/tenants/{tenant_id}",
                self.get_tenant,
                "One tenant or connection",
                params=[Param("tenant_id", "path", {"type": "string"}, required=True)],
                responses={200: None, 404: err},
            ),
            op(
                "PUT",
                "/tenants/{tenant_id}",
                self.put_tenant,
                "Replace a tenant or connection's settings (its data stays), or add it",
                request=tenant_kinds,  # type: ignore[arg-type]
                params=[Param("tenant_id", "path", {"type": "string"}, required=True)],
                responses={200: None, 201: None, 400: err, 409: err},
            ),
            op(
                "DELETE",
                "/tenants/{tenant_id}",
                self.delete_tenant,
                "Remove a tenant and its data",
                params=[Param("tenant_id", "path", {"type": "string"}, required=True)],
                responses={200: e + "deleted", 404: err, 409: err},
            ),
            op("GET", "/clock", self.get_clock, "The emulator clock", responses={200: e + "clock"}),
            op(
                "POST",
                "/clock/freeze",
                self.freeze_clock,
                "Stop the clock (now, or at `at`)",
                request=e + "clock-instant",
                request_required=False,
                responses={200: e + "clock", 400: err},
            ),
            op(
                "POST",
                "/clock/unfreeze",
                self.unfreeze_clock,
                "Let the clock run from where it is",
                responses={200: e + "clock"},
            ),
            op(
                "POST",
                "/clock/set",
                self.set_clock,
                "Move the clock to `at`",
                request=e + "clock-set",
                responses={200: e + "clock", 400: err},
            ),
            op(
                "POST",
                "/clock/advance",
                self.advance_clock,
                "Move the clock forward",
                request=e + "clock-advance",
                responses={200: e + "clock", 400: err},
            ),
            op(
                "GET", "/faults", self.list_faults, "Fault rules", responses={200: e + "fault-list"}
            ),
            op(
                "POST",
                "/faults",
                self.add_fault,
                "Add a fault rule",
                request=e + "fault",
                responses={201: e + "fault-rule", 400: err},
            ),
            op(
                "DELETE",
                "/faults",
                self.clear_faults,
                "Remove every fault rule",
                responses={200: e + "fault-list"},
            ),
            op(
                "DELETE",
                "/faults/{fault_id}",
                self.delete_fault,
                "Remove one fault rule",
                params=[Param("fault_id", "path", {"type": "string"}, required=True)],
                responses={200: e + "deleted", 404: err},
            ),
        ]

    # -- routing ---------------------------------------------------------------------------
    def routes(self, operations: list[Operation]) -> list[Route]:
        by_path: dict[str, dict[str, Any]] = {}
        for op in operations:
            by_path.setdefault(op.path, {})[op.method] = (op, QueryParser(op.params))
        return [
            Route(PREFIX + path, self._endpoint(methods), methods=ALL_METHODS)
            for path, methods in by_path.items()
        ]

    def _authorized(self, request: Request) -> bool:
        token = self.emulator.config.admin_token
        # Health stays open so container health checks work with a token set (as LocalStack's).
        if token is None or request.scope["path"] == PREFIX + "/health":
            return True
        given = request.headers.get("x-emulator-token") or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:]
        return secrets.compare_digest(given.encode(), token.encode())

    def _endpoint(self, methods: dict[str, Any]) -> Any:
        contracts = self.emulator.contracts

        async def endpoint(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            if method not in methods:
                response = error_response(
                    405, "method_not_allowed", f"{request.method} is not allowed here"
                )
                response.headers["Allow"] = ", ".join(sorted(methods))
                return response
            if not self._authorized(request):
                return error_response(401, "unauthorized", "a valid control token is required")
            op, parser = methods[method]
            try:
                query = parser.parse(request.query_params)
                body = await self._body(request, op, contracts)
                return await op.handler(request, query, body)
            except ParamError as exc:
                return error_response(400, "invalid_parameter", str(exc))
            except ControlError as exc:
                return error_response(exc.status, exc.code, exc.message, exc.details)
            except Exception as exc:  # a bug of ours: still one envelope, never a stack trace
                log.exception("control operation failed")
                return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")

        return endpoint

    @staticmethod
    async def _body(request: Request, op: Operation, contracts: Any) -> Any:
        if op.request is None:
            return None
        raw = await request.body()
        if not raw.strip():
            if not op.request_required:
                return {}
            raise ControlError(400, "invalid_request", "a JSON body is required")
        try:
            body = loads(raw)
        except JSONDecodeError as exc:
            raise ControlError(400, "malformed_json", f"the body is not JSON: {exc}") from exc
        names = op.request if isinstance(op.request, list) else [op.request]
        if isinstance(op.request, list):
            return body  # the handler checks which kind applies and explains
        verdict = contracts.validate(names[0], body)
        if not verdict.valid:
            raise ControlError(
                400,
                "invalid_request",
                f"the body does not satisfy {names[0]}",
                [e.as_dict() for e in verdict.errors],
            )
        return body
