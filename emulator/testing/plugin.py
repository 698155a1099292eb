"""pytest plugin (entry point `pytest11`): an emulator for the test session.

`emulator` starts one emulator in this process on a free port for the whole session, resets it
before each test that uses it, and yields an `EmulatorHandle` with the URL, the default
credentials and a control client. Set `CTMP_EMULATOR_URL` to use an emulator that is already
running (a container, another process) instead. `--ctmp-scenarios DIR` collects scenario files
as tests (`emulator/testing/scenarios.py`).

Under pytest-xdist with `CTMP_EMULATOR_URL`, the workers share that emulator: each one gets
tenants of its own (`worker_tenants`, ids ending in the worker's name), resets only those, and
hands their credentials out, so workers never wipe each other's data.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulator.config import Config, default_tenants
from emulator.testing.client import EmulatorClient
from emulator.testing.defaults import basic_auth
from emulator.testing.scenarios import (  # hooks: scenario files collected as tests
    pytest_addoption,
    pytest_collect_file,
    pytest_configure,
)

__all__ = ["pytest_addoption", "pytest_collect_file", "pytest_configure"]


def worker_tenants(worker: str) -> list[dict[str, Any]]:
    """The default tenants, made a pytest-xdist worker's own: ids and keys end in `-{worker}`
    and the workspace id (a number, as mParticle's are) is 1000 plus the worker's number."""
    tenants = default_tenants()
    account, workspace, connection = tenants
    number = int("".join(ch for ch in worker if ch.isdigit()) or 0)
    account["id"] = f"{account['id']}-{worker}"
    workspace["id"] = str(int(workspace["id"]) + 1 + number)
    for entry in [*workspace["inputs"], *workspace["api_clients"]]:
        for key in ("key", "client_id"):
            if key in entry:
                entry[key] = f"{entry[key]}-{worker}"
    connection["id"] = f"{connection['id']}-{worker}"
    connection["workspace"], connection["account"] = workspace["id"], account["id"]
    connection["feed"]["input_key"] = f"{connection['feed']['input_key']}-{worker}"
    return tenants


def _credentials(tenants: list[dict[str, Any]]) -> dict[str, Any]:
    account, workspace, connection = tenants
    inputs = {i["kind"]: i for i in workspace["inputs"]}
    return {
        "clevertap": {k: v for k, v in account.items() if k != "kind"},
        "mparticle": {
            "workspace": workspace["id"],
            "s2s_key": inputs["s2s"]["key"],
            "s2s_secret": inputs["s2s"]["secret"],
            "web_key": inputs["web"]["key"],
            "feed_key": inputs["feed"]["key"],
            "feed_secret": inputs["feed"]["secret"],
        },
        "connection": connection["id"],
    }


_DEFAULTS = _credentials(default_tenants())


@dataclass
class EmulatorHandle:
    url: str
    client: EmulatorClient
    clevertap: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(_DEFAULTS["clevertap"]))
    mparticle: dict[str, Any] = field(default_factory=lambda: dict(_DEFAULTS["mparticle"]))
    # The connection between them (the flows' deliveries: `client.deliveries(connection)`).
    connection: str = str(_DEFAULTS["connection"])

    @property
    def clevertap_headers(self) -> dict[str, str]:
        return {
            "X-CleverTap-Account-Id": self.clevertap["id"],
            "X-CleverTap-Passcode": self.clevertap["passcode"],
            "Content-Type": "application/json",
        }

    @property
    def mparticle_auth(self) -> tuple[str, str]:
        return self.mparticle["s2s_key"], self.mparticle["s2s_secret"]

    @property
    def mparticle_headers(self) -> dict[str, str]:
        return {**basic_auth(*self.mparticle_auth), "Content-Type": "application/json"}


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
def emulator_client(
    emulator_server: str, emulator_tenants: list[dict[str, Any]] | None
) -> Iterator[EmulatorClient]:
    """One control client for the session: building an httpx client costs ~25 ms (its TLS
    context), which per test would dominate a fast suite. Its helpers read this worker's own
    tenants on a shared emulator (`emulator_tenants`), else the default ones."""
    own = _credentials(emulator_tenants) if emulator_tenants is not None else _DEFAULTS
    client = EmulatorClient(
        emulator_server,
        account=own["clevertap"]["id"],
        workspace=own["mparticle"]["workspace"],
        connection=own["connection"],
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def emulator_tenants() -> list[dict[str, Any]] | None:
    """This pytest-xdist worker's own tenants on a shared emulator (`CTMP_EMULATOR_URL`), or
    None: the emulator is this session's alone."""
    # pytest-xdist names each worker in the environment (gw0, gw1, ...):
    # https://pytest-xdist.readthedocs.io/en/stable/how-to.html#identifying-the-worker-process-during-a-test
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not os.environ.get("CTMP_EMULATOR_URL"):
        return None
    return worker_tenants(worker)


@pytest.fixture
def emulator(
    emulator_server: str,
    emulator_client: EmulatorClient,
    emulator_tenants: list[dict[str, Any]] | None,
) -> Iterator[EmulatorHandle]:
    """The session's emulator, freshly reset (tenants too), with its credentials and a client.

    A pytest-xdist worker on a shared emulator resets only its own tenants (their documents
    put back, their data, journal entries and faults forgotten); the clock stays shared."""
    if emulator_tenants is None:
        emulator_client.reset(tenants=True)
        yield EmulatorHandle(url=emulator_server, client=emulator_client)
        return
    for document in emulator_tenants:
        emulator_client.put_tenant(document)
        emulator_client.reset(document["id"])
    yield EmulatorHandle(
        url=emulator_server, client=emulator_client, **_credentials(emulator_tenants)
    )
