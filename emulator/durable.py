"""`--durability always`: an append-only log of the platform requests applied since the last save.

In the default `interval` mode a kill -9 loses what was acknowledged since the last save (at
most `persist_interval`, 1 s). In `always` mode each platform request that is not a read
(GET/HEAD) is appended to `DATA_FILE.log.N` and fsynced before its answer leaves: a request
answered 2xx/4xx is on disk. Requests are committed in groups (every request that finished
while the previous group was being fsynced, at least every request of one event-loop tick),
so the cost is one fsync per group, not per request (PostgreSQL's group commit). A write or
fsync that fails turns the answer into the platform's 503: no success is acknowledged that a
restart could lose.

Each record carries a sequence number; a save stores the number it includes
(`_meta.1.durable_seq`), so a start loads the data file and replays, through the app itself and
with the clock set to each record's time, only the records after it. A save starts a new log
segment and removes those whose records the data file now holds. Control operations that change
the state (reset, tenants, clock, faults, `PUT /_emulator/state`) are saved as a whole before
they answer. The flows' own requests (the bridge's deliveries) are not logged: replaying the
client's request runs the flow again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request

from emulator.bridge.delivery import USER_AGENT as FLOW_USER_AGENT
from emulator.core.store import Document, SaveStatus

log = logging.getLogger("ctmp_emulator")

MODES = ("interval", "always")
SEQ_KEY = "durable_seq"


class LogWriteFailed(OSError):
    """The log could not be written: the request must not be answered as a success."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


class DurableLog:
    def __init__(self, data_file: Path, status: SaveStatus) -> None:
        self.data_file = data_file.resolve()
        self.status = status
        status.durability = "always"
        self.seq = 0  # the last sequence number given to a record
        self._segment = 0
        self._fd: int | None = None
        # Highest sequence number written to each segment (a segment goes once a save holds it).
        self._segment_max: dict[int, int] = {}
        self._pending: list[bytes] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._flusher: asyncio.Task[None] | None = None

    # -- segments ----------------------------------------------------------------------------
    def _segment_path(self, n: int) -> Path:
        return self.data_file.with_name(f"{self.data_file.name}.log.{n}")

    def segments(self) -> list[tuple[int, Path]]:
        prefix = f"{self.data_file.name}.log."
        found = []
        for name in os.listdir(self.data_file.parent):
            tail = name[len(prefix) :]
            if name.startswith(prefix) and tail.isascii() and tail.isdigit():
                found.append((int(tail), self.data_file.parent / name))
        return sorted(found)

    def open_next(self) -> None:
        """Start a new segment; later records go there (called at each save)."""
        existing = [n for n, _ in self.segments()]
        self._segment = max([self._segment, *existing]) + 1
        fd = os.open(self._segment_path(self._segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        old, self._fd = self._fd, fd
        self._segment_max.setdefault(self._segment, 0)
        if old is not None:
            os.close(old)

    def saved(self, seq: int) -> None:
        """A save holding every record up to `seq` is on disk: drop the segments it covers."""
        for n, path in self.segments():
            if n != self._segment and self._segment_max.get(n, 0) <= seq:
                path.unlink(missing_ok=True)
                self._segment_max.pop(n, None)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- appending ---------------------------------------------------------------------------
    async def append(self, request: Request, body: bytes, now: float) -> None:
        """Log a request that was just applied; returns once it is on disk (raises
        `LogWriteFailed` if it could not be written)."""
        self.seq += 1
        record = {
            "n": self.seq,
            "t": now,
            "m": request.method,
            "p": request.url.path,
            "q": request.scope.get("query_string", b"").decode("latin-1"),
            "h": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw],
            "b": base64.b64encode(body).decode("ascii"),
        }
        self._pending.append(orjson.dumps(record) + b"\n")
        self._segment_max[self._segment] = self.seq
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._flusher is None or self._flusher.done():
            # Starts on the next loop iteration: every request of this tick joins the group.
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        await waiter

    async def _flush(self) -> None:
        while self._pending:
            data, waiters = b"".join(self._pending), self._waiters
            self._pending, self._waiters = [], []
            fd = self._fd
            try:
                if fd is None:
                    raise OSError("the durable log is not open")
                await asyncio.to_thread(_write_all, fd, data)
            except OSError as exc:
                cause = f"{exc.strerror or exc} ({type(exc).__name__}, errno {exc.errno})"
                self.status.log_failures += 1
                if self.status.log_error != cause:  # once per distinct cause
                    log.error(
                        "could not write the durable log of %s: %s (requests answer 503)",
                        self.data_file,
                        cause,
                    )
                self.status.log_error = cause
                # What failed may be half written: later records go to a fresh segment, never
                # after a torn line (it would swallow the next record).
                with contextlib.suppress(OSError):
                    self.open_next()
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(LogWriteFailed(exc.errno or 0, str(exc)))
                continue
            if self.status.log_error is not None:
                log.warning("the durable log of %s is written again", self.data_file)
                self.status.log_error = None
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    # -- replay ------------------------------------------------------------------------------
    def records_after(self, seq: int) -> list[dict[str, Any]]:
        """The logged records after `seq`, in order. A torn last line (the process died while
        writing it, so its request was never answered) is ignored."""
        records: dict[int, dict[str, Any]] = {}
        for _, path in self.segments():
            for line in path.read_bytes().split(b"\n"):
                with contextlib.suppress(orjson.JSONDecodeError):
                    record = orjson.loads(line) if line else None
                    if isinstance(record, dict) and record.get("n", 0) > seq:
                        records[record["n"]] = record
        return [records[n] for n in sorted(records)]


def with_seq(document: Document, seq: int) -> Document:
    document["_meta"]["1"][SEQ_KEY] = seq
    return document


def is_flow(request: Request) -> bool:
    return request.headers.get("user-agent") == FLOW_USER_AGENT


async def replay(app: Any, record: dict[str, Any]) -> int:
    """One logged request through the ASGI app, as it came; answers the status."""
    body = base64.b64decode(record["b"])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": record["m"],
        "scheme": "http",
        "path": record["p"],
        "raw_path": record["p"].encode("utf-8"),
        "root_path": "",
        "query_string": record["q"].encode("latin-1"),
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in record["h"]],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the app does not read past the body
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status
