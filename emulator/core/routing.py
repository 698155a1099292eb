"""Starlette's router with a dictionary in front for paths without parameters.

The emulator serves ~100 routes and Starlette tries them one by one, a regex each: a platform
call paid for ~20 failed matches before reaching its route. Routes whose path has no parameter
are found by one dict look-up instead, unless an earlier route would also match that path (then
the order decides, as in Starlette, and the request takes the usual walk).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send


def any_method_route(path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """A route that takes every method (TRACE, PROPFIND, ... too): its endpoint answers one it
    does not serve with a 405 in its API's own envelope, where Starlette would answer plain
    text."""
    route = Route(path, endpoint)
    route.methods = None  # Starlette matches any method and leaves the answer to the endpoint
    return route


def route_path(scope: Scope) -> str:
    """The path the router matches: `path` without the `root_path` it is mounted under (what
    Starlette's private `get_route_path` computes)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


class StaticFirstRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes=list(routes), **kwargs)
        self._static: dict[str, Route] = {}
        for index, route in enumerate(self.routes):
            if not isinstance(route, Route) or route.param_convertors:
                continue
            shadowed = any(
                isinstance(earlier, Route) and earlier.path_regex.match(route.path)
                for earlier in self.routes[:index]
            )
            if not shadowed:
                self._static.setdefault(route.path, route)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._static.get(route_path(scope))
            if route is not None and (route.methods is None or scope["method"] in route.methods):
                scope["router"] = self
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = dict(scope.get("path_params", {}))
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)
