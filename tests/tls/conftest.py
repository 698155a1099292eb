"""The tests of tests/tls/ run against an emulator with its HTTPS listener (`serve --tls`):
`emulator_server` is overridden here, so the shared fixtures (`emulator`, `http`, `ct`, `mp`,
`views`, `bridge`, the Web SDK's `browser`) all talk to it; `tls` says where its TLS port and
CA are."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.config import Config
from emulator.server import ThreadedServer
from tests.drivers.tls import TlsEmulator


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    config = Config.defaults(
        port=0,
        seed=1234,
        log_requests=False,
        tls=True,
        tls_port=0,
        ca_dir=tmp_path_factory.mktemp("ca"),
    )
    server = ThreadedServer(config).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def emulator_server(tls_server: ThreadedServer) -> str:
    return tls_server.url


@pytest.fixture(scope="session")
def tls(tls_server: ThreadedServer) -> TlsEmulator:
    return TlsEmulator.of(tls_server)
