"""The listening socket of `serve`, bound before uvicorn starts, so that a bad `--host` or a
port in use ends the start with one line saying what to change (uvicorn logs the socket error
and exits 1)."""

from __future__ import annotations

import errno
import socket


class BindError(OSError):
    pass


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host` (its first address, when a name has several) and `port`."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise BindError(
            f"--host {host!r} is not an address or a known host name: {reason}"
        ) from None
    sock = socket.socket(family, kind, proto)
    # As uvicorn does: a restart need not wait for the old connections' TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindError(
                f"port {port} on {host} is in use (another emulator?): stop it, "
                "or pass --port 0 to take a free port"
            ) from None
        raise BindError(f"cannot bind to {host} port {port}: {exc.strerror}") from None
    return sock
