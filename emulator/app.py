"""Builds the Starlette app from a Config: the control API, then each platform surface."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from emulator.admin.control import ControlAPI
from emulator.admin.openapi import build_openapi
from emulator.bridge import BridgeSurface
from emulator.clevertap import CleverTapSurface
from emulator.config import Config
from emulator.core.control import (
    CONTROL,
    PREFIX,
    ControlGuard,
    ControlRouter,
    PlatformHostGate,
    method_not_allowed,
)
from emulator.core.errors import ApiError, Envelope
from emulator.core.jsonresp import dumps
from emulator.core.operations import ControlOperation, Operation
from emulator.core.pipeline import Pipeline
from emulator.core.routing import StaticFirstRouter, any_method_route
from emulator.core.surface import Surface
from emulator.durable import SEQ_KEY, DurableLog
from emulator.inspector import Inspector
from emulator.mparticle import MParticleSurface
from emulator.persist import Persister, load_data_file, start_durable
from emulator.runtime import Emulator

SURFACES: tuple[type[Surface], ...] = (CleverTapSurface, MParticleSurface, BridgeSurface)


class _UnmatchedEnvelope(Envelope):
    def content(self, error: ApiError, call: Any = None) -> Any:
        code = "not_found" if error.status == 404 else "error"
        return {"error": {"code": code, "message": error.message}}


class _Unmatched(Surface):
    """Paths no platform serves: journaled like any request, answered in the control envelope."""

    name = "unknown"
    path_prefixes = ("/",)
    envelope = _UnmatchedEnvelope()


def create_app(config: Config, surfaces: Sequence[type[Surface]] = SURFACES) -> Starlette:
    emulator = Emulator(config, surfaces)
    persister: Persister | None = None
    durable: DurableLog | None = None
    saved_seq = 0
    if config.data_file is not None:
        loaded = load_data_file(emulator, config.data_file)
        emulator.mark_started()
        if config.durability == "always":
            durable = DurableLog(config.data_file, emulator.save_status)
            saved_seq = int(((loaded or {}).get("_meta") or {}).get("1", {}).get(SEQ_KEY, 0))
        persister = Persister(emulator, config.data_file, config.persist_interval, durable)
        if loaded is not None:
            persister.mark_saved()  # the file holds exactly this state: no rewrite at start

    control = ControlAPI(emulator, persister)
    router = ControlRouter(emulator)
    pipeline = Pipeline(emulator)
    groups: list[tuple[str, str, list[ControlOperation]]] = [
        ("emulator", PREFIX, control.operations())
    ]
    groups += [(s.name, PREFIX, s.control_operations()) for s in emulator.surfaces]
    # Platform routes first: they are the hot path, and Starlette tries routes in order.
    routes: list[Any] = []
    for surface in emulator.surfaces:
        routes += pipeline.routes(surface)
    for _, _, operations in groups:
        routes += router.routes(operations)

    openapi = _openapi_endpoint(emulator, groups, router.guard)
    routes.append(any_method_route(PREFIX + "/openapi.json", openapi))
    routes += Inspector(emulator, router.guard).routes()  # `/` and `/_emulator/ui...`
    routes.append(any_method_route(PREFIX + "/{rest:path}", _control_not_found(router.guard)))
    routes += pipeline.routes(_Unmatched(emulator))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if durable is not None and persister is not None:
            await start_durable(emulator, app, durable, persister, saved_seq)
        if persister is not None:
            persister.start()
        try:
            yield
        finally:
            for surface in emulator.surfaces:
                await surface.shutdown()
            if persister is not None:
                await persister.stop()
                app.state.saved_to = persister.path  # for the CLI's last line
            if durable is not None:
                durable.close()

    gate = Middleware(PlatformHostGate, guard=router.guard, emulator=emulator)
    app = Starlette(lifespan=lifespan, middleware=[gate])
    app.router = StaticFirstRouter(routes, lifespan=lifespan)
    app.state.emulator = emulator
    emulator.asgi_app = app
    return app


def _openapi_endpoint(
    emulator: Emulator,
    control_groups: list[tuple[str, str, list[ControlOperation]]],
    guard: ControlGuard,
) -> Callable[[Request], Awaitable[Response]]:
    """`GET /_emulator/openapi.json`: built from the declared operations on first request."""
    groups: list[tuple[str, str, list[Operation[Any]]]] = [
        (s.name, "", list(s.operations())) for s in emulator.surfaces
    ]
    groups += [(name, prefix, list(ops)) for name, prefix, ops in control_groups]
    security: dict[str, Any] = {}
    for surface in emulator.surfaces:
        security.update(surface.security_schemes())
    cache: dict[str, bytes] = {}

    async def openapi(request: Request) -> Response:
        refused = guard.refusal(request)
        if refused is not None:
            return refused
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(request.method, ("GET", "HEAD"))
        if "doc" not in cache:
            cache["doc"] = dumps(build_openapi(emulator.contracts, groups, security))
        return Response(cache["doc"], media_type="application/json")

    return openapi


def _control_not_found(guard: ControlGuard) -> Callable[[Request], Awaitable[Response]]:
    async def not_found(request: Request) -> Response:
        refused = guard.refusal(request)
        if refused is not None:
            return refused
        return CONTROL.render(
            ApiError(404, f"no control operation at {request.url.path}", code="not_found")
        )

    return not_found
