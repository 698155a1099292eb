"""`ctmp-emulator record --url URL --out FILE`: record a scenario on a running emulator until
Ctrl-C (SIGINT) or SIGTERM, then write it (the control API's `scenarios/record` operations,
admin/record.py, do the work)."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

RECORD = "/_emulator/scenarios/record"


def record(
    url: str,
    out: Path,
    name: str | None = None,
    description: str | None = None,
    tenants: list[str] | None = None,
    token: str | None = None,
) -> int:
    """Exit status: 0 written, 1 the emulator refused (a recording already running, no
    emulator at `url`)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    headers = {"x-emulator-token": token} if token else {}
    body: dict[str, Any] = {"name": name or out.stem}
    if description:
        body["description"] = description
    if tenants:
        body["tenants"] = tenants
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60) as client:
            try:
                started = client.post(RECORD, json=body)
            except httpx.HTTPError as exc:
                return _fail(f"no emulator at {url}: {exc}")
            if started.status_code != 201:
                return _fail(f"cannot start recording: {started.status_code} {started.text}")
            print(f"recording {body['name']!r} on {url}; stop with Ctrl-C", flush=True)
            while not stop.wait(0.2):
                pass
            stopped = client.post(RECORD + "/stop")
            if stopped.status_code != 200:
                return _fail(f"cannot stop recording: {stopped.status_code} {stopped.text}")
            out.write_text(stopped.text, encoding="utf-8")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"wrote {out}", flush=True)
    return 0


def _fail(message: str) -> int:
    print(f"ctmp-emulator record: {message}", file=sys.stderr)
    return 1
