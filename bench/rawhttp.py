"""Minimal HTTP/1.1 client over loopback, shared by the load generator and control.py.

Why not httpx: its per-request cost (a few hundred µs) is the same order as the latencies being
measured. This client only speaks what uvicorn answers here: keep-alive, `Content-Length` bodies.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast


class HTTPError(Exception):
    """The server's answer is not one this client understands (chunked, malformed)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes


def build_request(
    method: str,
    path: str,
    host: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    """The request's bytes, built once so load loops only write them."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def parse_reply(buf: bytearray) -> tuple[Reply, int] | None:
    """One complete response at the start of `buf` and how many bytes it took, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).lower()
    try:
        status = int(head[9:12])
    except ValueError as exc:
        raise HTTPError(f"bad status line: {head[:40]!r}") from exc
    length = 0
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : stop if stop >= 0 else None])
    elif b"\r\ntransfer-encoding:" in head:
        raise HTTPError("chunked responses are not supported")
    total = end + 4 + length
    if len(buf) < total:
        return None
    return Reply(status, bytes(buf[end + 4 : total])), total


class SyncConnection:
    """A blocking keep-alive connection (control.py: one request at a time, precise timing)."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def read_reply(self) -> Reply:
        while True:
            parsed = parse_reply(self._buf)
            if parsed is not None:
                reply, used = parsed
                del self._buf[:used]
                return reply
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._buf += chunk

    def request(self, raw: bytes) -> Reply:
        self.send(raw)
        return self.read_reply()

    def close(self) -> None:
        self.sock.close()


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[Reply] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, hence a cast, not a check.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            parsed = parse_reply(self.buf)
        except (HTTPError, ValueError) as exc:
            waiter.set_exception(exc)
            return
        if parsed is not None:
            reply, used = parsed
            del self.buf[:used]
            waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))


class AsyncConnection:
    """An asyncio keep-alive connection; one request in flight at a time (no pipelining)."""

    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    @classmethod
    async def open(
        cls, host: str, port: int, tls: ssl.SSLContext | None = None, server_name: str = ""
    ) -> AsyncConnection:
        """Connected (and with `tls`, handshaken as `server_name`) to `host`:`port`."""
        loop = asyncio.get_running_loop()
        extra: dict[str, Any] = {} if tls is None else {"ssl": tls, "server_hostname": server_name}
        _, protocol = await loop.create_connection(_Protocol, host, port, **extra)
        return cls(protocol)

    async def request(self, raw: bytes) -> Reply:
        protocol = self._protocol
        waiter: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        protocol.waiter = waiter
        if protocol.transport is None:
            raise ConnectionError("not connected")
        protocol.transport.write(raw)
        return await waiter

    def close(self) -> None:
        if self._protocol.transport is not None:
            self._protocol.transport.close()
