"""The Web SDK's browser driver (tests/clients/web/driver.mjs, Node + playwright-core in Debian's
chromium) from Python: `launch_browser` starts it for an emulator, `Browser` sends it one step at
a time. Shared by the Web SDK tests (plain HTTP, TLS front, the platforms' host names) and the
README harness (tests/drivers/docrun.py). Anything missing fails the test, nothing skips."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "clients" / "web" / "driver.mjs"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
NPM_PACKAGES = {"@mparticle/web-sdk": "2.68.0", "playwright-core": "1.64.1"}
STEP_TIMEOUT = 25.0  # one browser step (the page's own wrappers give up after 10 s)


def _npm_version(package: str) -> str | None:
    try:
        manifest = ROOT / "node_modules" / package / "package.json"
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


class StepFailed(AssertionError):
    pass


class Browser:
    """One running `driver.mjs`: a page with the SDK loaded, driven a step at a time."""

    def __init__(self, proc: subprocess.Popen[str], stderr_path: Path) -> None:
        self.proc = proc
        self.stderr_path = stderr_path
        self.log: list[str] = []  # everything the page printed or requested, in order
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        ready = self._read(60.0)
        if not ready.get("ready"):
            raise StepFailed(f"the browser driver did not start: {ready.get('error')}")
        self.page_url: str = ready["page"]
        self.tls_port: int | None = ready["tls_port"]  # the TLS front's, when it has one

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise StepFailed(
                    f"the browser driver said nothing for {timeout} s\n{self.diagnostics()}"
                ) from None
            if line is None:
                self.proc.wait(5)
                raise StepFailed(
                    f"the browser driver exited ({self.proc.returncode})\n{self.diagnostics()}"
                )
            if line.startswith("{"):
                message: dict[str, Any] = json.loads(line)
                self.log.extend(message.get("log") or ())
                return message
            self.log.append(f"driver stdout: {line.rstrip()}")

    def _step(self, step: dict[str, Any]) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(step) + "\n")
        self.proc.stdin.flush()
        answer = self._read(STEP_TIMEOUT)
        if not answer["ok"]:
            raise StepFailed(f"browser step {step} failed: {answer['error']}\n{self.diagnostics()}")
        return answer["value"]

    def call(self, function: str, *args: Any) -> Any:
        """Call `window.<function>(*args)` in the page; a returned promise is awaited."""
        return self._step({"call": function, "args": list(args)})

    def eval(self, expression: str) -> Any:
        return self._step({"eval": expression})

    def reload(self) -> None:
        """Reload the page: the SDK's local storage stays, as for a returning visitor."""
        assert self._step({"reload": True}) is True, "the SDK did not load again"

    def diagnostics(self) -> str:
        tail = "\n".join(self.log[-80:])
        stderr = self.stderr_path.read_text(errors="replace")[-4000:]
        return f"--- page log (last 80) ---\n{tail}\n--- driver stderr ---\n{stderr}"

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write(json.dumps({"close": True}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def launch_browser(emulator_url: str, tmp_path: Path, env: dict[str, str]) -> Browser:
    """Start `driver.mjs` for the emulator at `emulator_url` with `env` added (the TLS front's
    pair, or tests/drivers/tls.py's `chromium_env()`): fails, never skips, when node, the npm
    packages or Chromium are missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js, then run `npm ci`", pytrace=False)
    for package, version in NPM_PACKAGES.items():
        found = _npm_version(package)
        if found != version:
            pytest.fail(
                f"npm package {package} is {found or 'missing'} in node_modules (want {version}):"
                f" run `npm ci` in {ROOT}",
                pytrace=False,
            )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)",
            pytrace=False,
        )
    stderr_path = tmp_path / "driver-stderr.txt"
    full_env = {**os.environ, "EMULATOR_URL": emulator_url, "CHROMIUM_PATH": CHROMIUM, **env}
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [node, str(DRIVER)],
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    try:
        return Browser(proc, stderr_path)
    except BaseException:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        raise
