"""The running emulator: one object holding the clock, ids, contracts, journal, faults, tenants
and the platform surfaces, with the operations that span them (reset, state export/import)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from emulator import __version__
from emulator.config import Config
from emulator.core.clock import Clock
from emulator.core.contracts import ContractError, ContractRegistry
from emulator.core.errors import ApiError
from emulator.core.events import EventBus
from emulator.core.faults import FaultRegistry
from emulator.core.hosts import PlatformHosts
from emulator.core.ids import IdGenerator
from emulator.core.journal import Journal
from emulator.core.jsonresp import loads
from emulator.core.store import (
    Document,
    SaveStatus,
    StateError,
    document_to_tables,
    encode,
    tables_to_document,
)
from emulator.core.surface import Surface
from emulator.core.tenants import NoTenant, TenantError, TenantRegistry

JOURNAL_ENTRY = "emulator/journal-entry"
STATE_CONTRACT = "emulator/state"


class Emulator:
    def __init__(
        self,
        config: Config,
        surfaces: Sequence[type[Surface]],
        contracts: ContractRegistry | None = None,
    ) -> None:
        self.config = config
        self.started = time.time()
        self.clock = Clock()
        self.ids = IdGenerator(config.seed)
        self.contracts = contracts or ContractRegistry()
        self.journal = Journal(config.journal_size, config.journal_bytes)
        self.faults = FaultRegistry(self.ids.seed)
        self.tenants = TenantRegistry(self.contracts.with_defaults)
        # Typed events one surface publishes and another (the bridge) listens to, so the
        # platforms never import each other. Set before the surfaces, which subscribe in init.
        self.events = EventBus()
        # The ASGI app serving this emulator (set by `create_app`): flows deliver through it, so
        # their requests are journaled and fault-injectable like any client's.
        self.asgi_app: Any = None
        self.surfaces: list[Surface] = [cls(self) for cls in surfaces]
        # Which platform a request's Host names (HTTPS with the platforms' host names).
        self.hosts = PlatformHosts(self.surfaces)
        self._by_kind = {s.settings.kind: s for s in self.surfaces if s.settings is not None}
        for surface in self.surfaces:
            if surface.settings is not None:
                self.tenants.register(surface.settings)
        # Bumped by every change worth persisting; the persister saves when it moves.
        self.changes = 0
        # Filled in by the persister when there is a data file (health shows it).
        self.save_status = SaveStatus()
        # Set in `--durability always` (emulator/durable.py): awaited after a platform request
        # that is not a read was applied, before it is answered; raises OSError when the
        # request is not on disk. And after a control operation that changed the state.
        self.on_applied: Callable[[Any, bytes], Awaitable[None]] | None = None
        self.on_control_change: Callable[[], Awaitable[None]] | None = None
        self.tenants.on_change(self._tenants_changed)
        for doc in config.tenants:
            self.add_tenant(doc)
        self.initial_tenants = self.tenants.all()
        self.initial_seed = self.ids.seed

    def mark_started(self) -> None:
        """Remember the tenants and the id seed as they are now (after a data file loaded) for
        `reset`."""
        self.initial_tenants = self.tenants.all()
        self.initial_seed = self.ids.seed

    # -- tenants ---------------------------------------------------------------------------
    def surface(self, name: str) -> Surface:
        return next(s for s in self.surfaces if s.name == name)

    def check_tenant(self, doc: Any) -> list[ContractError]:
        """Contract and cross-reference problems of a tenant document (empty when fine)."""
        return self._contract_problems(doc) or self._reference_problems(doc)

    def _contract_problems(self, doc: Any) -> list[ContractError]:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        surface = self._by_kind.get(kind) if isinstance(kind, str) else None
        if surface is None or surface.settings is None:
            kinds = ", ".join(sorted(self._by_kind))
            return [ContractError("$.kind", f"kind must be one of: {kinds}", "Enum")]
        return self.contracts.validate(surface.settings.contract, doc).errors

    def _reference_problems(self, doc: dict[str, Any]) -> list[ContractError]:
        problems = self._by_kind[doc["kind"]].check_tenant(doc)
        return [ContractError("$", p, "Semantic") for p in problems]

    def add_tenant(self, doc: dict[str, Any], *, replace: bool = False) -> dict[str, Any]:
        problems = self.check_tenant(doc)
        if problems:
            raise TenantError(
                f"invalid {doc.get('kind', 'tenant')} {doc.get('id', '')!r}: "
                + "; ".join(f"{p.path}: {p.message}" for p in problems)
            )
        return self.tenants.add(doc, replace=replace)

    def remove_tenant(self, tenant_id: str) -> bool:
        """Remove a tenant and its data; a connection that names it must go first."""
        if self.tenants.get(tenant_id) is None:
            return False
        users = [
            c["id"]
            for c in self.tenants.of_kind("connection")
            if tenant_id in (c["workspace"], c["account"])
        ]
        if users:
            raise TenantError(f"{tenant_id!r} is used by connection(s) {users}; remove them first")
        self.reset(tenant_id)
        return self.tenants.remove(tenant_id)

    def _tenants_changed(self) -> None:
        self.changes += 1
        for surface in self.surfaces:
            surface.tenants_changed()

    # -- reset and state -------------------------------------------------------------------
    def reset(self, tenant: str | None = None, *, tenants: bool = False) -> dict[str, Any]:
        """Forget data (platform state, journal, faults) of everything or of one tenant.

        Tenants and connections stay, unless `tenants` asks to put back those the emulator
        started with. A full reset also unfreezes the clock and restarts the id and fault
        sequences from the start-up seed, so every test starts from the same ids.
        """
        self.changes += 1
        if tenant is None:
            removed = self.journal.clear()
            self.faults.reset()
            self.clock.reset()
            # The start-up seed, not one a loaded state brought: a test that loads a state
            # must not change the ids of the tests after it.
            self.ids.reseed(self.initial_seed)
            for surface in self.surfaces:
                surface.reset(None)
            if tenants:
                self.tenants.replace_all(self.initial_tenants)
            return {"scope": "all", "journal_entries_removed": removed, "tenants_restored": tenants}
        if self.tenants.get(tenant) is None:
            raise NoTenant(tenant)
        removed = self.journal.clear({tenant})
        self.faults.clear({tenant})
        for surface in self.surfaces:
            surface.reset({tenant})
        return {"scope": "tenant", "tenant": tenant, "journal_entries_removed": removed}

    def export_state(self, tenant: str | None = None) -> Document:
        scope = None if tenant is None else {tenant}
        tenants = self.tenants.all()
        if scope is not None:
            # The tenant alone: its connections name another tenant, whose configuration
            # (secrets included) is not this tenant's to carry. GET /tenants lists them.
            tenants = [t for t in tenants if t["id"] == tenant]
        tables: dict[str, list[dict[str, Any]]] = {"tenants": tenants}
        journal = self.journal.snapshot(scope)
        tables["journal"] = journal["entries"]
        for surface in self.surfaces:
            for name, rows in surface.export_state(scope).items():
                tables[f"{surface.name}.{name}"] = rows
        meta = {
            "emulator": __version__,
            "saved_at": self.clock.now(),
            "scope": tenant,
            "clock": self.clock.snapshot(),
            "ids": self.ids.state(),
            "faults": self.faults.snapshot() if scope is None else [],
            "journal": {"last_seq": journal["last_seq"], "dropped": journal["dropped"]},
        }
        return tables_to_document(meta, tables)

    def import_state(self, doc: Any) -> None:
        """Replace the whole state with a document made by `export_state` (or a data file).

        All or nothing: if any part of the document cannot be loaded, the previous state is put
        back and the error names what was wrong.
        """
        # Through JSON, so the rollback copy shares nothing with the live state.
        previous = loads(encode(self.export_state()))
        try:
            self._import(doc)
            # A state that loads must also save: a value no export can write (a `ts` past what
            # a date holds) is refused now, not found by every later save.
            encode(self.export_state())
        except StateError:
            self._import(previous)
            raise
        except ApiError as exc:
            self._import(previous)
            raise StateError(exc.message) from exc
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            self._import(previous)
            raise StateError(
                f"the state document could not be loaded: {type(exc).__name__}: {exc}"
            ) from exc

    def _import(self, doc: Any) -> None:
        meta, tables = document_to_tables(doc)
        tenants = tables.get("tenants", [])
        for tenant in tenants:
            problems = self._contract_problems(tenant)
            if problems:
                raise StateError(f"tenant {tenant.get('id')!r} in the document: {_dicts(problems)}")
        ids = [t["id"] for t in tenants]
        if len(set(ids)) != len(ids):
            raise StateError(f"tenant ids in the document repeat: {sorted(ids)}")
        for index, entry in enumerate(tables.get("journal", [])):
            verdict = self.contracts.validate(JOURNAL_ENTRY, entry)
            if not verdict.valid:
                first = verdict.errors[0]
                raise StateError(f"journal row {index + 1}: {first.path}: {first.message}")
        per_surface: dict[str, dict[str, list[dict[str, Any]]]] = {
            s.name: {} for s in self.surfaces
        }
        for name, rows in tables.items():
            prefix, _, table = name.partition(".")
            if prefix in per_surface and table:
                per_surface[prefix][table] = rows
            elif name not in ("tenants", "journal"):
                raise StateError(f"unknown table {name!r} in the state document")
        self.tenants.replace_all(tenants)
        # References (connection → workspace, unique input keys) are checked against the
        # document's own tenants, now in place; a failure rolls the import back.
        for tenant in tenants:
            problems = self._reference_problems(tenant)
            if problems:
                raise StateError(f"tenant {tenant['id']!r} in the document: {_dicts(problems)}")
        self.journal.restore({**meta.get("journal", {}), "entries": tables.get("journal", [])})
        if "clock" in meta:
            self.clock.restore(meta["clock"])
        if "ids" in meta:
            self.ids.restore(meta["ids"])
        self.faults.restore(meta.get("faults", []))
        for surface in self.surfaces:
            surface.reset(None)
            surface.import_state(per_surface[surface.name])
        self.changes += 1

    def health(self) -> dict[str, Any]:
        return {
            # Degraded while saves to the data file fail: data acknowledged now may be lost.
            "status": "degraded" if self.save_status.failing else "ok",
            "version": __version__,
            "uptime_seconds": round(time.time() - self.started, 3),
            "mode": self.config.mode,
            "platforms": [s.name for s in self.surfaces if s.path_prefixes],
            "tenants": len(self.tenants.all()),
            "journal": self.journal.stats(),
            "seed": self.ids.seed,
            "listeners": self.events.stats(),
            "state_save": self.save_status.as_dict(),
        }


def _dicts(problems: list[ContractError]) -> list[dict[str, str]]:
    return [p.as_dict() for p in problems]
