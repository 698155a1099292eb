"""The foundation's acceptance figures: start time, memory, journal query/reset/wait, storage.

    .venv/bin/python bench/control.py [--json FILE]

Each figure is measured from a separate client process over loopback, so query, reset and wait
times include the HTTP round trip (a few hundred µs), not only the emulator's work. Prints a
table with the targets and PASS/MISS, and exits 0 either way: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil

from emulator.config import DEFAULT_WORKSPACE

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from rawhttp import AsyncConnection, SyncConnection, build_request  # noqa: E402  (sibling)
from report import report_header  # noqa: E402  (sibling module)

HOST = "127.0.0.1"
JOURNAL_FILL = 10_000
CT_HEADERS = {
    "X-CleverTap-Account-Id": "EMU-TEST-0001",
    "X-CleverTap-Passcode": "emu-passcode",
    "Content-Type": "application/json",
}
MP_HEADERS = {
    "Authorization": "Basic " + base64.b64encode(b"emu-s2s-key:emu-s2s-secret").decode(),
    "Content-Type": "application/json",
}
CT_BODY = orjson.dumps(
    {"d": [{"type": "event", "identity": "u1", "ts": 1_763_900_000, "evtName": "x"}]}
)
MP_BODY = orjson.dumps(
    {
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "x", "custom_event_type": "other"},
            }
        ],
        "user_identities": {"customerid": "c1"},
    }
)
QUERY = "platform=clevertap&status=200"
MB = 1024 * 1024


def free_port() -> int:
    # The start-time trial must know the port before the process exists, to poll it at once.
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def emulator_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--quiet"]


def bare_argv(port: int) -> list[str]:
    return [sys.executable, str(BENCH / "bare_app.py"), "--port", str(port)]


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def health_ok(port: int) -> bool:
    """One GET /_emulator/health on a fresh connection; False while nothing listens."""
    try:
        conn = SyncConnection(HOST, port, timeout=5)
    except OSError:
        return False
    try:
        raw = build_request("GET", "/_emulator/health", f"{HOST}:{port}")
        return conn.request(raw).status == 200
    except OSError:
        return False
    finally:
        conn.close()


def wait_healthy(proc: subprocess.Popen[bytes], port: int, timeout: float = 30.0) -> float:
    """Seconds until the first 200 from health, polling every 5 ms."""
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if health_ok(port):
            return time.perf_counter() - started
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before answering")
        time.sleep(0.005)
    raise RuntimeError(f"no 200 from health within {timeout} s")


def start_time_trial(argv: Callable[[int], list[str]]) -> float:
    port = free_port()
    started = time.perf_counter()
    proc = spawn(argv(port))
    try:
        wait_healthy(proc, port)
        return time.perf_counter() - started
    finally:
        stop(proc)


# -- load helpers ----------------------------------------------------------------------------
def small_requests(port: int) -> list[bytes]:
    """Small valid platform requests: a 1-record CleverTap upload and a 1-event mParticle batch."""
    host = f"{HOST}:{port}"
    return [
        build_request("POST", "/1/upload", host, CT_HEADERS, CT_BODY),
        build_request("POST", "/v2/events", host, MP_HEADERS, MP_BODY),
    ]


def big_upload(port: int, records: int = 100) -> list[bytes]:
    """A CleverTap upload of `records` records with dryRun=1: the journal keeps it, nothing else."""
    items = [
        {"type": "event", "identity": f"u{i}", "ts": 1_763_900_000 + i, "evtName": "Viewed"}
        | {"evtData": {"sku": f"SKU-{i}", "price": 9.99, "qty": 1 + i % 4}}
        for i in range(records)
    ]
    body = orjson.dumps({"d": items})
    return [build_request("POST", "/1/upload?dryRun=1", f"{HOST}:{port}", CT_HEADERS, body)]


async def _fill(port: int, total: int, connections: int, requests: list[bytes]) -> dict[int, int]:
    """Send `total` requests, taking `requests` in turn."""
    counter = iter(range(total))
    statuses: dict[int, int] = {}

    async def worker() -> None:
        conn = await AsyncConnection.open(HOST, port)
        try:
            for i in counter:  # shared iterator: the workers split `total` between them
                reply = await conn.request(requests[i % len(requests)])
                statuses[reply.status] = statuses.get(reply.status, 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


def unthrottle(port: int) -> None:
    """The default workspace without its Events API rate limit (default 270 batches a second):
    the fill measures the journal, not 429s."""
    workspace = {**DEFAULT_WORKSPACE, "kind": "mparticle_workspace", "events_batches_per_second": 0}
    conn = SyncConnection(HOST, port)
    try:
        path = f"/_emulator/tenants/{workspace['id']}"
        headers = {"Content-Type": "application/json"}
        reply = conn.request(build_request("PUT", path, HOST, headers, orjson.dumps(workspace)))
        if reply.status != 200:
            raise RuntimeError(f"PUT {path} answered {reply.status}: {reply.body[:200]!r}")
    finally:
        conn.close()


def fill(port: int, total: int = JOURNAL_FILL, requests: list[bytes] | None = None) -> float:
    unthrottle(port)
    started = time.perf_counter()
    statuses = asyncio.run(_fill(port, total, 8, requests or small_requests(port)))
    elapsed = time.perf_counter() - started
    if set(statuses) - {200, 202}:
        raise RuntimeError(f"filling the journal got statuses {statuses}")
    return elapsed


def get_json(conn: SyncConnection, method: str, path: str) -> tuple[float, Any]:
    """Seconds for one request on a kept-alive connection, and its parsed body."""
    raw = build_request(method, path, HOST, {}, b"" if method == "POST" else None)
    started = time.perf_counter()
    reply = conn.request(raw)
    elapsed = time.perf_counter() - started
    if reply.status != 200:
        raise RuntimeError(f"{method} {path} answered {reply.status}: {reply.body[:200]!r}")
    return elapsed, orjson.loads(reply.body)


def journal_size(conn: SyncConnection) -> int:
    return int(get_json(conn, "GET", "/_emulator/health")[1]["journal"]["size"])


def reconnect(conn: SyncConnection, port: int) -> SyncConnection:
    """A fresh kept-alive connection: uvicorn drops idle ones after 5 s, as during a fill."""
    conn.close()
    fresh = SyncConnection(HOST, port)
    journal_size(fresh)  # warms the connection outside any timing
    return fresh


def timed_reset(conn: SyncConnection, expected: int = JOURNAL_FILL) -> float:
    """Seconds for POST /_emulator/reset, checking it removed `expected` entries."""
    if journal_size(conn) != expected:
        raise RuntimeError(f"the journal did not hold {expected} entries before reset")
    elapsed, body = get_json(conn, "POST", "/_emulator/reset")
    if body.get("journal_entries_removed") != expected:
        raise RuntimeError(f"reset removed {body}")
    return elapsed


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / MB


# -- wait wake-up ----------------------------------------------------------------------------
def wait_trial(port: int, conn: SyncConnection) -> float:
    """Seconds from the matching request's last byte sent to the long-poll's answer read."""
    since = int(get_json(conn, "GET", "/_emulator/health")[1]["journal"]["last_seq"])
    waiter = SyncConnection(HOST, port)
    sent = threading.Event()
    result: dict[str, Any] = {}

    def long_poll() -> None:
        path = f"/_emulator/requests/wait?path=/1/upload&since={since}&timeout=5"
        waiter.send(build_request("GET", path, HOST))
        sent.set()
        reply = waiter.read_reply()
        result["done"] = time.perf_counter()
        result["body"] = orjson.loads(reply.body)

    thread = threading.Thread(target=long_poll)
    thread.start()
    try:
        sent.wait(5)
        time.sleep(0.03)  # lets the server register the waiter before the match arrives
        conn.send(build_request("POST", "/1/upload", HOST, CT_HEADERS, CT_BODY))
        sent_at = time.perf_counter()
        reply = conn.read_reply()
        thread.join(10)
    finally:
        waiter.close()
    if reply.status != 200 or not result.get("body", {}).get("satisfied"):
        raise RuntimeError(f"wait trial failed: upload {reply.status}, wait {result.get('body')}")
    return float(result["done"] - sent_at)


# -- tinydb vs list --------------------------------------------------------------------------
def storage_costs(n: int = 2000) -> dict[str, float]:
    """Total seconds to add `n` small docs one at a time to each store."""
    from tinydb import TinyDB
    from tinydb.storages import JSONStorage, MemoryStorage

    docs = [
        {"seq": i, "platform": "clevertap", "path": "/1/upload", "status": 200, "tenant": "T1"}
        for i in range(n)
    ]
    costs: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ctmp-bench-") as tmp:
        db = TinyDB(Path(tmp) / "journal.json", storage=JSONStorage)
        started = time.perf_counter()
        for doc in docs:
            db.insert(doc)
        costs["tinydb JSONStorage (file)"] = time.perf_counter() - started
        db.close()
    mem = TinyDB(storage=MemoryStorage)
    started = time.perf_counter()
    for doc in docs:
        mem.insert(doc)
    costs["tinydb MemoryStorage"] = time.perf_counter() - started
    items: list[dict[str, Any]] = []
    started = time.perf_counter()
    for doc in docs:
        items.append(doc)
    costs["list.append"] = time.perf_counter() - started
    ring: deque[dict[str, Any]] = deque(maxlen=10_000)
    started = time.perf_counter()
    for doc in docs:
        ring.append(doc)
    costs["deque(maxlen).append (the journal)"] = time.perf_counter() - started
    return costs


# -- report ----------------------------------------------------------------------------------
@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "PASS" if self.value <= self.target else "MISS"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "target": self.target,
            "verdict": self.verdict or None,
            "note": self.note,
        }


def print_table(figures: list[Figure]) -> None:
    width = max(len(f.name) for f in figures)
    print(f"{'figure':<{width}}  {'measured':>12}  {'target':>10}  verdict  note")
    print("-" * (width + 50))
    for f in figures:
        target = "" if f.target is None else f"≤ {f.target:g} {f.unit}"
        print(
            f"{f.name:<{width}}  {f.value:>9.3f} {f.unit:<2}  {target:>10}  "
            f"{f.verdict:<7}  {f.note}"
        )


def median_max(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), max(values)


def measure(args: argparse.Namespace) -> list[Figure]:
    figures: list[Figure] = []
    ms = 1000.0

    print(f"(i) start → first 200 from health, {args.starts} runs ...", flush=True)
    starts = [start_time_trial(emulator_argv) for _ in range(args.starts)]
    bare_starts = [start_time_trial(bare_argv) for _ in range(args.starts)]
    figures.append(
        Figure(
            "(i) start → health 200 (median)",
            statistics.median(starts),
            "s",
            0.5,
            f"runs {', '.join(f'{s:.3f}' for s in starts)}; "
            f"bare app median {statistics.median(bare_starts):.3f} s",
        )
    )

    port = free_port()
    proc = spawn(emulator_argv(port))
    bare_port = free_port()
    bare = spawn(bare_argv(bare_port))
    try:
        wait_healthy(proc, port)
        wait_healthy(bare, bare_port)
        time.sleep(1.0)  # let start-up garbage settle before reading RSS
        bare_rss = rss_mb(bare.pid)
        stop(bare)
        figures.append(
            Figure(
                "(ii) idle RSS",
                rss_mb(proc.pid),
                "MB",
                80,
                f"bare Starlette app on uvicorn: {bare_rss:.1f} MB",
            )
        )

        conn = SyncConnection(HOST, port)
        # Reset on an empty emulator: the fixed cost (HTTP included) that (v) adds entries to.
        empty_resets = [get_json(conn, "POST", "/_emulator/reset")[0] * ms for _ in range(10)]

        print(f"(iii) filling the journal with {JOURNAL_FILL} requests ...", flush=True)
        fill_s = fill(port)
        conn = reconnect(conn, port)
        size = journal_size(conn)
        figures.append(
            Figure(
                "(iii) RSS with 10k journal entries",
                rss_mb(proc.pid),
                "MB",
                None,
                f"journal size {size}; filled in {fill_s:.2f} s "
                f"({JOURNAL_FILL / fill_s:.0f} req/s, 8 connections); "
                "includes 5k stored CleverTap records and 5k mParticle batches",
            )
        )

        print(f"(iv) journal queries, {args.trials} trials each ...", flush=True)
        for label, path in (
            ("requests", f"/_emulator/requests?{QUERY}&limit=100"),
            ("requests/count", f"/_emulator/requests/count?{QUERY}"),
        ):
            get_json(conn, "GET", path)  # first call outside the timing
            times, body = [], None
            for _ in range(args.trials):
                elapsed, body = get_json(conn, "GET", path)
                times.append(elapsed * ms)
            med, worst = median_max(times)
            matched = body.get("total", body.get("count")) if isinstance(body, dict) else None
            figures.append(
                Figure(
                    f"(iv) GET {label}?{QUERY} (median)",
                    med,
                    "ms",
                    50,
                    f"max {worst:.2f} ms; {matched} of {size} match; client side, incl. HTTP",
                )
            )

        print(f"(vi) requests/wait wake-up, {args.wait_trials} trials ...", flush=True)
        wakes = [wait_trial(port, conn) * ms for _ in range(args.wait_trials)]
        med, worst = median_max(wakes)
        figures.append(
            Figure(
                "(vi) requests/wait wake-up (max)",
                worst,
                "ms",
                50,
                f"median {med:.2f} ms over {len(wakes)}; match sent → wait answer read; "
                f"journal at {journal_size(conn)} entries",
            )
        )

        print(f"(v) reset with {JOURNAL_FILL} entries, {args.reset_trials} trials ...", flush=True)
        resets = []
        for _ in range(args.reset_trials):
            fill(port)
            conn = reconnect(conn, port)
            resets.append(timed_reset(conn) * ms)
        med, worst = median_max(resets)
        figures.append(
            Figure(
                "(v) POST reset with 10k entries (median)",
                med,
                "ms",
                10,
                f"max {worst:.2f} ms; empty-journal reset {statistics.median(empty_resets):.2f} ms;"
                " client side, incl. HTTP; also frees the stored records",
            )
        )

        if args.big_fill:
            # Not a target: shows the journal is bounded by entries, not bytes. dryRun=1 keeps
            # the uploads out of the CleverTap store, so the growth is the journal's alone.
            print(f"(viii) journal of {args.big_fill} 100-record uploads ...", flush=True)
            before = rss_mb(proc.pid)
            fill_s = fill(port, args.big_fill, big_upload(port))
            conn = reconnect(conn, port)
            after = rss_mb(proc.pid)
            reset_ms = timed_reset(conn, args.big_fill) * ms
            figures.append(
                Figure(
                    f"(viii) RSS, journal of {args.big_fill} 100-record uploads",
                    after,
                    "MB",
                    None,
                    f"+{after - before:.0f} MB; body {len(big_upload(port)[0]) // 1024} KB; "
                    f"filled at {args.big_fill / fill_s:.0f} req/s; reset then {reset_ms:.1f} ms",
                )
            )
        conn.close()
    finally:
        stop(proc)
        stop(bare)

    print("(vii) tinydb vs in-memory append, 2000 docs ...", flush=True)
    for store, seconds in storage_costs().items():
        figures.append(
            Figure(
                f"(vii) {store}, per record",
                seconds / 2000 * 1e6,
                "µs",
                None,
                f"total {seconds * ms:.2f} ms for 2000",
            )
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The foundation's acceptance figures")
    parser.add_argument("--starts", type=int, default=5, help="start-time runs")
    parser.add_argument("--trials", type=int, default=20, help="query trials")
    parser.add_argument("--reset-trials", type=int, default=5)
    parser.add_argument("--wait-trials", type=int, default=20)
    parser.add_argument(
        "--big-fill",
        type=int,
        default=JOURNAL_FILL,
        help="journal entries of 100-record uploads for the memory figure (0 skips it)",
    )
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    # Other work on the machine skews every figure; this says how busy it was.
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    figures = measure(args)
    print()
    print_table(figures)
    if args.json is not None:
        report = {
            **report_header(),
            "figures": [f.as_dict() for f in figures],
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")
    return 0  # a measurement: a MISS is reported, not failed


if __name__ == "__main__":
    sys.exit(main())
