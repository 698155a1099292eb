"""Python load generator: the fallback for `run.py` when `wrk` is not installed.

Runs as its own process (so it never shares an event loop or the GIL with a server) and keeps
N keep-alive HTTP/1.1 connections busy for a fixed time, each with one request in flight, and
prints one JSON object: requests, req/s, latency percentiles (ms), statuses and errors.

    python bench/loadgen.py --port 8787 --method POST --path /1/upload \
        --header 'Content-Type: application/json' --body-file body.json --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rawhttp import AsyncConnection, build_request  # sibling module, found via sys.path

# Stops a run whatever the duration says; far above what one Python server serves in a minute.
DEFAULT_MAX_REQUESTS = 2_000_000


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def _worker(
    host: str,
    port: int,
    raw: bytes,
    deadline: float,
    budget: list[int],
    latencies: list[float],
    statuses: Counter[int],
    errors: Counter[str],
    tls: ssl.SSLContext | None,
    server_name: str,
) -> None:
    try:
        conn = await AsyncConnection.open(host, port, tls, server_name)
    except OSError as exc:
        errors[f"connect: {exc}"] += 1
        return
    perf = time.perf_counter
    try:
        while budget[0] > 0 and perf() < deadline:
            budget[0] -= 1
            started = perf()
            try:
                reply = await conn.request(raw)
            except (OSError, ValueError) as exc:
                errors[type(exc).__name__] += 1
                break
            latencies.append(perf() - started)
            statuses[reply.status] += 1
    finally:
        conn.close()


async def run(
    host: str,
    port: int,
    raw: bytes,
    connections: int,
    duration: float,
    max_requests: int,
    tls: ssl.SSLContext | None = None,
    server_name: str = "",
) -> dict[str, Any]:
    """`tls`: over TLS (each connection handshakes once, as `server_name`, then keeps alive)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    budget = [max_requests]
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(
            _worker(
                host, port, raw, deadline, budget, latencies, statuses, errors, tls, server_name
            )
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return {
        "tool": "python-loadgen",
        "requests": len(latencies),
        "duration_s": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(ms[-1], 3) if ms else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
    }


def _event_loop_runner() -> Any:
    # uvloop makes the client cheaper, which leaves more of the shared CPU to the server.
    try:
        import uvloop

        return uvloop.run
    except ImportError:
        return asyncio.run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--body-file", type=Path)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=DEFAULT_MAX_REQUESTS)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("load is only ever sent to loopback")
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    body = args.body_file.read_bytes() if args.body_file else None
    raw = build_request(args.method, args.path, f"{args.host}:{args.port}", headers, body)
    result = _event_loop_runner()(
        run(args.host, args.port, raw, args.connections, args.duration, args.max_requests)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
