"""Rows kept per tenant, exported as one state-document table whose rows carry `tenant`.

Plain lists in memory: appending is O(1), unlike a tinydb insert (which rewrites the table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from emulator.core.reaper import dispose

Row = dict[str, Any]


class TenantRows:
    def __init__(self) -> None:
        self._rows: dict[str, list[Row]] = {}

    def rows(self, tenant: str) -> list[Row]:
        return self._rows.get(tenant, [])

    def add(self, tenant: str, row: Row) -> None:
        self._rows.setdefault(tenant, []).append(row)

    def drop(self, tenant: str, doomed: Callable[[Row], bool]) -> int:
        """Remove the tenant's rows `doomed` picks; answers how many went."""
        rows = self._rows.get(tenant, [])
        kept = [row for row in rows if not doomed(row)]
        self._rows[tenant] = kept
        return len(rows) - len(kept)

    def reset(self, tenants: Iterable[str] | None) -> None:
        if tenants is None:
            old, self._rows = self._rows, {}
            dispose(old)
        else:
            for tenant in tenants:
                dispose(self._rows.pop(tenant, None))

    def export(self, tenants: set[str] | None) -> list[Row]:
        return [
            {"tenant": tenant, **row}
            for tenant, rows in self._rows.items()
            if tenants is None or tenant in tenants
            for row in rows
        ]

    def load(self, rows: Iterable[Row]) -> None:
        self._rows.clear()
        for row in rows:
            row = dict(row)
            self.add(row.pop("tenant"), row)
