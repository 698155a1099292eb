"""Every account's data (`Account`, made on first use), and its state export, import and reset."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from emulator.clevertap import live
from emulator.clevertap.models import Account, LiveHook
from emulator.core.reaper import dispose


class AccountStore:
    def __init__(self, new_guid: Callable[[], str], clock: Callable[[], float]) -> None:
        self._new_guid = new_guid
        self._clock = clock
        self.data: dict[str, Account] = {}
        # Each account's hook for stored events (the surface sets the scheduler's, which adds
        # journeys to live campaigns).
        self.on_event: LiveHook = live.on_event

    def account(self, account_id: str) -> Account:
        found = self.data.get(account_id)
        if found is None:
            found = self.data[account_id] = Account(self._new_guid, self._clock, self.on_event)
        return found

    def keep_only(self, account_ids: Iterable[str]) -> None:
        """Forget the data of accounts that are no longer configured."""
        for gone in set(self.data) - set(account_ids):
            dispose(self.data.pop(gone))

    def forget(self, tenants: Iterable[str] | None) -> None:
        """Forget all data, or the given accounts' (freed off the request path)."""
        if tenants is None:
            old, self.data = self.data, {}
            dispose(old)
            return
        for tenant in tenants:
            dispose(self.data.pop(tenant, None))

    def export(self, tenants: set[str] | None) -> list[dict[str, Any]]:
        """The state document's `accounts` rows (accounts a read made but left empty skipped)."""
        return [
            {"tenant": tenant, **account.export()}
            for tenant, account in self.data.items()
            if (tenants is None or tenant in tenants) and not account.empty()
        ]

    def load(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.account(row["tenant"]).load(row)
