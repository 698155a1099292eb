"""Background persistence of the whole state to `--data-file`.

The state document is built on the event loop (a consistent snapshot between two requests) and
written from a worker thread with `write_atomic`. Saves happen every `persist_interval` seconds
when something changed, on demand (`POST /_emulator/state/save`) and at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from emulator.core.store import encode, write_atomic
from emulator.runtime import Emulator

log = logging.getLogger("ctmp_emulator")


class Persister:
    def __init__(self, emulator: Emulator, path: Path, interval: float) -> None:
        self.emulator = emulator
        self.path = path
        self.interval = interval
        self._saved_at_change = -1
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def mark_saved(self) -> None:
        """The file already holds the current state (it was just loaded from it)."""
        self._saved_at_change = self.emulator.changes

    async def save(self) -> tuple[int, dict[str, int]]:
        """Write the state now; answer the bytes written and the rows per table."""
        async with self._lock:
            change = self.emulator.changes
            document = self.emulator.export_state()
            data = encode(document)
            await asyncio.to_thread(write_atomic, self.path, data)
            self._saved_at_change = change
            return len(data), {k: len(v) for k, v in document.items() if k != "_meta"}

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.emulator.changes != self._saved_at_change:
                try:
                    await self.save()
                except Exception:  # keep saving later; a dead saver would lose data silently
                    log.exception("could not save the state to %s", self.path)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.save()
