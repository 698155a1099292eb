"""Paged control views of a tenant's rows, mounted under /_emulator/<platform>/.

    @page("/clevertap/{tenant}/profiles", "profiles", summary="Profiles", params=[...])
    def profiles_view(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]: ...

declares `GET /_emulator/clevertap/{tenant}/profiles` answering `{profiles: [...], total, limit,
offset}` from the rows the method produces, and 404 for a tenant its owner does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from emulator.core.call import ControlCall
from emulator.core.control import not_found
from emulator.core.operations import Param, control

# Largest integer every JSON client reads exactly (2^53 - 1).
MAX_INT = 9_007_199_254_740_991
PAGE_PARAMS = (
    Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000}),
    Param("offset", "query", {"type": "integer", "minimum": 0, "maximum": MAX_INT}),
)
TENANT = Param("tenant", "path", {"type": "string"}, required=True)
TEXT = {"type": "string"}


class TenantOwner(Protocol):
    def owns(self, tenant_id: str) -> bool: ...


Owner = TypeVar("Owner", bound=TenantOwner)
Producer = Callable[[Owner, str, dict[str, Any]], Sequence[Any]]


def paged(rows: Sequence[Any], query: dict[str, Any], key: str) -> dict[str, Any]:
    limit, offset = query.get("limit", 100), query.get("offset", 0)
    return {
        key: list(rows[offset : offset + limit]),
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }


def page(
    path: str, key: str, *, summary: str, params: Sequence[Param] = ()
) -> Callable[[Producer[Owner]], Callable[[Owner, ControlCall], Any]]:
    """Declare a paged view (`path` has a `{tenant}` segment) on a method producing the rows."""

    def declare(produce: Producer[Owner]) -> Callable[[Owner, ControlCall], Any]:
        async def view(self: Owner, call: ControlCall) -> dict[str, Any]:
            tenant = call.path_param("tenant")
            if not self.owns(tenant):
                raise not_found(f"no tenant {tenant!r} here")
            return paged(produce(self, tenant, call.query), call.query, key)

        view.__name__ = view.__qualname__ = produce.__name__
        view.__doc__ = produce.__doc__
        return control(
            "GET",
            path,
            summary=summary,
            params=[TENANT, *params, *PAGE_PARAMS],
            responses={200: "emulator/rows-page", 400: "emulator/error", 404: "emulator/error"},
        )(view)

    return declare
