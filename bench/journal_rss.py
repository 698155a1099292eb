"""The emulator's RSS after 10,000 requests of 64 KB bodies (issue 12, item 15).

    .venv/bin/python bench/journal_rss.py [--requests 10000] [--json FILE]

Starts `python -m emulator serve` as a subprocess twice, once with the journal bounded by count
only (`--journal-bytes` set far above what the run sends: what the emulator did before the byte
bound) and once with the default `journal_bytes` (64 MiB), sends the requests from this process
(a CleverTap `/1/upload?dryRun=1` of one 64 KB record: the journal keeps the request and the
answer, nothing else is stored) and prints the server's RSS before and after, the journal's
size, bytes and dropped count. A measurement, not a test: exits 0 either way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from control import (
    CT_HEADERS,
    HOST,
    MB,
    emulator_argv,
    fill,
    free_port,
    get_json,
    spawn,
    stop,
    wait_healthy,
)
from rawhttp import SyncConnection, build_request
from report import report_header

BODY_BYTES = 64 * 1024
UNBOUNDED = 1 << 40  # one TiB: the byte bound never applies


def body() -> bytes:
    """One record whose event property fills the body to 64 KB (kept whole: the journal's body
    cap is 64 KiB); CleverTap refuses the record (a value over 512 bytes), so nothing is stored
    and the answer echoes the record: the journal holds ~128 KB per request."""
    record = {"type": "event", "identity": "u1", "ts": 1_763_900_000, "evtName": "Big"}
    empty = len(orjson.dumps({"d": [record | {"evtData": {"p": ""}}]}))
    return orjson.dumps({"d": [record | {"evtData": {"p": "x" * (BODY_BYTES - empty)}}]})


def run(requests: int, journal_bytes: int | None) -> dict[str, Any]:
    port = free_port()
    argv = emulator_argv(port)
    if journal_bytes is not None:
        argv += ["--journal-bytes", str(journal_bytes)]
    proc = spawn(argv)
    try:
        wait_healthy(proc, port)
        server = psutil.Process(proc.pid)
        rss_before = server.memory_info().rss
        raw = build_request("POST", "/1/upload?dryRun=1", f"{HOST}:{port}", CT_HEADERS, body())
        seconds = fill(port, requests, [raw])
        rss_after = server.memory_info().rss
        conn = SyncConnection(HOST, port, timeout=30)
        try:
            journal = get_json(conn, "GET", "/_emulator/health")[1]["journal"]
        finally:
            conn.close()
        return {
            "journal_bytes": journal_bytes if journal_bytes is not None else "default",
            "requests": requests,
            "body_bytes": BODY_BYTES,
            "seconds": round(seconds, 2),
            "rss_before_mb": round(rss_before / MB, 1),
            "rss_after_mb": round(rss_after / MB, 1),
            "journal": journal,
        }
    finally:
        stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    rows = [run(args.requests, UNBOUNDED), run(args.requests, None)]
    print(f"{'journal bound':<24}{'RSS before':>12}{'RSS after':>12}{'kept':>8}{'dropped':>9}")
    for row in rows:
        label = "count only" if row["journal_bytes"] == UNBOUNDED else "count + 64 MiB"
        journal = row["journal"]
        print(
            f"{label:<24}{row['rss_before_mb']:>10} MB{row['rss_after_mb']:>10} MB"
            f"{journal['size']:>8}{journal['dropped']:>9}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps({**report_header(), "runs": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
