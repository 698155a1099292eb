"""The real npm client `mparticle@1.0.8` against the emulator's Events API.

The tests themselves are in `tests/clients/node/mparticle.test.mjs` (node's built-in test runner);
this test starts the emulator, runs that file with `EMULATOR_URL` set (the `run_node_suite` fixture
in conftest.py), and fails with node's output, or when `node_modules` lacks the client: run `npm ci`
once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.testing.plugin import EmulatorHandle

if TYPE_CHECKING:
    from tests.conftest import RunNodeSuite


def test_mparticle_npm_client(emulator: EmulatorHandle, run_node_suite: RunNodeSuite) -> None:
    run_node_suite(emulator.url, "mparticle.test.mjs", "mparticle", "1.0.8")
