"""Throughput of `--durability interval` (the default) and `--durability always` (issue 12,
item 13).

    .venv/bin/python bench/durability.py [--duration 5] [--connections 16] [--json FILE]   # ~30 s

For each mode, one after the other in the same invocation: start `python -m emulator serve
--data-file ... --durability MODE --quiet` on a fresh temp directory, then from this second
process drive 1-record and 100-record CleverTap uploads (`bench/loadgen.py`: N keep-alive
connections, one request in flight on each, warm-up then a timed run). Printed per mode and
body: req/s, p50, p99 and the statuses; the always/interval ratio is the cost of an fsync per
group of requests on this machine's disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from control import CT_HEADERS, HOST, free_port, spawn, stop, wait_healthy  # noqa: E402
from loadgen import run  # noqa: E402
from rawhttp import build_request  # noqa: E402
from report import report_header  # noqa: E402
from run import clevertap_records, reset_emulator  # noqa: E402

MODES = ("interval", "always")
BODIES = {"ct-upload-1": 1, "ct-upload-100": 100}


def measure_mode(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        argv = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--quiet"]
        argv += ["--data-file", str(Path(tmp) / "state.json"), "--durability", mode]
        proc = spawn(argv)
        try:
            wait_healthy(proc, port)
            reset_emulator(port)  # the upload concurrency limit off: 16 connections, not 429s
            for name, records in BODIES.items():
                raw = build_request(
                    "POST", "/1/upload", f"{HOST}:{port}", CT_HEADERS, clevertap_records(records)
                )
                asyncio.run(run(HOST, port, raw, args.connections, args.warmup, 10**9))
                results[name] = asyncio.run(
                    run(HOST, port, raw, args.connections, args.duration, 10**9)
                )
        finally:
            stop(proc)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = {mode: measure_mode(mode, args) for mode in MODES}
    print(f"{'scenario':<16}{'mode':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  statuses")
    for name in BODIES:
        for mode in MODES:
            f = figures[mode][name]
            print(
                f"{name:<16}{mode:<10}{f['rps']:>10.0f}{f['p50_ms']:>10.2f}{f['p99_ms']:>10.2f}"
                f"  {f['statuses']}"
            )
        ratio = figures["always"][name]["rps"] / max(figures["interval"][name]["rps"], 1e-9)
        print(f"{name:<16}always/interval req/s {ratio:.2f}")
    if args.json is not None:
        out = {**report_header(), "connections": args.connections, "figures": figures}
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
