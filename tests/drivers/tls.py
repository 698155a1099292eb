"""HTTPS with the platforms' host names (`serve --tls`, docs/https.md), as the tests drive it.

`TlsEmulator` is an emulator with its TLS listener, its CA file and the CA's SPKI hash (what
Chromium's `--ignore-certificate-errors-spki-list` takes). `redirect_https(port)` is the
no-root recipe of docs/https.md for Python clients: their platform host names on port 443 go
to 127.0.0.1 on the emulator's `--tls-port` (the name, and so the certificate check and the
Host header, stay the platform's). Node clients get the same from
`tests/clients/node/redirect-https.cjs`, Chromium from `--host-resolver-rules`.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from emulator.clevertap.surface import CleverTapSurface
from emulator.core.hosts import matches
from emulator.mparticle.surface import MParticleSurface
from emulator.server import ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
NODE_REDIRECT = ROOT / "tests" / "clients" / "node" / "redirect-https.cjs"
PLATFORM_HOSTS = CleverTapSurface.hosts + MParticleSurface.hosts


@dataclass(frozen=True)
class TlsEmulator:
    url: str  # plain HTTP on loopback (the control API)
    tls_url: str  # https://127.0.0.1:{tls_port}
    ca_file: Path
    spki: str

    @property
    def tls_port(self) -> int:
        return int(self.tls_url.rsplit(":", 1)[1])

    @classmethod
    def of(cls, server: ThreadedServer) -> TlsEmulator:
        tls = server.server.tls
        assert tls is not None, "the emulator was started without tls"
        return cls(server.url, server.tls_url, tls.authority.cert_path, tls.authority.spki_sha256)

    def https(self) -> httpx.Client:
        """A client of the TLS port trusting only the CA (verified as 127.0.0.1; give the
        platform's name in a `Host` header)."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return httpx.Client(base_url=self.tls_url, verify=context, timeout=30)

    def node_env(self) -> dict[str, str]:
        """What a node process needs to reach the platforms' hosts here: the CA trusted
        (`NODE_EXTRA_CA_CERTS`) and the no-root port redirect preloaded."""
        return {
            "NODE_EXTRA_CA_CERTS": str(self.ca_file),
            "NODE_OPTIONS": f'--require="{NODE_REDIRECT}"',
            "CTMP_HTTPS_REDIRECT": f"127.0.0.1:{self.tls_port}",
        }

    def chromium_env(self) -> dict[str, str]:
        """For tests/clients/web/driver.mjs: the platforms' hosts mapped to the TLS port, and
        only the CA's key trusted (Chromium has no flag to add a root; the SPKI list accepts a
        chain that holds this key, and nothing else: `ignoreHTTPSErrors` stays off)."""
        rules = ", ".join(f"MAP *{h} 127.0.0.1:{self.tls_port}" for h in PLATFORM_HOSTS)
        return {"HOST_RESOLVER_RULES": rules, "TRUST_SPKI": self.spki}


def is_platform_host(host: str) -> bool:
    name = host.lower().rstrip(".")
    return any(matches(name, entry) for entry in PLATFORM_HOSTS)


@contextlib.contextmanager
def redirect_https(port: int, address: str = "127.0.0.1") -> Iterator[None]:
    """The platforms' host names on port 443 resolve to `address`:`port` in this process (as a
    `sitecustomize.py` would do it for an app: docs/https.md)."""
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, service: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and is_platform_host(host) and str(service) in ("443", "https"):
            host, service = address, port
        return original(host, service, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original
