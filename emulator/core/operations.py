"""Operations declared on their handlers.

A handler method carries its own declaration:

    @operation("POST", "/1/upload", summary="Upload events and profiles",
               request="clevertap/upload", responses={200: "clevertap/upload-response"})
    async def upload(self, call: Call) -> dict[str, Any]: ...

`collect_platform(obj)` and `collect_control(obj)` find the declared methods of an object and
bind them into `Operation`s, which the pipeline routes and the OpenAPI document describes. A
platform handler takes a `Call` (journaled, fault-injectable); a control handler a `ControlCall`
(`/_emulator/`, admin token, parsed query and checked body). Both may return a `Response` or
JSON-able data (answered as 200 JSON), and raise `ApiError` for anything else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

from starlette.responses import Response

if TYPE_CHECKING:
    from emulator.core.call import Call, ControlCall
    from emulator.core.errors import Envelope

# What a handler may return: a response, or JSON-able data answered as 200 JSON.
Reply = Response | dict[str, Any] | list[Any]
PlatformHandler = Callable[["Call"], Awaitable[Reply]]
ControlHandler = Callable[["ControlCall"], Awaitable[Reply]]
# Called with every answer of an operation's handler, errors included (CORS headers).
Finish = Callable[["Call", Response], None]

# A response declared with no body (202, 204).
NO_BODY = ""


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: Literal["query", "path", "header"]
    schema: dict[str, Any]
    required: bool = False
    description: str = ""


H = TypeVar("H")


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation(Generic[H]):
    """One HTTP operation: where it is, who handles it, and its contracts for the OpenAPI doc.

    `request` and `responses` name contracts (`clevertap/upload`); a list of request contracts
    means "one of these"; a response of `None` is any JSON, `NO_BODY` an empty body. `envelope`
    renders this operation's errors when it is not the surface's usual one.
    """

    method: str
    path: str
    handler: H
    summary: str
    request: str | tuple[str, ...] | None = None
    request_required: bool = True
    request_media: str = "application/json"
    responses: Mapping[int, str | None] = field(default_factory=lambda: {200: None})
    # Media types of a successful answer (the contract describes each); errors are JSON.
    response_media: tuple[str, ...] = ("application/json",)
    params: tuple[Param, ...] = ()
    tags: tuple[str, ...] = ()
    security: tuple[str, ...] = ()
    envelope: Envelope | None = None
    finish: Finish | None = None
    # The platform's documented body limit; None: the configured `max_body_bytes`.
    max_body: int | None = None


PlatformOperation = Operation[PlatformHandler]
ControlOperation = Operation[ControlHandler]


@dataclass(frozen=True, slots=True)
class _Declared:
    kind: Literal["platform", "control"]
    method: str
    path: str
    spec: dict[str, Any]


_ATTR = "__ctmp_operations__"
PlatformMethod = TypeVar("PlatformMethod", bound=Callable[[Any, "Call"], Awaitable[Reply]])
ControlMethod = TypeVar("ControlMethod", bound=Callable[[Any, "ControlCall"], Awaitable[Reply]])


def _declare(function: Any, declared: list[_Declared]) -> None:
    # Decorators apply bottom-up: put these first so the source order is kept.
    setattr(function, _ATTR, declared + list(getattr(function, _ATTR, [])))


def operation(
    method: str,
    *paths: str,
    summary: str,
    request: str | None = None,
    request_required: bool = True,
    request_media: str = "application/json",
    responses: Mapping[int, str | None] | None = None,
    params: Sequence[Param] = (),
    tags: Sequence[str] = (),
    security: Sequence[str] = (),
    envelope: Envelope | None = None,
    finish: Finish | None = None,
    max_body: int | None = None,
    response_media: Sequence[str] = ("application/json",),
) -> Callable[[PlatformMethod], PlatformMethod]:
    """Declare a platform operation at each of `paths` on the decorated method."""
    spec: dict[str, Any] = {
        "summary": summary,
        "request": request,
        "request_required": request_required,
        "request_media": request_media,
        "responses": dict(responses) if responses is not None else {200: None},
        "params": tuple(params),
        "tags": tuple(tags),
        "security": tuple(security),
        "envelope": envelope,
        "finish": finish,
        "max_body": max_body,
        "response_media": tuple(response_media),
    }

    def declare(function: PlatformMethod) -> PlatformMethod:
        _declare(function, [_Declared("platform", method, path, spec) for path in paths])
        return function

    return declare


def control(
    method: str,
    path: str,
    *,
    summary: str,
    request: str | Sequence[str] | None = None,
    request_required: bool = True,
    responses: Mapping[int, str | None] | None = None,
    params: Sequence[Param] = (),
    response_media: Sequence[str] = ("application/json",),
) -> Callable[[ControlMethod], ControlMethod]:
    """Declare a control operation (`/_emulator` + `path`) on the decorated method. A list of
    request contracts means "one of these": the handler checks which applies."""
    spec: dict[str, Any] = {
        "summary": summary,
        "request": request if request is None or isinstance(request, str) else tuple(request),
        "request_required": request_required,
        "responses": dict(responses) if responses is not None else {200: None},
        "params": tuple(params),
        "response_media": tuple(response_media),
    }

    def declare(function: ControlMethod) -> ControlMethod:
        _declare(function, [_Declared("control", method, path, spec)])
        return function

    return declare


def _declared(owner: object, kind: str) -> list[tuple[_Declared, Any]]:
    """(declaration, bound method) of `owner`'s decorated methods, in class-body order."""
    found: list[tuple[_Declared, Any]] = []
    seen: set[str] = set()
    for klass in type(owner).__mro__:
        for name, member in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            for declared in getattr(member, _ATTR, ()):
                if declared.kind == kind:
                    found.append((declared, getattr(owner, name)))
    return found


def collect_platform(*owners: object) -> list[PlatformOperation]:
    return [
        Operation(method=d.method, path=d.path, handler=cast(PlatformHandler, bound), **d.spec)
        for owner in owners
        for d, bound in _declared(owner, "platform")
    ]


def collect_control(*owners: object) -> list[ControlOperation]:
    return [
        Operation(method=d.method, path=d.path, handler=cast(ControlHandler, bound), **d.spec)
        for owner in owners
        for d, bound in _declared(owner, "control")
    ]
