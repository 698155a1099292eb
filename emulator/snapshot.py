"""Saving the state from a forked child: the snapshot without the pause.

Building and encoding an 80 MB state document holds the interpreter for about a second, and a
worker thread does not help (orjson holds the GIL while it encodes). A forked child gets the
state as it is at the fork, copy-on-write, so the document it writes is exactly the state
between two requests, built and encoded on another core while the parent goes on serving; the
parent's pause is the fork alone (page tables: milliseconds). This is how Redis saves
(`BGSAVE`, https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/).

The child touches nothing but the state, the file and a pipe: no logging, no event loop, no
imports (each could wait for a lock another thread of the parent held at the fork). It dies with
the parent (Linux `PR_SET_PDEATHSIG`), so a save begun before a kill -9 cannot rename an older
state over a file a restarted emulator has since written.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from emulator.core.store import Document, encode, write_atomic

FORKS = hasattr(os, "fork")
_PR_SET_PDEATHSIG = 1
# Loaded here, not in the child: dlopen takes the loader's lock, which another thread of the
# parent may hold at the fork.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class SnapshotError(RuntimeError):
    """The child could not write the state; the message is its cause."""


def row_counts(document: Document) -> dict[str, int]:
    return {k: len(v) for k, v in document.items() if k != "_meta"}


async def save_in_child(build: Callable[[], Document], path: Path) -> tuple[int, dict[str, int]]:
    """Fork; the child writes `build()` to `path` atomically. Answers the bytes written and the
    rows per table, or raises `SnapshotError` with the child's reason."""
    parent = os.getpid()
    read_end, write_end = os.pipe()
    # Objects moved to the permanent generation are not traversed by the collector: a full
    # collection in the parent while the child runs would otherwise write to every object's
    # header and copy the whole heap (https://docs.python.org/3/library/gc.html#gc.freeze).
    # Acyclic garbage is still freed by reference counting.
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends in os._exit, coverage never sees it
        os.close(read_end)
        _child(build, path, write_end, parent)
    os.close(write_end)
    report = await asyncio.to_thread(_collect, read_end, pid)
    if "error" in report:
        raise SnapshotError(report["error"])
    return int(report["bytes"]), dict(report["tables"])


def _child(build: Callable[[], Document], path: Path, out: int, parent: int) -> None:
    code = 0
    try:
        gc.disable()  # a collection would touch (and so copy) every page of the parent's heap
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)  # the parent's handlers would stop the server
        _die_with(parent)
        with contextlib.suppress(OSError):
            os.nice(10)  # on a busy machine the serving parent comes first
        document = build()
        data = encode(document)
        write_atomic(path, data)
        report: dict[str, Any] = {"bytes": len(data), "tables": row_counts(document)}
    except BaseException as exc:  # everything goes back to the parent as the cause
        code = 1
        if isinstance(exc, OSError) and exc.strerror:
            report = {"error": f"{exc.strerror} ({type(exc).__name__}, errno {exc.errno})"}
        else:
            report = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        os.write(out, orjson.dumps(report))
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    if _LIBC is not None:
        with contextlib.suppress(OSError, AttributeError):
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _collect(read_end: int, pid: int) -> dict[str, Any]:
    """The child's report, once it has exited (in a worker thread: this blocks)."""
    chunks = []
    try:
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if chunks:
        return orjson.loads(b"".join(chunks))  # type: ignore[no-any-return]
    if os.WIFSIGNALED(status):
        return {"error": f"the saving process was killed by signal {os.WTERMSIG(status)}"}
    return {"error": f"the saving process exited with status {os.waitstatus_to_exitcode(status)}"}
