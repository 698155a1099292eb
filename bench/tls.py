"""What HTTPS costs (`serve --tls`, issue 16): the TLS handshake, and a small upload over
HTTPS keep-alive against plain HTTP, in the same invocation on the same emulator.

    .venv/bin/python bench/tls.py [--duration 5] [--connections 16] [--handshakes 500] [--json FILE]

One emulator (`python -m emulator serve --tls --quiet`, CA in a temp directory) serves both
ports; this second process is the load. First, `--handshakes` new connections one after the
other on each port: TCP connect alone (plain) against TCP connect plus the TLS handshake (TLS,
as `eu1.api.clevertap.com`, trusting only the emulator's CA), then the same with one 1-record
CleverTap upload on each fresh connection (a client that never keeps a connection alive).
Then a 1-record upload over `--connections` keep-alive connections for `--duration` seconds
on each port (`bench/loadgen.py`: one request in flight per connection, warm-up first).
Printed: per row, requests (or connections) per second, latency percentiles and the emulator's
CPU time per request (or connection, from /proc: the client's share of the shared cores is not
the server's cost); the TLS/plain ratios and differences are the cost of HTTPS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from control import CT_HEADERS, HOST, free_port, stop, wait_healthy  # noqa: E402
from loadgen import percentile, run  # noqa: E402
from rawhttp import AsyncConnection, build_request  # noqa: E402
from report import report_header  # noqa: E402
from run import clevertap_records, reset_emulator  # noqa: E402

NAME = "eu1.api.clevertap.com"  # the default account's region host


def start(tmp: Path) -> tuple[subprocess.Popen[bytes], int, int, Path]:
    port = free_port()
    argv = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--quiet"]
    argv += ["--tls", "--tls-port", "0", "--ca-dir", str(tmp)]
    proc = subprocess.Popen(
        argv, cwd=BENCH.parent, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # ready on http://...
    https = proc.stdout.readline().decode()
    match = re.search(r"https://127\.0\.0\.1:(\d+) .*trust the CA (\S+)", https)
    if not match:
        stop(proc)
        raise SystemExit(f"no https line from the emulator: {https!r}")
    wait_healthy(proc, port)
    return proc, port, int(match[1]), Path(match[2])


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, work: Any) -> dict[str, Any]:
    """`work()`'s figures, with the emulator's CPU time per request (or connection) added."""
    before = cpu_seconds(pid)
    result: dict[str, Any] = work()
    spent = cpu_seconds(pid) - before
    count = result.get("requests", result.get("count", 0))
    result["server_cpu_ms_each"] = round(spent * 1000 / max(count, 1), 3)
    return result


def figures(seconds: list[float], elapsed: float) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "count": len(ms),
        "per_s": round(len(ms) / elapsed, 1),
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(ms[-1], 3),
    }


async def fresh_connections(
    port: int, count: int, tls: ssl.SSLContext | None, raw: bytes | None
) -> dict[str, Any]:
    """`count` connections one after the other: open (and handshake), optionally one request,
    close. Latency is per connection, from connect to its answer (or to the handshake's end)."""
    spent: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for _ in range(count):
        begun = time.perf_counter()
        conn = await AsyncConnection.open(HOST, port, tls, NAME if tls else "")
        if raw is not None:
            reply = await conn.request(raw)
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
        spent.append(time.perf_counter() - begun)
        conn.close()
    result = figures(spent, time.perf_counter() - started)
    if statuses:
        result["statuses"] = {str(k): v for k, v in statuses.items()}
    return result


def fresh_rows(
    pid: int, side: str, port: int, tls: ssl.SSLContext | None, raw: bytes, count: int
) -> dict[str, dict[str, Any]]:
    asyncio.run(fresh_connections(port, 50, tls, raw))  # warm-up
    return {
        f"connect/{side}": measured(
            pid, lambda: asyncio.run(fresh_connections(port, count, tls, None))
        ),
        f"connect+upload/{side}": measured(
            pid, lambda: asyncio.run(fresh_connections(port, count, tls, raw))
        ),
    }


def keep_alive_row(
    pid: int, port: int, tls: ssl.SSLContext | None, raw: bytes, args: argparse.Namespace
) -> dict[str, Any]:
    name = NAME if tls else ""
    asyncio.run(run(HOST, port, raw, args.connections, args.warmup, 10**9, tls, name))
    return measured(
        pid,
        lambda: asyncio.run(
            run(HOST, port, raw, args.connections, args.duration, 10**9, tls, name)
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--handshakes", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, tls_port, ca = start(Path(tmp))
        try:
            reset_emulator(port)  # the upload concurrency limit off: 16 connections, not 429s
            context = ssl.create_default_context(cafile=str(ca))
            body = clevertap_records(1)
            plain_raw = build_request("POST", "/1/upload", f"{HOST}:{port}", CT_HEADERS, body)
            tls_raw = build_request("POST", "/1/upload", NAME, CT_HEADERS, body)
            sides = {"plain": (port, None, plain_raw), "tls": (tls_port, context, tls_raw)}
            for side, (p, tls, raw) in sides.items():
                results.update(fresh_rows(proc.pid, side, p, tls, raw, args.handshakes))
            for side, (p, tls, raw) in sides.items():
                results[f"keep-alive upload/{side}"] = keep_alive_row(proc.pid, p, tls, raw, args)
        finally:
            stop(proc)
    head = f"{'row':<28}{'per s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'cpu ms':>9}"
    print(head + "  statuses")
    for row, f in results.items():
        rate = f.get("rps", f.get("per_s"))
        print(
            f"{row:<28}{rate:>8.0f}{f['p50_ms']:>9.3f}{f['p90_ms']:>9.3f}{f['p99_ms']:>9.3f}"
            f"{f['server_cpu_ms_each']:>9.3f}  {f.get('statuses', '')}"
        )
    for row in ("connect", "connect+upload", "keep-alive upload"):
        plain, tls = results[f"{row}/plain"], results[f"{row}/tls"]
        rate = tls.get("rps", tls.get("per_s")) / max(plain.get("rps", plain.get("per_s")), 1e-9)
        extra = tls["p50_ms"] - plain["p50_ms"]
        cpu = tls["server_cpu_ms_each"] - plain["server_cpu_ms_each"]
        print(
            f"{row:<28}tls/plain per s {rate:.2f}, p50 {extra:+.3f} ms, "
            f"emulator CPU {cpu:+.3f} ms each"
        )
    if args.json is not None:
        out = {**report_header(), "connections": args.connections, "figures": results}
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
