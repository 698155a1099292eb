"""Report polling (`/1/counts/*.json`, `/1/now.json`): with `report_polls` set, a report first
answers `partial` with a `req_id`, and polling that id answers `partial` until the result is
ready. Transient (not in the state document), per account."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from emulator.core.errors import ApiError


class InvalidRequestId(ApiError):
    def __init__(self, req_id: str) -> None:
        super().__init__(400, f"Invalid req_id {req_id}")


class PendingReports:
    def __init__(self, new_id: Callable[[], int]) -> None:
        self._new_id = new_id
        self._pending: dict[str, dict[int, dict[str, Any]]] = {}

    def hold(self, tenant: str, path: str, result: Any, polls: int) -> Any:
        """`result` now (no polls), else a `partial` answer whose `req_id` yields it later."""
        if polls <= 0:
            return result
        new_id = self._new_id()
        self._pending.setdefault(tenant, {})[new_id] = {
            "path": path,
            "polls": polls - 1,
            "result": result,
        }
        return {"status": "partial", "req_id": new_id}

    def poll(self, tenant: str, path: str, req_id: str) -> Any:
        """The held result of `req_id` (asked at the same path), or `partial` again."""
        pending = self._pending.setdefault(tenant, {})
        entry = pending.get(int(req_id)) if req_id.isascii() and req_id.isdigit() else None
        if entry is None or entry["path"] != path:
            raise InvalidRequestId(req_id)
        if entry["polls"] > 0:
            entry["polls"] -= 1
            return {"status": "partial", "req_id": int(req_id)}
        del pending[int(req_id)]
        return entry["result"]

    def forget(self, tenants: Iterable[str] | None) -> None:
        if tenants is None:
            self._pending.clear()
            return
        for tenant in tenants:
            self._pending.pop(tenant, None)
