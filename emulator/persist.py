"""Background persistence of the whole state to `--data-file`.

The state document is built on the event loop (a consistent snapshot between two requests) and
written from a worker thread with `write_atomic`. Saves happen every `persist_interval` seconds
when something changed, on demand (`POST /_emulator/state/save`) and at shutdown.

A save that fails (disk full, directory gone or read-only, a state that cannot be written) is
never silent: `/_emulator/health` turns `degraded` and names the cause, the failures are
counted, one log line says it (and one more when saving works again, not one per attempt), and
`POST /_emulator/state/save` answers the cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from emulator.core.errors import ApiError
from emulator.core.nesting import STATE_HEADROOM
from emulator.core.store import (
    SaveStatus,
    StateError,
    check_writable,
    encode,
    read_document,
    write_atomic,
)
from emulator.runtime import STATE_CONTRACT, Emulator

log = logging.getLogger("ctmp_emulator")


class SaveFailed(ApiError):
    def __init__(self, path: Path, cause: str) -> None:
        super().__init__(500, f"could not save the state to {path}: {cause}", code="save_failed")


def load_data_file(emulator: Emulator, path: Path) -> bool:
    """Check that saves to `path` can work, then load it when it exists (answers whether it
    did). Everything wrong raises `StateError` naming the file, where in it and why: the file
    is checked like a `PUT /_emulator/state` body (nesting limit, state contract, then the
    all-or-nothing import)."""
    check_writable(path)
    limit = emulator.config.max_json_depth + STATE_HEADROOM
    saved = read_document(path, limit)
    if saved is None:
        return False
    verdict = emulator.contracts.validate(STATE_CONTRACT, saved)
    if not verdict.valid:
        first = verdict.errors[0]
        raise StateError(f"data file {path}: {first.path}: {first.message}")
    try:
        emulator.import_state(saved)
    except ApiError as exc:
        raise StateError(f"data file {path}: {exc.message}") from exc
    return True


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({type(exc).__name__}, errno {exc.errno})"
    return f"{type(exc).__name__}: {exc}"


class Persister:
    def __init__(self, emulator: Emulator, path: Path, interval: float) -> None:
        self.emulator = emulator
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
                document = self.emulator.export_state()
                data = encode(document)
                await asyncio.to_thread(write_atomic, self.path, data)
            except Exception as exc:
                self._failed(exc)
                raise SaveFailed(self.path, _cause(exc)) from exc
            self._saved_at_change = change
            self._succeeded()
            return len(data), {k: len(v) for k, v in document.items() if k != "_meta"}

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
