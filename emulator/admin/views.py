"""Ready-made control views that surfaces mount under /_emulator/<platform>/."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.admin.errors import ControlError
from emulator.core.jsonresp import JSONResponse
from emulator.core.rows import TenantRows
from emulator.core.surface import Operation, Param

# Largest integer every JSON client reads exactly (2^53 - 1).
MAX_INT = 9_007_199_254_740_991
PAGE_PARAMS = [
    Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000}),
    Param("offset", "query", {"type": "integer", "minimum": 0, "maximum": MAX_INT}),
]


def page_view(
    path: str,
    key: str,
    produce: Callable[[str, dict[str, Any]], list[Any]],
    exists: Callable[[str], bool],
    summary: str,
    params: Iterable[Param] = (),
) -> Operation:
    """GET `path` (with a `{tenant}` segment): a page of the rows `produce(tenant, query)` gives,
    as `{key: [...], total, limit, offset}`; 404 for a tenant `exists` does not know."""

    async def view(request: Request, q: dict[str, Any], body: Any) -> Response:
        tenant = request.path_params["tenant"]
        if not exists(tenant):
            raise ControlError(404, "not_found", f"no tenant {tenant!r} here")
        found = produce(tenant, q)
        limit, offset = q.get("limit", 100), q.get("offset", 0)
        return JSONResponse(
            {
                key: found[offset : offset + limit],
                "total": len(found),
                "limit": limit,
                "offset": offset,
            }
        )

    return Operation(
        "GET",
        path,
        view,
        summary,
        params=[
            Param("tenant", "path", {"type": "string"}, required=True),
            *params,
            *PAGE_PARAMS,
        ],
        responses={200: "emulator/rows-page", 400: "emulator/error", 404: "emulator/error"},
    )


def rows_view(
    path: str, rows: TenantRows, key: str, exists: Callable[[str], bool], summary: str
) -> Operation:
    """A page of a tenant's stored rows, oldest first."""
    return page_view(path, key, lambda tenant, q: rows.rows(tenant), exists, summary)
