"""The seam every platform surface plugs into.

A surface (CleverTap, mParticle, the bridge between them) names its tenant kind's settings, the
objects whose methods declare its operations (`handlers`), how to tell a request's tenant, how
its platform answers errors (`envelope`), and how its state is exported, imported and reset per
tenant. The core never imports a surface; `emulator.app` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from emulator.core.admission import OPEN, Slot
from emulator.core.errors import ApiError, Envelope
from emulator.core.operations import (
    ControlOperation,
    PlatformOperation,
    collect_control,
    collect_platform,
)
from emulator.core.settings import TenantSettings

if TYPE_CHECKING:
    from emulator.runtime import Emulator


class Surface:
    """Base class; a surface overrides what it has."""

    name: ClassVar[str] = ""
    # The typed settings of this surface's tenant kind (its `kind` and `contract` too).
    settings: ClassVar[type[TenantSettings] | None] = None
    # Paths this surface answers under; unmatched paths there get the platform's own 404.
    path_prefixes: ClassVar[tuple[str, ...]] = ()
    # How the platform answers errors (faults, 404, 405, and operations without their own).
    envelope: ClassVar[Envelope | None] = None
    # The host names the platform answers on (its clients' defaults): exact names, or
    # `.domain` for a domain and its subdomains. A request whose Host is one of them reaches
    # this surface's operations only, and `serve --tls` puts them in its certificate
    # (core/hosts.py, emulator/tls/).
    hosts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    @property
    def tenant_kind(self) -> str | None:
        return self.settings.kind if self.settings is not None else None

    # -- HTTP ------------------------------------------------------------------------------
    def handlers(self) -> Sequence[object]:
        """The objects whose `@operation` / `@control` methods this surface serves."""
        return (self,)

    def operations(self) -> list[PlatformOperation]:
        return collect_platform(*self.handlers())

    def control_operations(self) -> list[ControlOperation]:
        return collect_control(*self.handlers())

    def resolve_tenant(self, request: Request) -> str | None:
        return None

    def admit(self, request: Request, op: PlatformOperation | None) -> Slot:
        """Whether `request` (for `op`) may run now: the platform's rate limits."""
        return OPEN

    def error_response(self, status: int, message: str, retry_after: int | None = None) -> Response:
        """The platform's error answer outside any operation (404, 405, 500)."""
        if self.envelope is None:
            raise NotImplementedError(f"surface {self.name!r} has no envelope")
        return self.envelope.render(ApiError(status, message, retry_after=retry_after))

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
