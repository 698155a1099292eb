"""Shared fixtures for tests that run the emulator as a separate process (`serve`), and the
hypothesis profile for CI."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same generated cases every run (a red CI names a bug, never a lucky draw);
# locally, every run explores new cases.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True)
    settings.load_profile("ci")

# How long a process may take to print its ready line or to exit; a hang fails, never blocks.
STARTUP_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0

MODULE_COMMAND = [sys.executable, "-m", "emulator"]


@dataclass
class EmulatorProcess:
    """An emulator started with `serve ... --port 0`, ready: `url` comes from its ready line."""

    proc: subprocess.Popen[bytes]
    ready_line: str
    url: str
    stderr_path: Path
    stdout_rest: str = field(default="")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig`, wait for the exit, keep what stdout still had; answer the return code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise
        self.stdout_rest = out.decode("utf-8", "replace")
        return self.proc.returncode

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """One line of the process's stdout, read byte by byte so nothing after it is consumed."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete line on stdout within {timeout} s (got {line!r})")
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 1)
        if not chunk:
            break  # the process closed stdout (it exited)
        line += chunk
    return line.decode("utf-8", "replace")


SpawnEmulator = Callable[..., EmulatorProcess]


@pytest.fixture
def spawn_emulator(tmp_path: Path) -> Iterator[SpawnEmulator]:
    """Start `python -m emulator serve --port 0 <args>` (or `command`) and wait for it to be ready.

    Every process started here is killed at teardown if the test left it running.
    """
    started: list[subprocess.Popen[bytes]] = []

    def spawn(*args: str, command: list[str] | None = None) -> EmulatorProcess:
        stderr_path = tmp_path / f"stderr-{len(started)}.txt"
        with stderr_path.open("wb") as stderr:
            proc = subprocess.Popen(
                [*(command or MODULE_COMMAND), "serve", "--port", "0", *args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=tmp_path,
            )
        started.append(proc)
        line = _read_line(proc, STARTUP_TIMEOUT)
        if "ready" not in line:
            proc.kill()
            proc.wait(EXIT_TIMEOUT)
            raise AssertionError(
                f"the emulator did not start (exit {proc.returncode}); stdout {line!r}; "
                f"stderr:\n{stderr_path.read_text(errors='replace')}"
            )
        return EmulatorProcess(proc, line, line.split()[-1], stderr_path)

    try:
        yield spawn
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(EXIT_TIMEOUT)
            if proc.stdout is not None:
                proc.stdout.close()


RunEmulator = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_emulator(tmp_path: Path) -> RunEmulator:
    """Run `python -m emulator <args>` to completion (for commands that must exit by themselves)."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*MODULE_COMMAND, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=EXIT_TIMEOUT,
            check=False,
        )

    return run
