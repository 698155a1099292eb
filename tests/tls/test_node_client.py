"""The npm client `clevertap@1.3.0` unmodified over HTTPS: its default region URL
(`https://eu1.api.clevertap.com/1`), `NODE_EXTRA_CA_CERTS` set to the emulator's CA, and the
host names sent to the TLS port by a preload (no root; docs/https.md). The node side is
`tests/clients/node/clevertap-https.test.mjs`."""

from __future__ import annotations

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.conftest import RunNodeFile
from tests.drivers.tls import TlsEmulator


def test_clevertap_npm_client_on_its_default_region_url(
    emulator: EmulatorHandle, tls: TlsEmulator, run_node_file: RunNodeFile
) -> None:
    account = emulator.clevertap
    run_node_file(
        emulator.url,
        "tests/clients/node/clevertap-https.test.mjs",
        {"clevertap": "1.3.0"},
        env={**tls.node_env(), "CT_ACCOUNT": account["id"], "CT_PASSCODE": account["passcode"]},
    )


def test_without_the_ca_node_refuses_the_certificate(
    emulator: EmulatorHandle, tls: TlsEmulator, run_node_file: RunNodeFile
) -> None:
    """The CA is what makes it work: without NODE_EXTRA_CA_CERTS the same run fails."""
    env = {**tls.node_env(), "NODE_EXTRA_CA_CERTS": ""}
    env.update(CT_ACCOUNT=emulator.clevertap["id"], CT_PASSCODE=emulator.clevertap["passcode"])
    # The client swallows the TLS error (its calls resolve to nothing): the suite fails, and
    # no request reached the emulator.
    with pytest.raises(pytest.fail.Exception, match="node --test failed"):
        run_node_file(
            emulator.url,
            "tests/clients/node/clevertap-https.test.mjs",
            {"clevertap": "1.3.0"},
            env=env,
        )
    assert emulator.client.requests(platform="clevertap") == []
