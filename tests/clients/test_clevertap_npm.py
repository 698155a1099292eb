"""The real npm client `clevertap@1.3.0` against the emulator.

The tests themselves are in `tests/clients/node/clevertap.test.mjs` (node's built-in test runner);
this test starts the emulator, runs that file with `EMULATOR_URL` set (the `run_node_suite` fixture
in conftest.py), and fails with node's output. The client comes from the repository's `package.json`
/ `package-lock.json`: run `npm ci` once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.testing.plugin import EmulatorHandle

if TYPE_CHECKING:
    from tests.conftest import RunNodeSuite


def test_clevertap_npm_client(emulator: EmulatorHandle, run_node_suite: RunNodeSuite) -> None:
    run_node_suite(emulator.url, "clevertap.test.mjs", "clevertap", "1.3.0")
