"""Forwarding latency: an mParticle batch accepted → its records visible in CleverTap.

    .venv/bin/python bench/bridge_latency.py [--trials 500] [--json FILE]

The emulator runs as its own process with the default tenants (the default connection forwards
every batch to the default CleverTap account). This client process, over loopback:

- baseline: `POST /_emulator/bridge/settle` with nothing pending, the measuring stick's own cost;
- light load: one batch at a time: send it, read the 202, then settle. Latency is from the 202
  read to settle's answer read, which comes once the upload to CleverTap has been answered (its
  records applied); it includes one settle round trip, so it over-states by about the baseline;
- busy: the same while a second process keeps the emulator busy with batches at a fixed rate.

At the end every batch must be visible: the CleverTap account's event count is checked. Prints
p50/p90/p99/max per scenario and exits 0 (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from control import (  # noqa: E402  (sibling script)
    HOST,
    MP_HEADERS,
    emulator_argv,
    free_port,
    spawn,
    stop,
    wait_healthy,
)
from loadgen import percentile  # noqa: E402
from rawhttp import SyncConnection, build_request  # noqa: E402
from report import report_header  # noqa: E402

TARGET_P99_MS = 20.0
SETTLE = build_request("POST", "/_emulator/bridge/settle?timeout=10", HOST, {}, b"")


def batch(i: int) -> bytes:
    return orjson.dumps(
        {
            "user_identities": {"customerid": f"bench-{i % 50}", "email": f"b{i % 50}@x.io"},
            "user_attributes": {"plan": "pro", "visits": i},
            "events": [
                {
                    "event_type": "custom_event",
                    "data": {
                        "event_name": "Played",
                        "custom_event_type": "other",
                        "custom_attributes": {"song": f"s{i}", "n": i},
                    },
                },
                {"event_type": "screen_view", "data": {"screen_name": "Home"}},
            ],
        }
    )


def settle(conn: SyncConnection) -> None:
    reply = conn.request(SETTLE)
    if reply.status != 200 or not orjson.loads(reply.body)["settled"]:
        raise RuntimeError(f"settle failed: {reply.status} {reply.body[:200]!r}")


def baseline(conn: SyncConnection, trials: int) -> list[float]:
    out = []
    for _ in range(trials):
        started = time.perf_counter()
        settle(conn)
        out.append(time.perf_counter() - started)
    return out


def forwarded(conn: SyncConnection, trials: int, first: int) -> list[float]:
    out = []
    for i in range(first, first + trials):
        reply = conn.request(build_request("POST", "/v2/events", HOST, MP_HEADERS, batch(i)))
        accepted = time.perf_counter()
        if reply.status != 202:
            raise RuntimeError(f"batch {i}: {reply.status} {reply.body[:200]!r}")
        settle(conn)
        out.append(time.perf_counter() - accepted)
    return out


def background_load(port: int, rate: int, seconds: float) -> subprocess.Popen[bytes]:
    """A second process posting batches at `rate` per second (other users of the emulator)."""
    code = f"""
import sys, time
sys.path.insert(0, {str(BENCH)!r})
from control import HOST, MP_HEADERS
from rawhttp import SyncConnection, build_request
from bridge_latency import batch
conn = SyncConnection(HOST, {port})
end = time.perf_counter() + {seconds}
i, step = 0, 1 / {rate}
nxt = time.perf_counter()
while time.perf_counter() < end:
    conn.request(build_request("POST", "/v2/events", HOST, MP_HEADERS, batch(100000 + i)))
    i += 1
    nxt += step
    time.sleep(max(0.0, nxt - time.perf_counter()))
print(i)
"""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)


def figures(name: str, seconds: list[float]) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "scenario": name,
        "trials": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(ms[-1], 3),
    }


def event_count(conn: SyncConnection) -> int:
    path = "/_emulator/clevertap/EMU-TEST-0001/events?event_name=Played&limit=1"
    reply = conn.request(build_request("GET", path, HOST))
    return int(orjson.loads(reply.body)["total"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--busy-rate", type=int, default=200, help="batches/s from the loader")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    port = free_port()
    proc = spawn(emulator_argv(port))
    rows = []
    try:
        wait_healthy(proc, port)
        conn = SyncConnection(HOST, port)
        for i in range(20):  # warm-up: the first requests build caches and the client
            conn.request(build_request("POST", "/v2/events", HOST, MP_HEADERS, batch(i)))
            settle(conn)
        rows.append(figures("baseline: settle, nothing pending", baseline(conn, args.trials)))
        rows.append(figures("light load: accepted → visible", forwarded(conn, args.trials, 20)))
        seconds = max(3.0, args.trials * 0.004)
        loader = background_load(port, args.busy_rate, seconds)
        time.sleep(0.3)
        busy = forwarded(conn, args.trials, 20 + args.trials)
        out, _ = loader.communicate(timeout=seconds + 30)
        rows.append(figures(f"busy ({args.busy_rate} batches/s alongside)", busy))
        settle(conn)
        sent_by_loader = int(out.strip() or 0)
        expected = 20 + 2 * args.trials + sent_by_loader
        visible = event_count(conn)
        conn.close()
    finally:
        stop(proc)
    print(f"{'scenario':44} {'n':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for row in rows:
        print(
            f"{row['scenario']:44} {row['trials']:>5} {row['p50_ms']:>8} {row['p90_ms']:>8} "
            f"{row['p99_ms']:>8} {row['max_ms']:>8}"
        )
    light = rows[1]["p99_ms"]
    verdict = "PASS" if light <= TARGET_P99_MS else "MISS"
    print(f"\nlight-load p99 {light} ms (target {TARGET_P99_MS} ms): {verdict}")
    print(f"events visible in CleverTap: {visible} of {expected} sent")
    if args.json is not None:
        report = {**report_header(), "figures": rows, "visible": visible, "expected": expected}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
