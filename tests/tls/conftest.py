"""The tests of tests/tls/ run against an emulator with its HTTPS listener (`serve --tls`):
`emulator_server` and the session fixtures built on it (`emulator_client`, `http`) are
overridden here, so the shared fixtures (`emulator`, `ct`, `mp`, `views`, `bridge`) all talk to
it; `tls` says where its TLS port and CA are. (A session fixture is cached once per definition:
each one that depends on `emulator_server` needs its override here, or the first directory to
use it would hand its server to the other.)"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulator.config import Config
from emulator.server import ThreadedServer
from emulator.testing.client import EmulatorClient
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
def emulator_client(emulator_server: str) -> Iterator[EmulatorClient]:
    client = EmulatorClient(emulator_server)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def http(emulator_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_server, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def tls(tls_server: ThreadedServer) -> TlsEmulator:
    return TlsEmulator.of(tls_server)
