"""The path every platform request takes: tenant, faults, handler, journal, log line.

Each operation's handler is run here, so handlers stay thin and the journal, fault injection
and error discipline are the same for every surface. An `ApiError` a handler raises is rendered
once, through the operation's envelope. Any other exception is a bug in the emulator: the client
still gets the platform's error envelope (never a stack trace) and the journal keeps the text.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from emulator.core.admission import Slot
from emulator.core.call import (
    DELIVERY_SCOPE_KEY,
    JOURNAL_SEQ_KEY,
    Call,
    current_call,
    request_origin,
)
from emulator.core.contracts import Verdict
from emulator.core.errors import ApiError
from emulator.core.jsonresp import Fragment, JSONDecodeError, JSONResponse, fragment, tight
from emulator.core.limits import BodyRefused, closing, read_body
from emulator.core.nesting import NestingError, parse
from emulator.core.operations import PlatformOperation
from emulator.core.routing import any_method_route
from emulator.core.surface import Surface
from emulator.logs import log_direct

if TYPE_CHECKING:
    from emulator.runtime import Emulator

log = logging.getLogger("ctmp_emulator.requests")

MASKED = "***"
NO_QUERY = Fragment(b"{}")
_SECRET_HEADERS = {"x-clevertap-passcode", "cookie", "x-emulator-token", "proxy-authorization"}


def mask_headers(request: Request) -> dict[str, str]:
    """Request headers with credentials masked; Basic auth keeps its (non-secret) key. Read
    from the ASGI scope's raw pairs (names arrive lowercased), as Starlette's `Headers` reads
    them, without building that object."""
    headers = {
        name.decode("latin-1"): value.decode("latin-1") for name, value in request.scope["headers"]
    }
    for name in _SECRET_HEADERS.intersection(headers):
        headers[name] = MASKED
    authorization = headers.get("authorization")
    if authorization is not None:
        headers["authorization"] = _mask_authorization(authorization)
    return headers


@functools.lru_cache(maxsize=64)  # a client sends the same header on every request
def _mask_authorization(value: str) -> str:
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
        except ValueError:
            return f"{scheme} {MASKED}"
        return f"{scheme} {key}:{MASKED}"
    return f"{scheme} {MASKED}" if credentials else MASKED


def _capped_body(raw: bytes, known_json: bool, cap: int, depth: int) -> tuple[Any, bool]:
    """The body as the journal keeps it, and whether it was cut at `cap`.

    JSON stays as its raw bytes (an `orjson.Fragment`, written out verbatim): parsed objects
    cost ~5x the bytes in memory and make resets and garbage collection slow. Other bodies, and
    JSON nested deeper than `depth` (the state document could not hold it), are kept as text.
    """
    if not raw:
        return None, False
    if len(raw) > cap:
        return raw[:cap].decode("utf-8", "replace"), True
    if not known_json:
        try:
            parse(raw, depth)
        except (JSONDecodeError, NestingError):
            return raw.decode("utf-8", "replace"), False
    return Fragment(tight(raw)), False


class _NoAnswer(Response):
    """What an endpoint returns when the client is gone: sends nothing."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


NO_ANSWER: Response = _NoAnswer()
ABANDONED = "ClientDisconnect: the client closed the connection before the body was complete"


async def _run(op: PlatformOperation, call: Call) -> Response:
    """The operation's answer: what its handler returns, or the `ApiError` it raises rendered
    through the operation's envelope; `finish` sees either."""
    if op.envelope is not None:
        call.envelope = op.envelope
    try:
        reply = await op.handler(call)
        response = reply if isinstance(reply, Response) else JSONResponse(reply)
    except ApiError as refused:
        call.refusal = "; ".join(refused.messages)
        response = call.envelope.render(refused, call)
    if op.finish is not None:
        op.finish(call, response)
    return response


def _fault(
    operations: dict[str, PlatformOperation],
    call: Call,
    status: int,
    message: str | None,
    retry_after: int | None,
) -> Response:
    """A fault rule's answer, as the operation it stands in for would give it: that API's
    envelope (IDSync's, the Profile API's, ...), its headers (CORS), and without a message the
    platform's own text for the status (docs/error-shapes.md)."""
    op = operations.get(call.request.method) or (
        operations.get("GET") if call.request.method == "HEAD" else None
    )
    envelope = (op.envelope if op is not None else None) or call.envelope
    error = ApiError(status, message or envelope.reason(status), retry_after=retry_after)
    response = envelope.render(error, call)
    if op is not None and op.finish is not None:
        op.finish(call, response)
    return response


async def _sleep_at_least(seconds: float) -> None:
    # Event-loop timers may fire a little early (uvloop rounds to milliseconds); a latency
    # fault promises at least its delay.
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(left)


class Pipeline:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def routes(self, surface: Surface) -> list[Route]:
        by_path: dict[str, dict[str, PlatformOperation]] = defaultdict(dict)
        for op in surface.operations():
            by_path[op.path][op.method.upper()] = op
        # A path with fewer parameters first: `/resolve/{org}/{account}/{workspace}` must win
        # over `/{org}/{account}/{workspace}/{mpid}`, whatever order they were declared in.
        paths = sorted(by_path, key=lambda path: path.count("{"))
        routes = [any_method_route(path, self._endpoint(surface, by_path[path])) for path in paths]
        for prefix in surface.path_prefixes:
            routes.append(any_method_route(prefix + "{rest:path}", self._endpoint(surface, {})))
        return routes

    def _endpoint(
        self, surface: Surface, operations: dict[str, PlatformOperation]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self.handle(surface, operations, request)

        return endpoint

    async def handle(
        self, surface: Surface, operations: dict[str, PlatformOperation], request: Request
    ) -> Response:
        owner = self.emulator.hosts.of_scope(request.scope)
        if owner is not None and owner is not surface:
            # A platform's host name reaches that platform only (core/hosts.py): another
            # platform's path, or one nobody serves, is that platform's own 404.
            surface, operations = owner, {}
        # Admitted before the body is read: a rate limit counts a request from its first byte
        # to its answer (emulator/core/admission.py).
        slot = surface.admit(request, operations.get(request.method))
        try:
            return await self._handle(surface, operations, request, slot)
        finally:
            slot.release()

    async def _handle(
        self,
        surface: Surface,
        operations: dict[str, PlatformOperation],
        request: Request,
        slot: Slot,
    ) -> Response:
        emulator = self.emulator
        started = time.perf_counter()
        envelope = surface.envelope
        assert envelope is not None, f"surface {surface.name!r} serves requests without an envelope"
        limited = operations.get(request.method)
        limit = limited.max_body if limited is not None else None
        try:
            body = await read_body(
                request, limit or emulator.config.max_body_bytes, emulator.config.body_timeout
            )
        except ClientDisconnect:
            return self._abandoned(surface, Call(request, b"", emulator, envelope), started)
        except BodyRefused as refused:
            return self._refused(surface, limited, request, refused, started)
        call = Call(request, body, emulator, envelope)
        token = current_call.set(call)
        error: str | None = None
        fault_id: str | None = None
        try:
            # The tenant the credentials prove, not the one the request claims: a fault rule
            # for a tenant fires only for its authenticated requests (docs/architecture.md).
            call.tenant = surface.resolve_tenant(request)
            response: Response | None = None
            if slot.refusal is not None:
                call.refusal = slot.refusal.message
                response = envelope.render(slot.refusal, call)
            rule = (
                None
                if response is not None
                else emulator.faults.pick(surface.name, call.tenant, request.method, call.path)
            )
            if rule is not None:
                fault_id = rule.id
                if rule.latency_ms:
                    await _sleep_at_least(rule.latency_ms / 1000)
                if rule.status is not None:
                    response = _fault(operations, call, rule.status, rule.message, rule.retry_after)
            if response is None:
                op = operations.get(request.method)
                if op is None and request.method == "HEAD":
                    op = operations.get("GET")
                if op is not None:
                    response = await _run(op, call)
                elif operations:
                    response = surface.error_response(405, f"Method {request.method} not allowed")
                    response.headers["Allow"] = ", ".join(sorted(operations))
                else:
                    response = surface.error_response(404, f"Resource not found: {call.path}")
        except Exception as exc:  # the emulator's own bug: answer in the platform's envelope
            logging.getLogger("ctmp_emulator").exception("handler failed")
            error = f"{type(exc).__name__}: {exc}"
            response = surface.error_response(500, "Internal emulator error")
        finally:
            current_call.reset(token)
        self.record(surface, call, response, started, error, fault_id)
        if emulator.on_applied is not None and request.method not in ("GET", "HEAD"):
            try:
                await emulator.on_applied(request, body)
            except OSError as exc:  # not on disk: a success now could be lost by a crash
                response = surface.error_response(
                    503, f"The emulator could not make the request durable: {exc.strerror or exc}"
                )
        return response

    def _abandoned(self, surface: Surface, call: Call, started: float) -> Response:
        """The client closed the connection before its body was complete: nothing ran and there
        is no one to answer; the journal keeps the attempt, as status 499 (nginx's "client
        closed request")."""
        call.tenant = surface.resolve_tenant(call.request)
        self.record(surface, call, Response(status_code=499), started, ABANDONED, None)
        return NO_ANSWER

    def _refused(
        self,
        surface: Surface,
        op: PlatformOperation | None,
        request: Request,
        refused: BodyRefused,
        started: float,
    ) -> Response:
        """The body passed its size or time limit: nothing ran; the operation's own 413 (408)
        answers, the connection closes (the rest is never read), the journal keeps what came."""
        envelope = (op.envelope if op is not None else None) or surface.envelope
        assert envelope is not None
        call = Call(request, refused.received, self.emulator, envelope)
        call.tenant = surface.resolve_tenant(request)
        response = closing(envelope.render(refused.error(), call))
        if op is not None and op.finish is not None:
            op.finish(call, response)
        self.record(surface, call, response, started, refused.message, None, refused.size)
        return response

    def record(
        self,
        surface: Surface,
        call: Call,
        response: Response,
        started: float,
        error: str | None,
        fault_id: str | None,
        body_size: int | None = None,
    ) -> None:
        """Journal the request; `body_size` is the size it claimed when its body was refused
        before the end (the journal then keeps what arrived, marked truncated)."""
        emulator = self.emulator
        cap = emulator.config.journal_body_cap
        depth = emulator.config.max_json_depth
        request = call.request
        req_body, req_cut = _capped_body(call.body, call.parsed, cap, depth)
        resp_body, resp_cut = _capped_body(
            bytes(response.body), response.media_type == "application/json", cap, depth
        )
        verdict = call.verdict
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        entry: dict[str, Any] = {
            "seq": 0,
            "time": emulator.clock.now(),
            "platform": surface.name,
            "tenant": call.tenant,
            "origin": request_origin(request),
            "authenticated": call.tenant is not None,
            "method": request.method,
            "path": call.path,
            # Serialised now: one object instead of dozens per entry keeps memory, resets and
            # garbage collection cheap; only the filterable fields stay Python values.
            "query": fragment(dict(request.query_params))
            if request.scope.get("query_string")
            else NO_QUERY,
            "headers": fragment(mask_headers(request)),
            "body": req_body,
            "body_size": len(call.body) if body_size is None else body_size,
            "body_truncated": req_cut or body_size is not None,
            "valid": verdict.valid if verdict is not None else None,
            "validation": fragment(verdict.as_dict()) if verdict is not None else None,
            "status": response.status_code,
            "response": resp_body,
            "response_truncated": resp_cut,
            "duration_ms": duration_ms,
        }
        if call.notes:
            entry["notes"] = call.notes
        if call.parts:
            entry["parts"] = fragment(call.parts)
        if call.listener_errors:
            entry["listener_errors"] = call.listener_errors
        delivery = request.scope.get(DELIVERY_SCOPE_KEY)
        if delivery is not None:
            connection, delivery_id = delivery
            call.links.append(("delivery-from", connection, delivery_id))
        if call.links:
            # Tuples of strings and numbers: the collector stops tracking them, so a bulk
            # request's hundreds of links add nothing to a full collection's walk.
            entry["links"] = tuple(dict.fromkeys(call.links))
        if fault_id:
            entry["fault"] = fault_id
        if error:
            entry["error"] = error
        emulator.journal.append(entry)
        # A flow's delivery reads back which entry its attempt became (the inspector links it).
        request.scope[JOURNAL_SEQ_KEY] = entry["seq"]
        if call.receipt is not None:
            call.receipt["seq"] = entry["seq"]
        emulator.changes += 1
        if emulator.config.log_requests:
            _log_line(entry, verdict, call.refusal)


def _log_line(entry: dict[str, Any], verdict: Verdict | None, refusal: str | None) -> None:
    """One line a request: what, who, the answer, and why when it failed (a contract error, the
    handler's refusal, an injected fault, the emulator's own error)."""
    if not log.isEnabledFor(logging.INFO):
        return
    # `makeRecord` and `handle` are what `log.info` does, without its search of the stack for
    # the caller's file and line, which no format shows (a third of the line's cost). The text
    # and the fields are made by whoever writes the record (emulator/logs.py: its own thread).
    line = RequestLine(entry, verdict, refusal)
    extras = {"request": line}
    if not log_direct(log, line, extras):  # the writer thread makes the record (the common case)
        log.handle(log.makeRecord(log.name, logging.INFO, "", 0, line, (), None, extra=extras))


class RequestLine:
    """A request's log line: its text (`str`) and its fields (`fields()`, which the JSON log
    format writes out), made from the journal entry when the line is written. The entry and
    the verdict no longer change once the request is journaled."""

    __slots__ = ("entry", "refusal", "verdict")

    def __init__(self, entry: dict[str, Any], verdict: Verdict | None, refusal: str | None):
        self.entry = entry
        self.verdict = verdict
        self.refusal = refusal

    def fields(self) -> dict[str, Any]:
        entry, verdict = self.entry, self.verdict
        fields: dict[str, Any] = {
            k: entry[k] for k in ("seq", "method", "path", "status", "platform", "tenant", "origin")
        }
        fields["duration_ms"] = entry["duration_ms"]
        fields["valid"] = None if verdict is None else verdict.valid
        if "fault" in entry:
            fields["fault"] = entry["fault"]
        reason = self._reason()
        if reason is not None:
            fields["reason"] = reason
        return fields

    def _reason(self) -> str | None:
        reason: str | None = self.entry.get("error") or self.refusal
        verdict = self.verdict
        if reason is None and verdict is not None and verdict.errors:
            first = verdict.errors[0]
            more = len(verdict.errors) - 1
            reason = f"{first.path}: {first.message}" + (f" (and {more} more)" if more else "")
        return reason

    def __str__(self) -> str:
        entry, verdict = self.entry, self.verdict
        verdict_text = "" if verdict is None else (" valid" if verdict.valid else " INVALID")
        fault = entry.get("fault")
        reason = self._reason()
        extra = (f" fault={fault}" if fault else "") + (
            f" reason={reason}" if reason is not None else ""
        )
        return "#%d %s %s -> %d %s %s%s %.1fms %s%s" % (  # noqa: UP031  (the line's own format)
            entry["seq"],
            entry["method"],
            entry["path"],
            entry["status"],
            entry["platform"],
            entry["tenant"] or "-",
            verdict_text,
            entry["duration_ms"],
            entry["origin"],
            extra,
        )
