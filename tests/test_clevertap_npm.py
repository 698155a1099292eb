"""The real npm client `clevertap@1.3.0` against the emulator.

The tests themselves are in `tests/node/` (node's built-in test runner); this test starts the
emulator, runs `node --test tests/node/` with `EMULATOR_URL` set, and fails with node's output.
The client comes from the repository's `package.json` / `package-lock.json`: run `npm ci` once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
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


def _node_version(node: str) -> tuple[int, int]:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    assert match, f"unexpected `node --version` output {out!r}"
    return int(match[1]), int(match[2])


def _run_node(command: list[str], env: dict[str, str]) -> tuple[int | None, str]:
    """Run `command` in its own process group; on a timeout, kill the group (node --test runs
    each file in a child process). Answers the exit code (None on a timeout) and the output."""
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=NODE_TIMEOUT)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out


def test_clevertap_npm_client(emulator: EmulatorHandle) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js, then run `npm ci`", pytrace=False)
    version = _client_version()
    if version != CLIENT_VERSION:
        found = "is not installed" if version is None else f"is {version}"
        pytest.fail(
            f"the npm package clevertap {found} in {ROOT / 'node_modules'} "
            f"(want {CLIENT_VERSION}): run `npm ci` in {ROOT}",
            pytrace=False,
        )

    command = [node, "--test", "--test-reporter=spec"]
    if _node_version(node) >= (20, 14):
        # End the run when the tests are done, even if a request is still pending.
        command.append("--test-force-exit")
    command.append(str(NODE_TESTS.relative_to(ROOT)) + "/")
    env = {**os.environ, "EMULATOR_URL": emulator.url, "NO_COLOR": "1"}
    code, output = _run_node(command, env)
    if code is None:
        pytest.fail(f"node --test did not finish within {NODE_TIMEOUT} s:\n{output}", pytrace=False)
    if code != 0:
        pytest.fail(f"node --test failed (exit {code}):\n{output}", pytrace=False)
