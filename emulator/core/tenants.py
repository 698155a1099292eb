"""Tenants and connections, kept as tinydb documents (the configuration part of the state).

Every document has a `kind` (`clevertap_account`, `mparticle_workspace`, `connection`) and an
`id` unique across kinds, so a tenant id alone names a tenant in the journal, faults and resets.
Surfaces keep their own credential indexes and rebuild them when told the tenants changed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import MemoryStorage

Doc = dict[str, Any]


class TenantError(ValueError):
    pass


class TenantRegistry:
    def __init__(self) -> None:
        self.db = TinyDB(storage=MemoryStorage)
        self._table = self.db.table("tenants")
        self._cache: dict[str, Doc] = {}
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        self._cache = {doc["id"]: dict(doc) for doc in self._table.all()}
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
