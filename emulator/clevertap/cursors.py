"""Download cursors (`/1/events.json`, `/1/profiles.json`): the records a query found, read a
page at a time. Transient (not in the state document), per account.

A page may answer "still in progress" (code 2) a configured number of times first, as CleverTap
does while it prepares a download; the next page's cursor is made when a page is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from emulator.core.errors import ApiError

NOT_READY = {"status": "fail", "error": "Request still in progress, please retry later", "code": 2}


class Pages(Protocol):
    """Records built a page at a time (clevertap/query.py, `EventRecords`)."""

    def __len__(self) -> int: ...

    def page(self, offset: int, size: int) -> list[Any]: ...


Records = list[Any] | Pages


class InvalidCursor(ApiError):
    def __init__(self) -> None:
        super().__init__(400, "Invalid cursor")


class Cursors:
    def __init__(self, new_cursor: Callable[[], str]) -> None:
        self._new_cursor = new_cursor
        self._pages: dict[str, dict[str, dict[str, Any]]] = {}

    def open(self, tenant: str, records: Records, offset: int, size: int, polls: int) -> str:
        """A cursor on `records[offset:offset + size]`, not ready for `polls` reads. `records`
        is a list, or `Pages` that build a page when it is read."""
        cursor = self._new_cursor()
        self._pages.setdefault(tenant, {})[cursor] = {
            "records": records,
            "offset": offset,
            "size": size,
            "not_ready": polls,
        }
        return cursor

    def read(
        self, tenant: str, cursor: str, polls: int, omit_empty: bool = False
    ) -> dict[str, Any]:
        """The page `cursor` names, with the next page's cursor while records remain;
        `omit_empty`: a page with no records has no `records` key."""
        page = self._pages.get(tenant, {}).get(cursor)
        if page is None:
            raise InvalidCursor()
        if page["not_ready"] > 0:
            page["not_ready"] -= 1
            return dict(NOT_READY)
        records, offset, size = page["records"], page["offset"], page["size"]
        out: dict[str, Any] = {
            "status": "success",
            "previous_cursor": cursor,
            "records": (
                records[offset : offset + size]
                if isinstance(records, list)
                else records.page(offset, size)
            ),
        }
        if omit_empty and not out["records"]:
            del out["records"]
        if offset + size < len(records):
            if "next" not in page:
                page["next"] = self.open(tenant, records, offset + size, size, polls)
            out["next_cursor"] = page["next"]
        return out

    def forget(self, tenants: Iterable[str] | None) -> None:
        if tenants is None:
            self._pages.clear()
            return
        for tenant in tenants:
            self._pages.pop(tenant, None)
