"""The listening socket of `serve`, bound before uvicorn starts, so that a bad `--host` or a
port in use ends the start with one line saying what to change (uvicorn logs the socket error
and exits 1)."""

from __future__ import annotations

import errno
import socket


class BindError(OSError):
    pass


def listen(host: str, port: int, flag: str = "--port") -> socket.socket:
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
                f"or pass {flag} 0 to take a free port"
            ) from None
        hint = ""
        if exc.errno == errno.EACCES and port < 1024:
            hint = f" (a port below 1024 needs privileges: pass a higher {flag}, see docs/https.md)"
        raise BindError(f"cannot bind to {host} port {port}: {exc.strerror}{hint}") from None
    return sock
