"""The web inspector's two acceptance figures, in one invocation (issue 14):

1. **What an open journal page costs ingestion.** One emulator (`serve --port 0 --quiet`), the
   scenarios of `run.py` driven from another process (`wrk` or `loadgen.py`), each measured
   alternately without and with a subscriber on the journal's event stream
   (`GET /_emulator/ui/journal/stream`, read by a third process as a browser tab would), `--rounds`
   times each, so machine noise hits both alike. Printed: req/s, p50, p99 of the best round of
   each, the throughput lost with the subscriber (best against best, and median against median
   of the rounds) and, steadier on a shared machine, the server process's CPU time per request
   (psutil; median of the rounds) with and without the subscriber.
2. **The journal page with 10,000 entries.** The journal filled with 10,000 requests (its default
   capacity), then `bench/inspector_page.mjs` opens the journal page (and a filtered list, and an
   entry's detail) in headless Chromium through playwright-core, `--page-loads` times each, and
   reports Navigation Timing: time to DOMContentLoaded (the page is interactive: its script runs
   then) and to the first row shown.

    .venv/bin/python bench/inspector.py                      # both, 5 s runs, 3 rounds
    .venv/bin/python bench/inspector.py --duration 3 --rounds 2 --json /tmp/inspector.json
    .venv/bin/python bench/inspector.py --skip-page           # only the ingestion cost
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from report import report_header  # noqa: E402  (sibling module)
from run import (  # noqa: E402  (sibling module)
    HOST,
    SCENARIOS,
    Load,
    Scenario,
    Server,
    one_request,
    reset_emulator,
)

STREAM = "/_emulator/ui/journal/stream"
DEFAULT_SCENARIOS = ("ct-upload-1", "mp-events-5")
JOURNAL_ENTRIES = 10_000


# -- the subscriber: a process that reads the stream as a browser tab does -----------------------
def subscribe(port: int) -> int:
    """Read the event stream until SIGTERM; print what came (bytes, row messages)."""
    sock = socket.create_connection((HOST, port))
    head = f"GET {STREAM} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n\r\n"
    sock.sendall(head.encode())
    got = {"bytes": 0, "row_messages": 0}
    stop = False

    def end(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, end)
    sock.settimeout(0.2)
    print("subscribed", flush=True)
    while not stop:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        got["bytes"] += len(chunk)
        got["row_messages"] += chunk.count(b"event: rows")
    print(json.dumps(got), flush=True)
    return 0


class Subscriber:
    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--subscribe", str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "subscribed":
            raise RuntimeError(f"the subscriber did not start: {line!r}")

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10)
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result


# -- 1. ingestion with and without a subscriber --------------------------------------------------
def cpu_seconds(pid: int) -> float:
    import psutil  # the project's `test` extra

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def measure(
    load: Load, port: int, pid: int, scenario: Scenario, args: argparse.Namespace
) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "subscriber": []}
    seen: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        # Alternate which goes first, so a trend in the machine's load favours neither.
        order = ("baseline", "subscriber") if round_ % 2 == 0 else ("subscriber", "baseline")
        for kind in order:
            reset_emulator(port, scenario.forwarding)
            subscriber = Subscriber(port) if kind == "subscriber" else None
            try:
                if args.warmup > 0:
                    load.drive(port, scenario, args.warmup)
                cpu_before = cpu_seconds(pid)
                result = load.drive(port, scenario, args.duration)
                # The server's own CPU time per request: what the subscriber adds to the work,
                # whatever else the machine runs (throughput swings with the other load).
                used = cpu_seconds(pid) - cpu_before
                result["cpu_us_per_request"] = round(used / max(1, result["requests"]) * 1e6, 1)
            finally:
                if subscriber is not None:
                    seen.append(subscriber.stop())
            runs[kind].append(result)
            print(
                f"  {scenario.name} round {round_ + 1} {kind:<10} {result['rps']:8.0f} req/s "
                f"p50 {result['p50_ms']:.2f} ms p99 {result['p99_ms']:.2f} ms "
                f"server CPU {result['cpu_us_per_request']:.0f} us/request",
                flush=True,
            )
    best = {k: max(v, key=lambda r: r["rps"]) for k, v in runs.items()}
    base, sub = best["baseline"], best["subscriber"]
    medians = {k: statistics.median(r["rps"] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r["cpu_us_per_request"] for r in v) for k, v in runs.items()}
    return {
        "name": scenario.name,
        "baseline": base,
        "subscriber": sub,
        "rounds": runs,
        "stream_received": seen,
        "median_rps": medians,
        "median_cpu_us_per_request": cpu,
        "cost": {
            "rps_pct": round((1 - sub["rps"] / base["rps"]) * 100, 2),
            "median_rps_pct": round((1 - medians["subscriber"] / medians["baseline"]) * 100, 2),
            "cpu_per_request_pct": round((cpu["subscriber"] / cpu["baseline"] - 1) * 100, 2),
            "p50_pct": round((sub["p50_ms"] / base["p50_ms"] - 1) * 100, 2),
            "p99_pct": round((sub["p99_ms"] / base["p99_ms"] - 1) * 100, 2),
        },
    }


# -- 2. the journal page with 10,000 entries -----------------------------------------------------
def fill_journal(port: int, workdir: Path) -> int:
    """10,000 small uploads through the load generator; answer how many entries the journal
    holds."""
    reset_emulator(port)
    scenario = next(s for s in SCENARIOS if s.name == "ct-upload-1")
    Load("python", 16, 1, JOURNAL_ENTRIES, workdir).drive(port, scenario, 120)
    # Some invalid ones among them, for the filtered list (valid=false) to find.
    bad = Scenario(
        "bad",
        "POST",
        "/1/upload",
        scenario.headers,
        b'{"d":[{"type":"event","identity":"u","ts":"x","evtName":"E"}]}',
    )
    for _ in range(20):
        one_request(port, bad)
    reply = one_request_json(port, "/_emulator/requests/count")
    return int(reply["count"])


def one_request_json(port: int, path: str) -> dict[str, Any]:
    from rawhttp import SyncConnection, build_request

    conn = SyncConnection(HOST, port)
    try:
        reply = conn.request(build_request("GET", path, f"{HOST}:{port}", {}, None))
        data: dict[str, Any] = json.loads(reply.body)
        return data
    finally:
        conn.close()


def page_timings(port: int, loads: int) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH (and npm ci for playwright-core)")
    seq = one_request_json(port, "/_emulator/requests?limit=1&valid=false")["requests"][0]["seq"]
    env = {
        **os.environ,
        "EMULATOR_URL": f"http://{HOST}:{port}",
        "PAGE_LOADS": str(loads),
        "DETAIL_SEQ": str(seq),
    }
    out = subprocess.run(
        [node, str(BENCH / "inspector_page.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"inspector_page.mjs failed:\n{out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The web inspector's cost and page speed")
    parser.add_argument("--subscribe", type=int, help=argparse.SUPPRESS)  # the subscriber child
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--scenario", action="append", default=[], help="run.py scenario names")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--page-loads", type=int, default=10)
    parser.add_argument("--skip-page", action="store_true")
    parser.add_argument("--skip-ingestion", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.subscribe is not None:
        return subscribe(args.subscribe)

    names = args.scenario or list(DEFAULT_SCENARIOS)
    chosen = [s for s in SCENARIOS if s.name in names]
    tool = args.loadgen if args.loadgen != "auto" else ("wrk" if shutil.which("wrk") else "python")
    print(
        f"load: {tool}, {args.connections} connections, {args.duration:g} s per run, "
        f"{args.rounds} rounds, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    report: dict[str, Any] = {**report_header(), "settings": vars(args) | {"tool": tool}}
    report["settings"]["json"] = str(args.json) if args.json else None
    with tempfile.TemporaryDirectory(prefix="ctmp-bench-") as tmp:
        workdir = Path(tmp)
        argv_ = [sys.executable, "-m", "emulator", "serve", "--port", "0", "--quiet"]
        emulator = Server("emulator", argv_, workdir)
        emulator.start()
        try:
            if not args.skip_ingestion:
                load = Load(tool, args.connections, 1, 2_000_000, workdir)
                assert emulator.proc is not None
                pid = emulator.proc.pid
                rows = [measure(load, emulator.port, pid, s, args) for s in chosen]
                report["ingestion"] = rows
                print()
                print(
                    f"{'scenario':<14} {'req/s base':>10} {'req/s sub':>10} {'cost':>7} "
                    f"{'p50 base':>9} {'p50 sub':>8} {'p99 base':>9} {'p99 sub':>8}"
                )
                for r in rows:
                    b, s, c = r["baseline"], r["subscriber"], r["cost"]
                    print(
                        f"{r['name']:<14} {b['rps']:>10.0f} {s['rps']:>10.0f} "
                        f"{c['rps_pct']:>6.1f}% {b['p50_ms']:>8.2f}ms {s['p50_ms']:>7.2f}ms "
                        f"{b['p99_ms']:>8.2f}ms {s['p99_ms']:>7.2f}ms "
                        f"{c['median_rps_pct']:>11.1f}% "
                        f"{r['median_cpu_us_per_request']['baseline']:>11.0f}us "
                        f"{r['median_cpu_us_per_request']['subscriber']:>10.0f}us "
                        f"{c['cpu_per_request_pct']:>8.1f}%"
                    )
            if not args.skip_page:
                held = fill_journal(emulator.port, workdir)
                print(f"\njournal holds {held} entries; opening the pages {args.page_loads}x")
                timings = page_timings(emulator.port, args.page_loads)
                report["page"] = {"journal_entries": held, **timings}
                for name, t in timings["pages"].items():
                    print(
                        f"{name:<16} DOMContentLoaded median {t['dcl_ms']['median']:.0f} ms "
                        f"(max {t['dcl_ms']['max']:.0f}), first row median "
                        f"{t['first_row_ms']['median']:.0f} ms (max {t['first_row_ms']['max']:.0f})"
                    )
        finally:
            emulator.stop()
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
