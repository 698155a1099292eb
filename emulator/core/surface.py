"""The seam every platform surface plugs into.

A surface (CleverTap, mParticle, the bridge between them) declares its tenant kind, its platform
operations (journaled, fault-injectable), its control views under `/_emulator/<name>/`, how to tell
a request's tenant, how its platform answers errors, and how its state is exported, imported and
reset per tenant. The core never imports a surface; `emulator.app` lists them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.core.contracts import Verdict
from emulator.core.jsonresp import JSONDecodeError, loads

if TYPE_CHECKING:
    from emulator.runtime import Emulator


class BadJSON(ValueError):
    """The body is not JSON; the surface answers with its platform's 'malformed' error."""


class Call:
    """One platform request on its way through the pipeline.

    Handlers read the body through `json()` (parsed once) and record the contract verdict with
    `validate()`. The parsed body is the handler's to keep: the journal holds the raw bytes.
    """

    __slots__ = ("_json", "body", "notes", "path", "request", "surface", "tenant", "verdict")

    _UNPARSED: Any = object()

    def __init__(self, request: Request, body: bytes, surface: Surface) -> None:
        self.request = request
        # The request path, without building Starlette's URL object (a cost on every call).
        self.path: str = request.scope.get("root_path", "") + request.scope["path"]
        self.body = body
        self.surface = surface
        self.tenant: str | None = None
        self.verdict: Verdict | None = None
        self.notes: list[str] = []
        self._json: Any = Call._UNPARSED

    def json(self) -> Any:
        if self._json is Call._UNPARSED:
            try:
                self._json = loads(self.body)
            except JSONDecodeError as exc:
                self._json = BadJSON(str(exc))
        if isinstance(self._json, BadJSON):
            raise self._json
        return self._json

    @property
    def parsed(self) -> Any:
        """The parsed body if a handler parsed it successfully, else the marker."""
        return self._json

    def validate(self, contract: str, instance: Any) -> Verdict:
        emulator = self.surface.emulator
        self.verdict = emulator.contracts.validate(contract, instance, emulator.config.mode)
        return self.verdict


Handler = Callable[[Call], Awaitable[Response]]
# Control handlers get the parsed query and the contract-checked JSON body.
ControlHandler = Callable[[Request, dict[str, Any], Any], Awaitable[Response]]


@dataclass(slots=True)
class Param:
    name: str
    where: str  # "query", "path" or "header"
    schema: dict[str, Any]
    required: bool = False
    description: str = ""


NO_BODY = ""


@dataclass(slots=True)
class Operation:
    """One HTTP operation: where it is, who handles it, and its contract for the OpenAPI doc.

    `request` and `responses` name contracts (`clevertap/upload`); a list of request contracts
    means "one of these"; a response of `None` is any JSON, `NO_BODY` an empty body.
    """

    method: str
    path: str
    handler: Handler | ControlHandler
    summary: str
    request: str | list[str] | None = None
    request_required: bool = True
    request_media: str = "application/json"
    responses: dict[int, str | None] = field(default_factory=lambda: {200: None})
    params: list[Param] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    security: list[str] = field(default_factory=list)


class Surface:
    """Base class; a surface overrides what it has."""

    name: str = ""
    tenant_kind: str | None = None
    # Contract a tenant document of `tenant_kind` must satisfy.
    tenant_contract: str | None = None
    # Paths this surface answers under; unmatched paths there get the platform's own 404.
    path_prefixes: tuple[str, ...] = ()

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    # -- HTTP ------------------------------------------------------------------------------
    def operations(self) -> list[Operation]:
        return []

    def control_operations(self) -> list[Operation]:
        return []

    def resolve_tenant(self, request: Request) -> str | None:
        return None

    def error_response(self, status: int, message: str, retry_after: int | None = None) -> Response:
        raise NotImplementedError

    def security_schemes(self) -> dict[str, Any]:
        return {}

    # -- tenants ---------------------------------------------------------------------------
    def owns(self, tenant_id: str) -> bool:
        """Whether `tenant_id` names a tenant of this surface's kind."""
        doc = self.emulator.tenants.get(tenant_id)
        return doc is not None and doc["kind"] == self.tenant_kind

    def check_tenant(self, doc: dict[str, Any]) -> list[str]:
        """Problems beyond the contract (duplicate keys, dangling references)."""
        return []

    def tenants_changed(self) -> None:
        """Rebuild whatever credential indexes the surface keeps."""

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        """Tables of documents (each carrying its `tenant`) for the state document."""
        return {}

    def import_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Replace this surface's data with the given tables (as `export_state` made them)."""

    def reset(self, tenants: Iterable[str] | None) -> None:
        """Forget all data, or the data of the given tenants."""

    async def shutdown(self) -> None:
        """Stop background work (the server is stopping)."""
