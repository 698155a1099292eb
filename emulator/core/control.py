"""Routing for control operations (`/_emulator/...`), the emulator's and the surfaces' alike.

Each route refuses a foreign Host, a foreign Origin and a non-JSON write (core/security.py),
checks the admin token, parses the query against the operation's declared
parameters, holds the JSON body to its contract, runs the handler and renders any `ApiError` in
the control API's one envelope: `{"error": {"code", "message", "details"?}}`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.core.call import Call, ControlCall
from emulator.core.contracts import Verdict
from emulator.core.errors import ApiError, Envelope
from emulator.core.jsonresp import JSONDecodeError, JSONResponse
from emulator.core.limits import BodyRefused, closing, read_body
from emulator.core.nesting import STATE_HEADROOM, NestingError, parse
from emulator.core.operations import ControlOperation
from emulator.core.params import QueryParser
from emulator.core.pipeline import NO_ANSWER
from emulator.core.routing import any_method_route
from emulator.core.security import HostPolicy, control_refusal
from emulator.core.session import COOKIE, has_session

if TYPE_CHECKING:
    from emulator.runtime import Emulator

PREFIX = "/_emulator"
log = logging.getLogger("ctmp_emulator")


class ControlEnvelope(Envelope):
    malformed_code = "malformed_json"
    invalid_code = "invalid_request"

    def content(self, error: ApiError, call: Call | None) -> Any:
        body: dict[str, Any] = {"code": error.code or "error", "message": error.message}
        if error.problems:
            body["details"] = [p.as_dict() for p in error.problems]
        return {"error": body}

    def not_json(self, reason: str) -> ApiError:
        return ApiError(400, f"the body is not JSON: {reason}", code=self.malformed_code)

    def invalid(self, contract: str, verdict: Verdict) -> ApiError:
        return ApiError(
            400,
            f"the body does not satisfy {contract}",
            code=self.invalid_code,
            problems=verdict.errors,
        )


CONTROL = ControlEnvelope()


def not_found(message: str) -> ApiError:
    return ApiError(404, message, code="not_found")


def conflict(message: str) -> ApiError:
    return ApiError(409, message, code="conflict")


def invalid(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_request")


def method_not_allowed(method: str, allowed: Iterable[str]) -> Response:
    """The control API's 405, with the methods the path takes."""
    response = CONTROL.render(
        ApiError(405, f"{method} is not allowed here", code="method_not_allowed")
    )
    response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


class ControlGuard:
    """The checks every `/_emulator` request passes first (core/security.py): the answer to
    one that fails them, in this envelope."""

    def __init__(self, emulator: Emulator) -> None:
        config = emulator.config
        self.policy = HostPolicy(config.host, config.allowed_hosts, emulator.hosts.is_platform)

    def refusal(self, request: Request) -> Response | None:
        refused = control_refusal(request, self.policy)
        return None if refused is None else CONTROL.render(refused)


class PlatformHostGate:
    """ASGI middleware: `/` and everything under `/_emulator` (the control API, the inspector
    and its files) refuse a request whose Host is a platform's name (core/hosts.py) with the
    guard's 421, before any route: such names reach platform operations only. Other paths pass
    untouched, without a look at the headers."""

    def __init__(self, app: ASGIApp, guard: ControlGuard, emulator: Emulator) -> None:
        self.app = app
        self.guard = guard
        self.hosts = emulator.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if (path == "/" or path.startswith(PREFIX)) and self.hosts.of_scope(scope):
                refused = self.guard.refusal(Request(scope))
                if refused is not None:
                    await refused(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class ControlRouter:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.guard = ControlGuard(emulator)

    def routes(self, operations: list[ControlOperation]) -> list[Route]:
        by_path: dict[str, dict[str, tuple[ControlOperation, QueryParser]]] = {}
        for op in operations:
            by_path.setdefault(op.path, {})[op.method] = (op, QueryParser(list(op.params)))
        # Fewer path parameters first: `/requests/count` before `/requests/{seq}`.
        paths = sorted(by_path, key=lambda path: path.count("{"))
        return [any_method_route(PREFIX + path, self._endpoint(by_path[path])) for path in paths]

    def _authenticated(self, request: Request) -> bool:
        """The request carries the admin token (always, when there is none)."""
        token = self.emulator.config.admin_token
        if token is None:
            return True
        given = request.headers.get("x-emulator-token") or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:]
        if not given and COOKIE in request.cookies:
            # The inspector's session (SameSite=Strict, HttpOnly): its pages' own scripts.
            return has_session(request, token)
        return secrets.compare_digest(given.encode(), token.encode())

    def _endpoint(
        self, methods: dict[str, tuple[ControlOperation, QueryParser]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            turned_away = self.guard.refusal(request)
            if turned_away is not None:
                return turned_away
            method = "GET" if request.method == "HEAD" else request.method
            if method not in methods:
                return method_not_allowed(request.method, methods)
            authenticated = self._authenticated(request)
            # Health stays open so container health checks work with a token set (as
            # LocalStack's); it shows less then (admin/control.py).
            if not authenticated and request.scope["path"] != PREFIX + "/health":
                return CONTROL.render(
                    ApiError(401, "a valid control token is required", code="unauthorized")
                )
            op, parser = methods[method]
            try:
                query = parser.parse(request.query_params)
                body = await self._body(request, op)
                changes = self.emulator.changes
                reply = await op.handler(ControlCall(request, query, body, authenticated))
                hook = self.emulator.on_control_change
                if hook is not None and self.emulator.changes != changes:
                    await hook()  # `--durability always`: saved before it is answered
                # Rendered here, so that data JSON cannot write is this envelope's 500 too.
                return reply if isinstance(reply, Response) else JSONResponse(reply)
            except ApiError as refused:
                return CONTROL.render(refused)
            except BodyRefused as refused:  # over the size or time limit: the rest is not read
                code = "too_large" if refused.status == 413 else "timeout"
                return closing(CONTROL.render(refused.error(code)))
            except ClientDisconnect:
                return NO_ANSWER  # the client left mid-body: nothing ran, no one to answer
            except Exception as exc:  # a bug of ours: still one envelope, never a stack trace
                log.exception("control operation failed")
                return CONTROL.render(
                    ApiError(500, f"{type(exc).__name__}: {exc}", code="internal_error")
                )

        return endpoint

    async def _body(self, request: Request, op: ControlOperation) -> Any:
        if op.request is None:
            return None
        config = self.emulator.config
        raw = await read_body(request, config.max_control_body_bytes, config.body_timeout)
        if not raw:  # only no body at all is "no body": whitespace is not JSON
            if not op.request_required:
                return {}
            raise invalid("a JSON body is required")
        limit = self.emulator.config.max_json_depth + STATE_HEADROOM
        try:
            body = parse(raw, limit)
        except NestingError:
            raise CONTROL.too_deep(limit) from None
        except JSONDecodeError as exc:
            raise CONTROL.not_json(str(exc)) from exc
        if isinstance(op.request, tuple):
            return body  # the handler checks which kind applies and explains
        verdict = self.emulator.contracts.validate(op.request, body)
        if not verdict.valid:
            raise CONTROL.invalid(op.request, verdict)
        return body
