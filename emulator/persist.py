"""Background persistence of the whole state to `--data-file`.

A save never blocks the event loop: a forked child process is a consistent snapshot of the state
between two requests (copy-on-write, as Redis's BGSAVE), and builds, encodes and writes the
document (`emulator/snapshot.py`) while this process goes on serving. Where there is no fork
(Windows), the document is built and encoded on the loop and written from a worker thread.
Saves happen every `persist_interval` seconds when something changed, on demand
(`POST /_emulator/state/save`) and at shutdown.

A save that fails (disk full, directory gone or read-only, a state that cannot be written) is
never silent: `/_emulator/health` turns `degraded` and names the cause, the failures are
counted, one log line says it (and one more when saving works again, not one per attempt), and
`POST /_emulator/state/save` answers the cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from pathlib import Path
from typing import Any

from emulator import durable, snapshot
from emulator.core.errors import ApiError
from emulator.core.nesting import STATE_HEADROOM
from emulator.core.store import (
    Document,
    SaveStatus,
    StateError,
    check_writable,
    data_file_encoding,
    encode,
    read_document,
    write_atomic,
)
from emulator.durable import DurableLog, with_seq
from emulator.runtime import STATE_CONTRACT, Emulator

log = logging.getLogger("ctmp_emulator")


class SaveFailed(ApiError):
    def __init__(self, path: Path, cause: str) -> None:
        super().__init__(500, f"could not save the state to {path}: {cause}", code="save_failed")


def load_data_file(emulator: Emulator, path: Path) -> Document | None:
    """Check that saves to `path` can work, then load it when it exists (answers the loaded
    document, None when there was no file). Everything wrong raises `StateError` naming the
    file, where in it and why: the file is checked like a `PUT /_emulator/state` body (nesting
    limit, state contract, then the all-or-nothing import).

    The import's check that the state can be saved again exports it as a save does (the data
    file's encoding, columns and all), and the collector waits until the load is done: parsing
    builds objects by the million, and each collection on the way would walk every one built so
    far (a 100 MB version 1 file: 4.8 s to parse with it, 1.4 s without)."""
    check_writable(path)
    limit = emulator.config.max_json_depth + STATE_HEADROOM
    collecting = gc.isenabled()
    gc.disable()
    try:
        saved = read_document(path, limit)
        if saved is None:
            return None
        verdict = emulator.contracts.validate(STATE_CONTRACT, saved)
        if not verdict.valid:
            first = verdict.errors[0]
            raise StateError(f"data file {path}: {first.path}: {first.message}")
        try:
            with data_file_encoding():
                emulator.import_state(saved)
        except ApiError as exc:
            raise StateError(f"data file {path}: {exc.message}") from exc
        # The loaded state lives as long as the process: out of the collector's walks from now
        # on, as the first save would do (snapshot.py, gc.freeze). A full collection otherwise
        # walks every profile while a download page is being built.
        gc.freeze()
        return saved
    finally:
        if collecting:
            gc.enable()


def file_document(emulator: Emulator) -> Document:
    """The state as the data file holds it (version 2: CleverTap events in columns)."""
    with data_file_encoding():
        return emulator.export_state()


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({type(exc).__name__}, errno {exc.errno})"
    return f"{type(exc).__name__}: {exc}"


class Persister:
    def __init__(
        self, emulator: Emulator, path: Path, interval: float, log: DurableLog | None = None
    ) -> None:
        self.emulator = emulator
        # `--durability always`: each save starts a new log segment and drops those it holds.
        self.log = log
        self.path = path.resolve()
        self.interval = interval
        self.status: SaveStatus = emulator.save_status
        self.status.path = str(self.path)
        self._saved_at_change = -1
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def mark_saved(self) -> None:
        """The file already holds the current state (it was just loaded from it)."""
        self._saved_at_change = self.emulator.changes

    async def save(self) -> tuple[int, dict[str, int]]:
        """Write the state now; answer the bytes written and the rows per table. A failure is
        recorded (health, count, one log line) and raised as `SaveFailed` with its cause."""
        async with self._lock:
            change = self.emulator.changes
            try:
                size, tables = await self._write()
            except Exception as exc:
                self._failed(exc)
                raise SaveFailed(self.path, _cause(exc)) from exc
            self._saved_at_change = change
            self._succeeded()
            return size, tables

    async def _write(self) -> tuple[int, dict[str, int]]:
        log = self.log
        seq = 0 if log is None else log.seq
        if log is not None:
            log.open_next()  # records after this save go to a segment it does not cover

        def build() -> Document:
            document = file_document(self.emulator)
            return document if log is None else with_seq(document, seq)

        if snapshot.FORKS:
            # The child is the snapshot: it builds, encodes and writes the document while this
            # process goes on serving (the loop pauses only for the fork itself).
            result = await snapshot.save_in_child(build, self.path)
        else:
            document = build()
            data = encode(document)
            await asyncio.to_thread(write_atomic, self.path, data)
            result = len(data), snapshot.row_counts(document)
        if log is not None:
            log.saved(seq)
        return result

    def _failed(self, exc: Exception) -> None:
        cause = _cause(exc)
        self.status.failures += 1
        if self.status.last_error != cause:  # once per distinct cause, not once per second
            log.error(
                "could not save the state to %s: %s (health is degraded; retrying every %g s)",
                self.path,
                cause,
                self.interval,
            )
        self.status.last_error = cause

    def _succeeded(self) -> None:
        if self.status.last_error is not None:
            log.warning("saving the state to %s works again", self.path)
        self.status.last_error = None
        self.status.saves += 1
        self.status.last_saved_at = time.time()

    async def checkpoint(self) -> None:
        """Save now (`--durability always`: a control change is saved before it is answered)."""
        await self.save()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.emulator.changes != self._saved_at_change:
                with contextlib.suppress(SaveFailed):  # recorded; the next tick tries again
                    await self.save()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> bool:
        """Stop saving in the background and save one last time; answers whether that worked
        (a failure was logged in one line)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.save()
        except SaveFailed as exc:
            log.error("the state was NOT saved at shutdown: %s", exc.message)
            return False
        return True


async def start_durable(
    emulator: Emulator, app: Any, log: DurableLog, persister: Persister, saved_seq: int
) -> None:
    """Before `ready` in `--durability always`: replay what the log holds past the data file
    (with the clock at each record's time), then log every applied request from now on."""
    records = log.records_after(saved_seq)
    clock = emulator.clock.snapshot()
    for record in records:
        emulator.clock.freeze(float(record["t"]))
        await durable.replay(app, record)
    emulator.clock.restore(clock)
    log.seq = max([saved_seq, *(int(r["n"]) for r in records)])
    log.open_next()
    if records:
        log_line = "replayed %d request(s) from the durable log of %s"
        logging.getLogger("ctmp_emulator").warning(log_line, len(records), log.data_file)
        with contextlib.suppress(SaveFailed):  # recorded in health; the log still holds them
            await persister.save()  # the data file holds them now; their segments go

    async def applied(request: Any, body: bytes) -> None:
        if not durable.is_flow(request):
            await log.append(request, body, emulator.clock.now())

    emulator.on_applied = applied
    emulator.on_control_change = persister.checkpoint
