"""Ingestion latency while the state is saved (issue 12, item 14).

    .venv/bin/python bench/save_latency.py [--state-mb 80] [--saves 5] [--json FILE]   # ~1-2 min

Starts `python -m emulator serve --data-file ... --quiet` (background saves off: saves happen
only when asked), fills the state with 100-record CleverTap uploads until a save writes
`--state-mb` MB, then, from this second process, sends 1-record uploads one at a time on a
keep-alive connection at a fixed rate (`--rate`, 500/s; each latency counted from when the
request was due): first with no save running (baseline), then while a thread asks for
`--saves` saves back to back (`POST /_emulator/state/save`). Printed: state size, save time,
and the uploads' p50/p99/max in both phases. Target: p99 during saves under 50 ms.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from control import CT_HEADERS, HOST, free_port, spawn, stop, wait_healthy  # noqa: E402
from loadgen import percentile  # noqa: E402
from rawhttp import SyncConnection, build_request  # noqa: E402
from report import report_header  # noqa: E402
from run import clevertap_records  # noqa: E402

TARGET_P99_MS = 50.0
MB = 1024 * 1024


def upload(host: str, body: bytes) -> bytes:
    headers = {**CT_HEADERS, "Content-Type": "application/json"}
    return build_request("POST", "/1/upload", host, headers, body)


def fill(conn: SyncConnection, host: str, target_bytes: int) -> int:
    """Upload 100-record bodies until a save writes `target_bytes`; answers the saved size."""
    big = upload(host, clevertap_records(100))
    save = build_request("POST", "/_emulator/state/save", host, {}, b"")
    size = 0
    while size < target_bytes:
        for _ in range(200):
            assert conn.request(big).status == 200
        reply = conn.request(save)
        assert reply.status == 200, reply.body[:200]
        size = int(orjson.loads(reply.body)["bytes"])
        print(f"  state {size / MB:.1f} MB", flush=True)
    return size


def latencies(
    conn: SyncConnection, raw: bytes, until: threading.Event | float, rate: float
) -> list[float]:
    """Milliseconds per request at a fixed `rate` per second, one connection, until the event
    is set (or for N seconds). Each latency counts from when the request was due, not from when
    it could be sent: a stalled server delays every request due meanwhile, as it would for a
    client that does not wait for the previous answer (no coordinated omission)."""
    out: list[float] = []
    interval = 1.0 / rate
    start = time.perf_counter()
    deadline = start + until if isinstance(until, float) else None
    for n in itertools.count():
        due = start + n * interval
        if deadline is not None and due >= deadline:
            return out
        if isinstance(until, threading.Event) and until.is_set():
            return out
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        assert conn.request(raw).status == 200
        out.append((time.perf_counter() - due) * 1000)
    return out


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 50), 2),
        "p99_ms": round(percentile(ordered, 99), 2),
        "max_ms": round(ordered[-1], 2),
    }


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    port = free_port()
    host = f"{HOST}:{port}"
    config = workdir / "bench.toml"
    config.write_text("[emulator]\npersist_interval = 86400\n", encoding="utf-8")
    argv = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--quiet"]
    argv += ["--config", str(config), "--data-file", str(workdir / "state.json")]
    proc = spawn(argv)
    try:
        wait_healthy(proc, port)
        conn = SyncConnection(HOST, port, timeout=120)
        print(f"filling to {args.state_mb} MB ...", flush=True)
        size = fill(conn, host, args.state_mb * MB)
        small = upload(host, clevertap_records(1))
        baseline = latencies(conn, small, 3.0, args.rate)

        saves: list[float] = []
        done = threading.Event()

        def saver() -> None:
            other = SyncConnection(HOST, port, timeout=120)
            save = build_request("POST", "/_emulator/state/save", host, {}, b"")
            for _ in range(args.saves):
                started = time.perf_counter()
                reply = other.request(save)
                assert reply.status == 200, reply.body[:200]
                saves.append((time.perf_counter() - started) * 1000)
            other.close()
            done.set()

        thread = threading.Thread(target=saver)
        thread.start()
        during = latencies(conn, small, done, args.rate)
        thread.join()
        conn.close()
    finally:
        stop(proc)
    return {
        **report_header(),
        "state_bytes": size,
        "save_ms": summary(saves),
        "ingestion_idle": summary(baseline),
        "ingestion_during_saves": summary(during),
        "rate_per_s": args.rate,
        "target_p99_ms": TARGET_P99_MS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-mb", type=int, default=80)
    parser.add_argument("--saves", type=int, default=5)
    parser.add_argument("--rate", type=float, default=500.0, help="uploads per second (500)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args, Path(tmp))
    during = result["ingestion_during_saves"]
    print(f"state {result['state_bytes'] / MB:.1f} MB; save {result['save_ms']}")
    print(f"1-record uploads, idle:         {result['ingestion_idle']}")
    print(f"1-record uploads, during saves: {during}")
    verdict = "PASS" if during["p99_ms"] < TARGET_P99_MS else "MISS"
    print(f"p99 during saves {during['p99_ms']} ms (target < {TARGET_P99_MS} ms): {verdict}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
