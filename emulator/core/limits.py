"""Bounds on what one request may cost: its body's size and the time its body may take.

A body is read chunk by chunk and refused as soon as it passes its limit (or at once, when
`Content-Length` already says so), so a 500 MB upload costs the limit, not 500 MB. The
refusal is the operation's own 413 (or 408 when the body is too slow), answered with
`Connection: close`: the rest of the body is never read. Header size and header time are
bounded below the application, in the HTTP protocol (`emulator.protocol`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.core.deadlines import deadlines
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
    the deadline sweep, emulator/core/deadlines.py); `BodyRefused` otherwise. Starlette's
    `ClientDisconnect` passes through."""
    declared = _content_length(request)
    if declared is not None and declared > limit:
        raise BodyRefused(413, too_large_message(limit), b"", declared)
    chunks: list[bytes] = []
    size = 0
    task = asyncio.current_task()
    assert task is not None, "a body is read inside a task"
    expiry = _Expiry(task)
    pending = deadlines()
    pending.set(expiry, timeout, expiry.fire)
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                chunks.append(chunk)
                head = b"".join(chunks)[:limit]
                raise BodyRefused(413, too_large_message(limit), head, declared or size)
            chunks.append(chunk)
    except asyncio.CancelledError:
        if not expiry.fired or task.uncancel() > 0:
            raise  # cancelled by someone else (shutdown): not ours to swallow
        message = f"The request body did not arrive within {timeout:g} seconds."
        raise BodyRefused(408, message, b"".join(chunks), declared or size) from None
    finally:
        pending.clear(expiry)
    return b"".join(chunks)


class _Expiry:
    """The body's deadline passed: cancel the task reading it, and say so."""

    __slots__ = ("fired", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        self.task.cancel()


def closing(response: Response) -> Response:
    """`response`, marked to close the connection after it: uvicorn then stops reading the
    body that is still coming."""
    response.headers["Connection"] = "close"
    return response


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None
