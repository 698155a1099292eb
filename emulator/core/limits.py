"""Bounds on what one request may cost: its body's size and the time its body may take.

A body is read chunk by chunk and refused as soon as it passes its limit (or at once, when
`Content-Length` already says so), so a 500 MB upload costs the limit, not 500 MB. The
refusal is the operation's own 413 (or 408 when the body is too slow), answered with
`Connection: close`: the rest of the body is never read. Header size and header time are
bounded below the application, in the HTTP protocol (`emulator.protocol`).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.core.errors import ApiError


class BodyRefused(Exception):
    """The body passed its size limit or its time limit; nothing was run."""

    def __init__(self, status: int, message: str, received: bytes, size: int) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        # What arrived before the refusal, and the size the request claimed (or reached).
        self.received = received
        self.size = size

    def error(self, code: str | None = None) -> ApiError:
        return ApiError(self.status, self.message, code=code)


def too_large_message(limit: int) -> str:
    return f"Request body exceeds {limit} bytes."


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole body, at most `limit` bytes, arriving within `timeout` seconds (give or take
    `SWEEP_EVERY`); `BodyRefused` otherwise. Starlette's `ClientDisconnect` passes through."""
    declared = _content_length(request)
    if declared is not None and declared > limit:
        raise BodyRefused(413, too_large_message(limit), b"", declared)
    chunks: list[bytes] = []
    size = 0
    watch = _watch(timeout)
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                chunks.append(chunk)
                head = b"".join(chunks)[:limit]
                raise BodyRefused(413, too_large_message(limit), head, declared or size)
            chunks.append(chunk)
    except asyncio.CancelledError:
        if not watch.expired or watch.task.uncancel() > 0:
            raise  # cancelled by someone else (shutdown): not ours to swallow
        message = f"The request body did not arrive within {timeout:g} seconds."
        raise BodyRefused(408, message, b"".join(chunks), declared or size) from None
    finally:
        watch.done()
    return b"".join(chunks)


# How often body deadlines are checked. One shared timer per event loop, not one per request:
# a timer (`asyncio.timeout`, `call_later`) per request cost a fifth of a small request on
# uvloop (bench/README.md), and a body rarely waits at all.
SWEEP_EVERY = 0.1


class _Watch:
    """A task reading a body, and its deadline on the loop's clock."""

    __slots__ = ("deadline", "expired", "reading", "task")

    def __init__(self, task: asyncio.Task[Any], deadline: float, reading: _Reading) -> None:
        self.task = task
        self.deadline = deadline
        self.reading = reading
        self.expired = False

    def done(self) -> None:
        self.reading.watches.pop(self, None)


class _Reading:
    """The loop's body reads in progress, swept every `SWEEP_EVERY` while there are any: a
    read past its deadline has its task cancelled (`read_body` turns that into the 408)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.watches: dict[_Watch, None] = {}  # in start order
        self.timer: asyncio.TimerHandle | None = None

    def watch(self, timeout: float) -> _Watch:
        task = asyncio.current_task(self.loop)
        assert task is not None, "a body is read inside a task"
        watch = _Watch(task, self.loop.time() + timeout, self)
        self.watches[watch] = None
        if self.timer is None:
            self.timer = self.loop.call_later(SWEEP_EVERY, self.sweep)
        return watch

    def sweep(self) -> None:
        self.timer = None
        now = self.loop.time()
        for watch in [w for w in self.watches if w.deadline <= now]:
            del self.watches[watch]
            watch.expired = True
            watch.task.cancel()
        if self.watches:
            self.timer = self.loop.call_later(SWEEP_EVERY, self.sweep)


_readings: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Reading] = (
    weakref.WeakKeyDictionary()
)


def _watch(timeout: float) -> _Watch:
    loop = asyncio.get_running_loop()
    reading = _readings.get(loop)
    if reading is None:
        reading = _readings[loop] = _Reading(loop)
    return reading.watch(timeout)


def closing(response: Response) -> Response:
    """`response`, marked to close the connection after it: uvicorn then stops reading the
    body that is still coming."""
    response.headers["Connection"] = "close"
    return response


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None
