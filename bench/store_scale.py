"""A CleverTap account holding a million events: memory, reads and start-up from a data file.

Builds the state in process (the default account, `--profiles` identities with
`--events-per-profile` "Product Viewed" events each, as `/1/upload` would store them; 10,000 x
100 = 1M by default), saves it as a data file, then starts `python -m emulator serve
--data-file FILE --quiet` and measures, from this process over loopback:

- start: spawn → first 200 from `/_emulator/health` with the state loaded (target ≤ 3 s);
- RSS once started and after the reads (target ≤ 600 MB);
- `GET /1/profile.json?identity=...`: median and max of 50 (target ≤ 20 ms);
- an events download of `--page` records a page for one day (`--day`, a seventh of the
  events): the cursor's opening (`POST /1/events.json` with the query) and each page read
  (`GET /1/events.json?cursor=`), median and max over `--pages` pages (target ≤ 20 ms a page).

    .venv/bin/python bench/store_scale.py [--profiles 10000] [--events-per-profile 100] [--json F]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from rawhttp import SyncConnection, build_request  # noqa: E402  (sibling module)
from report import report_header  # noqa: E402  (sibling module)

from emulator.app import create_app  # noqa: E402
from emulator.config import DEFAULT_ACCOUNT, Config  # noqa: E402
from emulator.core.store import encode  # noqa: E402
from emulator.persist import file_document  # noqa: E402

HOST = "127.0.0.1"
HEADERS = {
    "X-CleverTap-Account-Id": DEFAULT_ACCOUNT["id"],
    "X-CleverTap-Passcode": DEFAULT_ACCOUNT["passcode"],
}
EVENT = "Product Viewed"
FIRST_TS = 1_763_900_000  # 2025-11-23
MB = 2**20


def build_state(profiles: int, per_profile: int) -> tuple[bytes, int]:
    """The data file's bytes with `profiles` x `per_profile` stored events, and the count."""
    app = create_app(Config.defaults(seed=1, log_requests=False))
    emulator = app.state.emulator
    surface = next(s for s in emulator.surfaces if s.name == "clevertap")
    account = surface.store.account(DEFAULT_ACCOUNT["id"])
    now = FIRST_TS + 86_400 * 10
    count = 0
    for i in range(profiles):
        identity = f"user-{i}"
        account.apply_profile(identity, {"Name": f"User {i}", "Plan": "gold", "Score": i}, now)
        for j in range(per_profile):
            ts = FIRST_TS + (i * per_profile + j) % (86_400 * 7)
            data = {"sku": f"SKU-{j}", "price": 9.99, "qty": 1 + j % 4}
            account.apply_event(identity, ts, EVENT, data, now)
            count += 1
    return encode(file_document(emulator)), count


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(data_file: Path) -> tuple[subprocess.Popen[bytes], int, float]:
    """The emulator on the data file; seconds from spawn to the first health 200."""
    port = free_port()
    argv = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--quiet"]
    argv += ["--data-file", str(data_file)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = started + 120
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited with {proc.returncode}")
        try:
            conn = SyncConnection(HOST, port, timeout=5)
        except OSError:
            time.sleep(0.005)
            continue
        try:
            reply = conn.request(build_request("GET", "/_emulator/health", HOST, {}, None))
            if reply.status == 200:
                return proc, port, time.perf_counter() - started
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.005)
    proc.kill()
    raise RuntimeError("the emulator did not answer within 120 s")


def timed(conn: SyncConnection, method: str, path: str, body: Any = None) -> tuple[float, Any]:
    headers = dict(HEADERS)
    raw = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        raw = orjson.dumps(body)
    request = build_request(method, path, HOST, headers, raw)
    began = time.perf_counter()
    reply = conn.request(request)
    took = time.perf_counter() - began
    if reply.status != 200:
        raise RuntimeError(f"{method} {path}: {reply.status} {reply.body[:300]!r}")
    return took * 1000, orjson.loads(reply.body)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    began = time.perf_counter()
    document, count = build_state(args.profiles, args.events_per_profile)
    figures["events"] = count
    figures["build_s"] = round(time.perf_counter() - began, 1)
    figures["data_file_mb"] = round(len(document) / MB, 1)
    print(f"state: {count:,} events, data file {figures['data_file_mb']} MB", flush=True)
    with tempfile.TemporaryDirectory(prefix="ctmp-scale-") as tmp:
        data_file = Path(tmp) / "state.json"
        data_file.write_bytes(document)
        del document
        proc, port, start_s = start(data_file)
        try:
            figures["start_s"] = round(start_s, 3)
            time.sleep(1)
            figures["rss_started_mb"] = round(psutil.Process(proc.pid).memory_info().rss / MB, 1)
            conn = SyncConnection(HOST, port, timeout=600)
            profile_ms = []
            for n in range(50):
                identity = f"user-{(n * 7919) % args.profiles}"
                took, answer = timed(conn, "GET", f"/1/profile.json?identity={identity}")
                assert answer["status"] == "success", answer
                profile_ms.append(took)
            figures["profile_ms"] = _spread(profile_ms)
            # One day of the week the events span (a seventh of them), as a daily export asks.
            query = {"event_name": EVENT, "from": args.day, "to": args.day}
            open_ms, page_ms, records = [], [], 0
            path = f"/1/events.json?batch_size={args.page}"
            while len(page_ms) < args.pages:
                took, answer = timed(conn, "POST", path, query)
                open_ms.append(took)
                cursor = answer["cursor"]
                while cursor and len(page_ms) < args.pages:
                    took, page = timed(conn, "GET", f"/1/events.json?cursor={cursor}")
                    if page.get("status") != "success" or "records" not in page:
                        continue  # not ready yet (cursor_not_ready_polls)
                    page_ms.append(took)
                    records = max(records, len(page["records"]))
                    cursor = page.get("next_cursor")
            figures["page_records"] = records
            figures["cursor_open_ms"] = _spread(open_ms)
            figures["page_ms"] = _spread(page_ms)
            figures["rss_after_mb"] = round(psutil.Process(proc.pid).memory_info().rss / MB, 1)
            conn.close()
        finally:
            proc.kill()  # no save at shutdown: the state is the file it started from
            proc.wait(30)
    return figures


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "max": round(max(values), 2),
        "n": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--events-per-profile", type=int, default=100)
    parser.add_argument("--page", type=int, default=5_000, help="records a download page")
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--day", type=int, default=20251124, help="the download's day")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = measure(args)
    rss = max(figures["rss_started_mb"], figures["rss_after_mb"])
    rows = [
        (
            "start from the data file",
            f"{figures['start_s']:.2f} s",
            "≤ 3 s",
            figures["start_s"] <= 3,
        ),
        ("RSS (max of started, after reads)", f"{rss:.0f} MB", "≤ 600 MB", rss <= 600),
        (
            "GET /1/profile.json (median / max)",
            f"{figures['profile_ms']['median']:.2f} / {figures['profile_ms']['max']:.2f} ms",
            "≤ 20 ms",
            figures["profile_ms"]["median"] <= 20,
        ),
        (
            f"events download page of {figures['page_records']} (median / max)",
            f"{figures['page_ms']['median']:.2f} / {figures['page_ms']['max']:.2f} ms",
            "≤ 20 ms",
            figures["page_ms"]["median"] <= 20,
        ),
        (
            "  its cursor's opening (the query; median)",
            f"{figures['cursor_open_ms']['median']:.0f} ms",
            "-",
            None,
        ),
    ]
    print(f"\n{figures['events']:,} stored events, data file {figures['data_file_mb']} MB")
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        print(f"{name:<48} {value:>18} {target:>9}  {verdict}")
    if args.json:
        args.json.write_text(json.dumps({**report_header(), "figures": figures}, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
