"""The real npm client `clevertap@1.3.0` against the emulator.

The tests themselves are in `tests/node/` (node's built-in test runner); this test starts the
emulator, runs `node --test tests/node/` with `EMULATOR_URL` set, and fails with node's output.
The client comes from the repository's `package.json` / `package-lock.json`: run `npm ci` once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from emulator.testing.plugin import EmulatorHandle

ROOT = Path(__file__).resolve().parent.parent
NODE_TESTS = ROOT / "tests" / "node"
CLIENT_PACKAGE = ROOT / "node_modules" / "clevertap" / "package.json"
CLIENT_VERSION = "1.3.0"
# The suite takes a few seconds; a hang (a cursor loop, a request that never answers) fails.
NODE_TIMEOUT = 120.0


def _client_version() -> str | None:
    try:
        return str(json.loads(CLIENT_PACKAGE.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def test_clevertap_npm_client(emulator: EmulatorHandle) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js 20 or newer, then run `npm ci`")
    version = _client_version()
    if version != CLIENT_VERSION:
        found = "is not installed" if version is None else f"is {version}"
        pytest.fail(
            f"the npm package clevertap {found} in {ROOT / 'node_modules'} "
            f"(want {CLIENT_VERSION}): run `npm ci` in {ROOT}",
            pytrace=False,
        )

    env = {**os.environ, "EMULATOR_URL": emulator.url, "NO_COLOR": "1"}
    command = [
        node,
        "--test",
        "--test-reporter=spec",
        "--test-force-exit",
        str(NODE_TESTS.relative_to(ROOT)) + "/",
    ]
    try:
        result = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout or ""
        if isinstance(output, bytes):
            output = output.decode("utf-8", "replace")
        pytest.fail(f"node --test did not finish within {NODE_TIMEOUT} s:\n{output}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"node --test failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
