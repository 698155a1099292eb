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
