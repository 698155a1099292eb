"""uvicorn's httptools protocol with the bounds uvicorn lacks: header time, header size and a
connection cap.

uvicorn has no timeout for a request whose headers never end, no header size limit with
httptools (h11's `h11_max_incomplete_event_size` applies to h11 only) and, in `limit_concurrency`,
a cap that answers 503 only once a request's headers are complete, so connections that never
send them still hold a file each: 1,100 such sockets under a 1,024-file limit took the server
down. Here a connection past `max_connections` is closed at once, one that takes more than
`header_timeout` seconds over a request's line and headers is closed, and a request line and
headers over `max_header_bytes` are answered 431 and the connection closed. The body's size and
time are bounded in the application (`emulator.core.limits`), where the answer can be the
platform's own.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from emulator.core.deadlines import deadlines

log = logging.getLogger("ctmp_emulator")

HEAD_END = b"\r\n\r\n"
TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: 40\r\n\r\n"
    b"The request line and headers are too big"
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int
    max_header_bytes: int
    header_timeout: float


def connection_cap(configured: int | None) -> int:
    """`configured`, or the open-file limit less a reserve for the process's own files (the
    data file, contracts, the listening socket, logs)."""
    if configured is not None:
        return configured
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 65_536
    return max(16, soft - max(64, soft // 8))


class GuardedProtocol(HttpToolsProtocol):
    """Set `limits` on a subclass (`guarded_protocol`): uvicorn builds the protocol itself."""

    limits: ConnectionLimits
    _last_warning = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A deadline in the loop's shared sweep (emulator/core/deadlines.py), not a timer:
        # set and cleared on every request, it nearly never fires.
        self._deadlines = deadlines(self.loop)
        self._head_armed = False
        # Between a request's first byte (or the connection's start) and its headers' end.
        self._reading_head = True
        self._head_bytes = 0
        self._tail = b""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._warn(f"more than {self.limits.max_connections} connections: closing new ones")
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            if not self._head_armed:  # the first byte of a keep-alive connection's request
                self._arm()
            room = self.limits.max_header_bytes - self._head_bytes
            # Over the limit unless the headers end within it (checked only when it could be).
            if len(data) > room and HEAD_END not in self._tail + data[: max(room, 0)]:
                self._disarm()
                self.transport.write(TOO_LARGE)
                self.transport.close()
                return
            self._head_bytes += len(data)
            self._tail = data[-3:]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline:
            self._reading_head = True
            self._head_bytes = 0
            self._tail = b""

    def _arm(self) -> None:
        self._head_armed = True
        self._deadlines.set(self, self.limits.header_timeout, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_armed:
            self._head_armed = False
            self._deadlines.clear(self)

    def _head_timeout(self) -> None:
        self._head_armed = False
        if self._reading_head and not self.transport.is_closing():
            self.transport.close()

    @classmethod
    def _warn(cls, message: str) -> None:
        # One line per 10 s: a flood of connections must not become a flood of log lines.
        now = time.monotonic()
        if now - cls._last_warning >= 10:
            cls._last_warning = now
            log.warning("%s", message)


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedProtocol]:
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits})
