"""A child process run to its end in a group of its own, the whole group killed at a timeout
(node --test and shell blocks start children of their own)."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: killed at the timeout
    out: str
    err: str  # empty when stderr went to `out`


def run_group(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float, *, merge: bool = False
) -> Finished:
    """Run `command` with no stdin; `merge`: stderr into `out`."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return Finished(proc.returncode, out, err or "")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Finished(None, out, err or "")
