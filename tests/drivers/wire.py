"""HTTP as a misbehaving client sends it, below what httpx lets a test do: a request whose client
goes away before its body is complete."""

from __future__ import annotations

import socket

import httpx


def abandon_mid_body(
    base_url: str, method: str, path: str, headers: dict[str, str], sent: bytes, length: int
) -> None:
    """Send `method path` with `headers` and `Content-Length: length`, then only `sent` (fewer
    bytes), and close the connection without reading an answer."""
    assert len(sent) < length, "the body must be cut short"
    url = httpx.URL(base_url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {url.host}:{url.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {length}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection((url.host, url.port or 80), timeout=10) as sock:
        sock.sendall(head + sent)


def connect(base_url: str, timeout: float = 10) -> socket.socket:
    """A raw TCP connection to the emulator."""
    url = httpx.URL(base_url)
    return socket.create_connection((url.host, url.port or 80), timeout=timeout)


def request_head(base_url: str, method: str, path: str, headers: dict[str, str]) -> bytes:
    """A request line and headers, ended (the body, if any, is the caller's to send)."""
    url = httpx.URL(base_url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {url.host}:{url.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the socket times out)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (whatever it sends first)."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True
