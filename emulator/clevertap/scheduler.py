"""When mParticle exports run: runs that come due as the clock moves (or when an account's
exports are looked at while the clock runs freely) and "run now"; each run's batches are
published as `ExportRunStarted`, and the run is finished when `ExportRunFinished` comes back
(from the bridge, once every delivery has its final answer). The rules are exports.py.

A journey's export node (journeys.py) hands its batches over the same way: each user who
reaches the step is one run (`{journey}-entry-{n}`), and exits the journey when it finishes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from emulator.clevertap import exports, journeys, live
from emulator.clevertap.accounts import AccountStore
from emulator.clevertap.events import ExportRunFinished, ExportRunStarted
from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile

if TYPE_CHECKING:
    from emulator.runtime import Emulator

log = logging.getLogger("ctmp_emulator")
Export = dict[str, Any]
# Records a run's report (summary, now); False when it was finished already.
Finish = Callable[[dict[str, Any], float], bool]


class ExportScheduler:
    def __init__(self, emulator: Emulator, store: AccountStore, owns: Callable[[str], bool]):
        self.emulator = emulator
        self.store = store
        self.owns = owns
        # Runs published and not yet finished: (account, export id, run id) -> how to record
        # the report, bound to the objects themselves, so a report on a run the state no
        # longer holds (reset, imported) changes nothing.
        self._running: dict[tuple[str, str, str], Finish] = {}

    def clock_moved(self, now: float) -> None:
        for tenant, account in list(self.store.data.items()):
            if not account.exports or not self.owns(tenant):
                continue
            try:
                self.run_due(tenant, account, now)
            except Exception:  # a bug of ours must not break moving the clock
                log.exception("export runs of %s failed", tenant)

    def run_due(self, tenant: str, account: Account, now: float) -> None:
        for export in account.exports:
            times, missed = exports.due(export, now)
            export["missed_runs"] += missed
            for scheduled in times:
                self.start(tenant, account, export, scheduled, now, "schedule")

    def start(
        self,
        tenant: str,
        account: Account,
        export: Export,
        until: float,
        now: float,
        trigger: str,
    ) -> None:
        """Record a run and publish its batches; a listener that fails fails the run."""
        run, batches = exports.begin_run(account, export, until, now, trigger)
        self.emulator.changes += 1
        if not batches:
            return  # DONE already: nothing to deliver
        key = (tenant, str(export["id"]), str(run["id"]))
        self._running[key] = functools.partial(exports.finish_run, export, run)
        started = ExportRunStarted(
            account=tenant,
            export=exports.view(export),
            run=exports.run_view(run),
            batches=batches,
        )
        self._publish(key, started)

    def _publish(self, key: tuple[str, str, str], started: ExportRunStarted) -> None:
        for failure in self.emulator.events.publish(started):
            self._finish(key, {"failed": 0, "error": failure.error})

    # -- journeys ----------------------------------------------------------------------------
    def on_event(
        self, account: Account, profile: Profile, name: str, ts: int, data: dict[str, Any]
    ) -> None:
        """The account's hook for each stored event (models.Account): live campaigns record
        their triggers, and journeys let the user enter and reach their export step."""
        live.on_event(account, profile, name, ts, data)
        if account.journeys:
            self.start_journeys(account, journeys.on_event(account, profile, name, ts, data))

    def start_journeys(self, account: Account, entered: journeys.Entered) -> None:
        """Hand each entered user's export batches to the feed, as an export run."""
        tenant = next((t for t, a in self.store.data.items() if a is account), None)
        if tenant is None:
            return
        for journey, entry, batches in entered:
            self.emulator.changes += 1
            number = len(journey["entries"])
            key = (tenant, str(journey["id"]), f"{journey['id']}-entry-{number}")
            self._running[key] = functools.partial(journeys.exit_entry, entry)
            started = ExportRunStarted(
                account=tenant,
                export={"id": journey["id"], "name": journey["name"], "journey": True},
                run={"id": key[2], "trigger": "journey", "objectId": entry["objectId"]},
                batches=batches,
                connection=journey["step"]["connection"],
            )
            self._publish(key, started)

    def on_finished(self, event: ExportRunFinished) -> None:
        self._finish((event.account, event.export_id, event.run_id), event.summary())

    def _finish(self, key: tuple[str, str, str], summary: dict[str, Any]) -> None:
        finish = self._running.pop(key, None)
        if finish is not None and finish(summary, self.emulator.clock.now()):
            self.emulator.changes += 1

    def forget(self, tenants: Iterable[str] | None) -> None:
        if tenants is None:
            self._running.clear()
            return
        gone = set(tenants)
        for key in [k for k in self._running if k[0] in gone]:
            del self._running[key]
