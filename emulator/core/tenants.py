"""Tenants and connections, kept as tinydb documents (the configuration part of the state).

Every document has a `kind` (`clevertap_account`, `mparticle_workspace`, `connection`) and an
`id` unique across kinds, so a tenant id alone names a tenant in the journal, faults and resets.
Documents are kept as given (the control API shows them so); each is also parsed once, with its
contract's defaults, into the typed settings of its kind (`settings_of`, `settings`). Surfaces
rebuild their credential indexes when told the tenants changed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from tinydb import Query, TinyDB
from tinydb.storages import MemoryStorage

from emulator.core.errors import ApiError
from emulator.core.settings import TenantSettings

Doc = dict[str, Any]
S = TypeVar("S", bound=TenantSettings)


class TenantError(ApiError):
    """A tenant operation that conflicts with the tenants there are (409)."""

    def __init__(self, message: str, status: int = 409, code: str = "conflict") -> None:
        super().__init__(status, message, code=code)


class NoTenant(TenantError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"no tenant {tenant_id!r}", 404, "not_found")


class TenantRegistry:
    def __init__(self, fill_defaults: Callable[[str, Doc], Doc]) -> None:
        self.db = TinyDB(storage=MemoryStorage)
        self._table = self.db.table("tenants")
        self._fill = fill_defaults
        self._kinds: dict[str, type[TenantSettings]] = {}
        self._cache: dict[str, Doc] = {}
        self._settings: dict[str, TenantSettings] = {}
        self._listeners: list[Callable[[], None]] = []

    def register(self, settings: type[TenantSettings]) -> None:
        """Parse documents of `settings.kind` into `settings` from now on."""
        self._kinds[settings.kind] = settings

    def kinds(self) -> dict[str, type[TenantSettings]]:
        return dict(self._kinds)

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def parse(self, doc: Doc) -> TenantSettings:
        """The typed settings of a document that satisfies its kind's contract."""
        kind = self._kinds[doc["kind"]]
        return kind.parse(self._fill(kind.contract, doc))

    def _changed(self) -> None:
        self._cache = {doc["id"]: dict(doc) for doc in self._table.all()}
        self._settings = {
            tenant_id: self.parse(doc)
            for tenant_id, doc in self._cache.items()
            if doc["kind"] in self._kinds
        }
        for listener in self._listeners:
            listener()

    def add(self, doc: Doc, *, replace: bool = False) -> Doc:
        doc = copy.deepcopy(doc)
        existing = self._cache.get(doc["id"])
        if existing is not None:
            if not replace or existing["kind"] != doc["kind"]:
                raise TenantError(f"a {existing['kind']} with id {doc['id']!r} already exists")
            self._table.remove(Query().id == doc["id"])
        self._table.insert(doc)
        self._changed()
        return doc

    def remove(self, tenant_id: str) -> bool:
        removed = self._table.remove(Query().id == tenant_id)
        self._changed()
        return bool(removed)

    def replace_all(self, docs: list[Doc]) -> None:
        self._table.truncate()
        self._table.insert_multiple(copy.deepcopy(docs))
        self._changed()

    def get(self, tenant_id: str) -> Doc | None:
        return self._cache.get(tenant_id)

    def of_kind(self, kind: str) -> list[Doc]:
        return [doc for doc in self._cache.values() if doc["kind"] == kind]

    def all(self) -> list[Doc]:
        return [copy.deepcopy(doc) for doc in self._cache.values()]

    def settings(self, tenant_id: str, kind: type[S]) -> S | None:
        """The settings of tenant `tenant_id` if it is of `kind`."""
        found = self._settings.get(tenant_id)
        return found if isinstance(found, kind) else None

    def settings_of(self, kind: type[S]) -> list[S]:
        """The settings of every tenant of `kind`, in the order they were added."""
        return [s for s in self._settings.values() if isinstance(s, kind)]
