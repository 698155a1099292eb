"""pytest plugin (entry point `pytest11`): an emulator for the test session.

`emulator` starts one emulator in this process on a free port for the whole session, resets it
before each test that uses it, and yields an `EmulatorHandle` with the URL, the default
credentials and a control client. Set `CTMP_EMULATOR_URL` to use an emulator that is already
running (a container, another process) instead. `--ctmp-scenarios DIR` collects scenario files
as tests (`emulator/testing/scenarios.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulator.config import DEFAULT_ACCOUNT, DEFAULT_WORKSPACE, Config
from emulator.testing.client import EmulatorClient
from emulator.testing.defaults import (
    MPARTICLE_AUTH,
    clevertap_headers,
    mparticle_headers,
    workspace_input,
)
from emulator.testing.scenarios import (  # hooks: scenario files collected as tests
    pytest_addoption,
    pytest_collect_file,
    pytest_configure,
)

__all__ = ["pytest_addoption", "pytest_collect_file", "pytest_configure"]


@dataclass
class EmulatorHandle:
    url: str
    client: EmulatorClient
    clevertap: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ACCOUNT))
    mparticle: dict[str, Any] = field(
        default_factory=lambda: {
            "workspace": DEFAULT_WORKSPACE["id"],
            "s2s_key": workspace_input("s2s")["key"],
            "s2s_secret": workspace_input("s2s")["secret"],
            "web_key": workspace_input("web")["key"],
            "feed_key": workspace_input("feed")["key"],
            "feed_secret": workspace_input("feed")["secret"],
        }
    )

    @property
    def clevertap_headers(self) -> dict[str, str]:
        return {**clevertap_headers(), "Content-Type": "application/json"}

    @property
    def mparticle_auth(self) -> tuple[str, str]:
        return MPARTICLE_AUTH

    @property
    def mparticle_headers(self) -> dict[str, str]:
        return {**mparticle_headers(), "Content-Type": "application/json"}


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[str]:
    """The base URL of the session's emulator."""
    external = os.environ.get("CTMP_EMULATOR_URL")
    if external:
        yield external.rstrip("/")
        return
    from emulator.server import ThreadedServer

    server = ThreadedServer(Config.defaults(port=0, seed=1234, log_requests=False)).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def emulator_client(emulator_server: str) -> Iterator[EmulatorClient]:
    """One control client for the session: building an httpx client costs ~25 ms (its TLS
    context), which per test would dominate a fast suite."""
    client = EmulatorClient(emulator_server)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def emulator(emulator_server: str, emulator_client: EmulatorClient) -> Iterator[EmulatorHandle]:
    """The session's emulator, freshly reset (tenants too), with its credentials and a client."""
    emulator_client.reset(tenants=True)
    yield EmulatorHandle(url=emulator_server, client=emulator_client)
