"""Throughput and latency of the emulator against a bare Starlette app, scenario by scenario.

Starts the emulator (`python -m emulator serve --port 0 --quiet`) and `bench/bare_app.py` as
separate processes, then drives each scenario at both from another process: `wrk` when it is on
the PATH, else `bench/loadgen.py`. Prints req/s, p50 and p99 for both and the emulator/bare
ratios; `--json FILE` writes the same figures.

    .venv/bin/python bench/run.py                       # every scenario, 5 s each
    .venv/bin/python bench/run.py --scenario upload --duration 2 --json out.json

Adding a scenario: append a `Scenario` to SCENARIOS (name, method, path, headers, body).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from emulator.config import DEFAULT_ACCOUNT, DEFAULT_CONNECTION, DEFAULT_WORKSPACE

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from rawhttp import SyncConnection, build_request  # noqa: E402  (sibling module)
from report import report_header  # noqa: E402  (sibling module)

HOST = "127.0.0.1"
JSON = {"Content-Type": "application/json"}
CT_AUTH = {"X-CleverTap-Account-Id": "EMU-TEST-0001", "X-CleverTap-Passcode": "emu-passcode"}
MP_AUTH = {"Authorization": "Basic " + base64.b64encode(b"emu-s2s-key:emu-s2s-secret").decode()}


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    about: str = ""
    # The emulator's status for this request; checked once before measuring, so a scenario
    # never silently benchmarks an error path.
    expect: int = 200
    # Whether the default connection forwards mParticle batches to CleverTap during the run
    # (its event output): off, a scenario measures mParticle alone.
    forwarding: bool = False


def clevertap_records(n: int) -> bytes:
    """An upload body of `n` records: two events for every profile, all with type/identity/ts."""
    records: list[dict[str, Any]] = []
    for i in range(n):
        base = {"identity": f"user-{i % 25}", "ts": 1_763_900_000 + i}
        if i % 3 == 2:
            records.append(
                {
                    "type": "profile",
                    **base,
                    "profileData": {"Name": f"User {i}", "Plan": "gold", "Score": i},
                }
            )
        else:
            records.append(
                {
                    "type": "event",
                    **base,
                    "evtName": "Product Viewed",
                    "evtData": {"sku": f"SKU-{i}", "price": 9.99, "qty": 1 + i % 4},
                }
            )
    return orjson.dumps({"d": records})


def mparticle_batch(user: int, n: int = 5) -> dict[str, Any]:
    """One user's batch of `n` events, shaped like the server clients' batches: a custom event
    with attributes, a screen view, a purchase, an attribute change, ... (cycling)."""
    kinds: list[dict[str, Any]] = [
        {
            "event_type": "custom_event",
            "data": {
                "event_name": "Added to cart",
                "custom_event_type": "transaction",
                "custom_attributes": {"sku": "SKU-1", "price": "9.99"},
            },
        },
        {"event_type": "screen_view", "data": {"screen_name": "Home"}},
        {
            "event_type": "commerce_event",
            "data": {
                "currency_code": "EUR",
                "product_action": {
                    "action": "purchase",
                    "transaction_id": f"t-{user}",
                    "total_amount": 19.98,
                    "products": [{"id": "SKU-1", "name": "Socks", "price": 9.99, "quantity": 2}],
                },
            },
        },
        {
            "event_type": "user_attribute_change",
            "data": {"user_attribute_name": "plan", "new": "gold", "old": "free"},
        },
        {
            "event_type": "custom_event",
            "data": {"event_name": "Searched", "custom_event_type": "search"},
        },
    ]
    return {
        "environment": "production",
        "user_identities": {"customerid": f"c{user}", "email": f"u{user}@example.com"},
        "user_attributes": {"$city": "Paris", "tier": "gold"},
        "mp_deviceid": f"00000000-0000-4000-8000-{user:012d}",
        "events": [kinds[i % len(kinds)] for i in range(n)],
    }


SCENARIOS: list[Scenario] = [
    Scenario(
        "ct-upload-100",
        "POST",
        "/1/upload",
        {**CT_AUTH, **JSON},
        clevertap_records(100),
        "CleverTap upload, 100 records (events and profiles): auth, contract, store, journal",
    ),
    Scenario(
        "ct-upload-1",
        "POST",
        "/1/upload",
        {**CT_AUTH, **JSON},
        clevertap_records(1),
        "CleverTap upload, 1 record: the per-request overhead of the pipeline",
    ),
    Scenario(
        "mp-events-5",
        "POST",
        "/v2/events",
        {**MP_AUTH, **JSON},
        orjson.dumps(mparticle_batch(1)),
        "mParticle Events API, one batch of 5 events: auth, contract, user resolution, store",
        expect=202,
    ),
    Scenario(
        "mp-bulk-100",
        "POST",
        "/v2/bulkevents",
        {**MP_AUTH, **JSON},
        orjson.dumps([mparticle_batch(u) for u in range(100)]),
        "mParticle bulk upload of 100 batches (100 users, 5 events each)",
        expect=202,
    ),
    Scenario(
        "mp-events-5-fwd",
        "POST",
        "/v2/events",
        {**MP_AUTH, **JSON},
        orjson.dumps(mparticle_batch(1)),
        "mp-events-5 with forwarding to CleverTap on: each batch also becomes /1/upload records",
        expect=202,
        forwarding=True,
    ),
    Scenario(
        "mp-bulk-100-fwd",
        "POST",
        "/v2/bulkevents",
        {**MP_AUTH, **JSON},
        orjson.dumps([mparticle_batch(u) for u in range(100)]),
        "mp-bulk-100 with forwarding to CleverTap on",
        expect=202,
        forwarding=True,
    ),
    Scenario(
        "health",
        "GET",
        "/_emulator/health",
        {},
        None,
        "Control API health: routing and a small JSON answer, no journal",
    ),
]


# -- servers ---------------------------------------------------------------------------------
class Server:
    """A server subprocess; its URL is read from its ready line (`... ready on http://h:p`)."""

    def __init__(self, name: str, argv: list[str], workdir: Path, cwd: Path = ROOT) -> None:
        self.name = name
        self.argv = argv
        self.log = workdir / f"{name}.log"
        # `python -m emulator` imports the package from its working directory.
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def is_emulator(self) -> bool:
        return self.name.startswith("emulator")

    def expected(self, scenario: Scenario) -> int | None:
        """The status this server answers `scenario` with; None: it does not serve it (a peer
        has no control API and no forwarding)."""
        return scenario.expect if self.is_emulator else 200

    def start(self, timeout: float = 20.0) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # "ready on": the emulator and the bare app; "Listening at:": granian (--granian).
            match = re.search(READY, self.log.read_bytes())
            if match:
                self.port = int(match.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} did not start:\n{tail}")

    def rss_mb(self) -> float | None:
        """Resident memory now, when psutil is installed (the project's `test` extra)."""
        try:
            import psutil
        except ImportError:
            return None
        assert self.proc is not None
        return round(psutil.Process(self.proc.pid).memory_info().rss / 2**20, 1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


READY = rb"(?:ready on|Listening at:) http://[^\s:]+:(\d+)"
EMULATOR_ARGV = [sys.executable, "-m", "emulator", "serve", "--port", "0"]


def emulator_servers(workdir: Path, quiet_too: bool, before: Path | None = None) -> list[Server]:
    """The emulator as a user starts it (a log line per request), with `--quiet` beside it when
    asked (the difference is what the per-request log costs), and another checkout of it
    (`before`: a copy of an earlier commit, `git archive REV | tar -x -C DIR`) started the same
    way, so a change is measured against what it changed in the same run."""
    found = [Server("emulator", EMULATOR_ARGV, workdir)]
    if quiet_too:
        found.append(Server("emulator-quiet", [*EMULATOR_ARGV, "--quiet"], workdir))
    if before is not None:
        found.append(Server("emulator-before", EMULATOR_ARGV, workdir, cwd=before))
        if quiet_too:
            argv = [*EMULATOR_ARGV, "--quiet"]
            found.append(Server("emulator-before-quiet", argv, workdir, cwd=before))
    return found


def bare_server(workdir: Path, bare_loop: str, server: str = "uvicorn") -> Server:
    argv = [sys.executable, str(BENCH / "bare_app.py"), "--port", "0", "--loop", bare_loop]
    if server == "uvicorn":
        return Server("bare", argv, workdir)
    return Server(f"bare-{server}", [*argv, "--server", server], workdir)


@contextmanager
def running(started: list[Server]) -> Iterator[list[Server]]:
    """Start every server (in order), stop them all at the end."""
    try:
        for server in started:
            server.start()
        yield started
    finally:
        for server in started:
            server.stop()


def one_request(port: int, scenario: Scenario) -> int:
    conn = SyncConnection(HOST, port)
    try:
        raw = build_request(
            scenario.method, scenario.path, f"{HOST}:{port}", scenario.headers, scenario.body
        )
        return conn.request(raw).status
    finally:
        conn.close()


def reset_emulator(port: int, forwarding: bool = False) -> None:
    """An empty emulator, with the default connection's event output on or off, the default
    account's upload concurrency limit and the default workspace's Events API rate limit off
    (16 connections measure throughput, not 429s)."""
    connection = {**DEFAULT_CONNECTION, "kind": "connection"}
    connection["event_output"] = {**connection["event_output"], "enabled": forwarding}
    account = {**DEFAULT_ACCOUNT, "kind": "clevertap_account", "options": {"concurrent_uploads": 0}}
    workspace = {**DEFAULT_WORKSPACE, "kind": "mparticle_workspace", "events_batches_per_second": 0}
    conn = SyncConnection(HOST, port)
    try:
        calls = [
            ("POST", "/_emulator/reset", {}, b""),
            ("PUT", "/_emulator/tenants/default", JSON, orjson.dumps(connection)),
            ("PUT", f"/_emulator/tenants/{account['id']}", JSON, orjson.dumps(account)),
            ("PUT", f"/_emulator/tenants/{workspace['id']}", JSON, orjson.dumps(workspace)),
        ]
        for method, path, headers, body in calls:
            reply = conn.request(build_request(method, path, HOST, headers, body))
            if reply.status != 200:
                raise RuntimeError(f"{method} {path} answered {reply.status}: {reply.body!r}")
    finally:
        conn.close()


def settle_seconds(port: int) -> float:
    """How long the flows took to deliver their backlog after a run."""
    conn = SyncConnection(HOST, port, timeout=400)
    started = time.perf_counter()
    try:
        path = "/_emulator/bridge/settle?timeout=300"
        reply = conn.request(build_request("POST", path, HOST, {}, b""))
    finally:
        conn.close()
    if reply.status != 200 or not orjson.loads(reply.body)["settled"]:
        raise RuntimeError(f"settle: {reply.status} {reply.body!r}")
    return time.perf_counter() - started


# -- load ------------------------------------------------------------------------------------
def _lua_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\r", "\\r") + '"'


def wrk_script(scenario: Scenario, body_file: Path | None, max_requests: int) -> str:
    lines = [f"wrk.method = {_lua_string(scenario.method)}"]
    lines += [
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in scenario.headers.items()
    ]
    if body_file is not None:
        lines += [
            f"local f = assert(io.open({_lua_string(str(body_file))}, 'rb'))",
            "wrk.body = f:read('*a')",
            "f:close()",
        ]
    # wrk only bounds time; this bounds the count too (per wrk thread).
    lines += [
        f"local budget = {max_requests}",
        "local seen = 0",
        "function response(status, headers, body)",
        "  seen = seen + 1",
        "  if seen >= budget then wrk.thread:stop() end",
        "end",
    ]
    return "\n".join(lines) + "\n"


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> dict[str, Any]:
    """Figures from `wrk --latency` output (its text is the only interface wrk offers)."""
    percentiles = {
        int(m.group(1)): float(m.group(2)) * _UNIT_MS[m.group(3)]
        for m in re.finditer(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", output, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not (total and rps and 50 in percentiles and 99 in percentiles):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = {}
    if socket_errors:
        errors = {
            kind: int(n)
            for kind, n in zip(
                ("connect", "read", "write", "timeout"), socket_errors.groups(), strict=True
            )
            if int(n)
        }
    return {
        "tool": "wrk",
        "requests": int(total.group(1)),
        "duration_s": float(total.group(2)) * _UNIT_MS[total.group(3)] / 1000,
        "rps": float(rps.group(1)),
        "p50_ms": round(percentiles[50], 3),
        "p90_ms": round(percentiles.get(90, 0.0), 3),
        "p99_ms": round(percentiles[99], 3),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors,
    }


def _run_tool(argv: list[str], timeout: float) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


@dataclass
class Load:
    tool: str
    connections: int
    threads: int
    max_requests: int
    workdir: Path

    def drive(self, port: int, scenario: Scenario, duration: float) -> dict[str, Any]:
        body_file: Path | None = None
        if scenario.body is not None:
            body_file = self.workdir / f"{scenario.name}.body"
            body_file.write_bytes(scenario.body)
        timeout = duration + 30  # the tools stop by themselves; this only catches a hang
        if self.tool == "wrk":
            script = self.workdir / f"{scenario.name}.lua"
            script.write_text(wrk_script(scenario, body_file, self.max_requests // self.threads))
            argv = [
                "wrk",
                f"-t{self.threads}",
                f"-c{self.connections}",
                f"-d{max(1, round(duration))}s",
                "--latency",
                "-s",
                str(script),
                f"http://{HOST}:{port}{scenario.path}",
            ]
            return parse_wrk(_run_tool(argv, timeout))
        argv = [
            sys.executable,
            str(BENCH / "loadgen.py"),
            "--port",
            str(port),
            "--method",
            scenario.method,
            "--path",
            scenario.path,
            "--connections",
            str(self.connections),
            "--duration",
            str(duration),
            "--max-requests",
            str(self.max_requests),
        ]
        for name, value in scenario.headers.items():
            argv += ["--header", f"{name}: {value}"]
        if body_file is not None:
            argv += ["--body-file", str(body_file)]
        result: dict[str, Any] = json.loads(_run_tool(argv, timeout))
        ok = sum(n for s, n in result["statuses"].items() if 200 <= int(s) < 400)
        result["non_2xx"] = result["requests"] - ok
        return result


# -- report ----------------------------------------------------------------------------------
def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_table(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> None:
    """One line a scenario and server: its figures, its ratios to the bare app and, for the
    emulator, to each peer in the run (above 1: the emulator serves more)."""
    peers = [n for n in names if n not in ("bare",) and not n.startswith("emulator")]
    head = (
        f"{'scenario':<16} {'server':<15} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'RSS MB':>7} {'x bare':>7}" + "".join(f" {'emu/' + p:>14}" for p in peers)
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        for name in names:
            got = row["servers"].get(name)
            if got is None:
                continue
            line = (
                f"{row['name']:<16} {name:<15} {got['rps']:>8.0f} {got['p50_ms']:>8.2f} "
                f"{got['p99_ms']:>8.2f} {got.get('rss_mb') or '-':>7} "
                f"{_fmt_ratio(row['vs_bare'].get(name)):>7}"
            )
            if name.startswith("emulator"):
                line += "".join(
                    f" {_fmt_ratio(row['vs_peer'].get(name, {}).get(p)):>14}" for p in peers
                )
            print(line)
        if "backlog_s" in row:
            print(f"{'':<16} forwarding backlog drained in {row['backlog_s']} s")


def measure(
    load: Load, started: Sequence[Server], scenario: Scenario, args: argparse.Namespace
) -> dict[str, Any] | None:
    """One scenario on every server that serves it; None when the emulator does not answer
    as expected (never benchmark an error path by accident)."""
    targets = []
    for server in started:
        expect = server.expected(scenario)
        if expect is None:
            continue
        got = one_request(server.port, scenario)
        if got != expect:
            print(
                f"{scenario.name}: {server.name} answered {got} (expected {expect})"
                + ("; SKIPPED" if server.is_emulator else "; left out"),
                flush=True,
            )
            if server.is_emulator:
                return None
            continue
        targets.append(server)
    row: dict[str, Any] = {"name": scenario.name, "about": scenario.about, "servers": {}}
    rounds: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    # Rounds go server after server, so a burst of load from elsewhere on the machine falls on
    # one round of each rather than on one server; each server's best round is kept (the
    # least disturbed), every round is in the JSON.
    for turn in range(args.rounds):
        for target in targets:
            if target.is_emulator:
                # Stored upload records are not bounded (the journal is): each run starts from
                # an empty emulator so earlier runs do not weigh on later ones.
                reset_emulator(target.port, scenario.forwarding)
            if args.warmup > 0 and turn == 0:
                load.drive(target.port, scenario, args.warmup)  # wrk: at least 1 s
            got = load.drive(target.port, scenario, args.duration)
            got["rss_mb"] = target.rss_mb()
            if target.is_emulator and scenario.forwarding:
                # Forwarding runs behind intake under saturation; its backlog is part of the
                # cost.
                got["backlog_s"] = round(settle_seconds(target.port), 3)
            if got["non_2xx"] or got["errors"]:
                print(f"  warning: {target.name}: {got}", flush=True)
            rounds[target.name].append(got)
    for name, runs in rounds.items():
        best = max(runs, key=lambda r: r["rps"])
        row["servers"][name] = {**best, "rounds_rps": [r["rps"] for r in runs]}
        if "backlog_s" in best:
            key = "backlog_s" if name == "emulator" else f"backlog_s.{name}"
            row[key] = best["backlog_s"]
    figures = row["servers"]
    bare = figures.get("bare")
    row["vs_bare"] = {
        name: ratio(f["rps"], bare["rps"]) if bare else None for name, f in figures.items()
    }
    row["vs_peer"] = {
        name: {
            peer: ratio(f["rps"], p["rps"])
            for peer, p in figures.items()
            if peer != "bare" and not peer.startswith("emulator")
        }
        for name, f in figures.items()
        if name.startswith("emulator")
    }
    # The figures earlier reports had at the top level.
    if "emulator" in figures and bare:
        e = figures["emulator"]
        row["emulator"], row["bare"] = e, bare
        row["ratio"] = {
            "rps": ratio(e["rps"], bare["rps"]),
            "p50": ratio(e["p50_ms"], bare["p50_ms"]),
            "p99": ratio(e["p99_ms"], bare["p99_ms"]),
        }
    summary = ", ".join(f"{name} {f['rps']:.0f} req/s" for name, f in figures.items())
    backlog = f", forwarding backlog drained in {row['backlog_s']} s" if "backlog_s" in row else ""
    print(f"{scenario.name}: {summary}{backlog}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Emulator vs bare Starlette (and peers)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before each run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--scenario", action="append", default=[], help="run scenarios whose name contains this"
    )
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (2 cores: keep 1)")
    parser.add_argument(
        "--bare-loop",
        choices=["auto", "asyncio"],
        default="auto",
        help="event loop of the bare app (auto picks uvloop)",
    )
    parser.add_argument(
        "--max-requests", type=int, default=2_000_000, help="cap per run on top of the duration"
    )
    parser.add_argument(
        "--quiet-too",
        action="store_true",
        help="also run the emulator with --quiet (what the per-request log line costs)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also run WireMock and Prism with the same contracts and bodies (bench/peers.py)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="also run the emulator from this checkout (git archive REV | tar -x -C DIR)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measured runs per server, taken in turn; the best is reported (noisy machines)",
    )
    parser.add_argument(
        "--granian",
        action="store_true",
        help="also run the bare app on granian (is another HTTP server worth offering?)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)

    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:<16} {s.method} {s.path}  {s.about}")
        return 0
    chosen = [s for s in SCENARIOS if not args.scenario or any(f in s.name for f in args.scenario)]
    if not chosen:
        parser.error(f"no scenario matches {args.scenario}")
    tool = args.loadgen
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    elif tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on the PATH")
    if tool == "wrk" and args.duration != round(args.duration):
        parser.error("wrk runs whole seconds: give --duration as an integer")

    print(
        f"load: {tool}, {args.connections} connections, {args.duration:g} s per run "
        f"(+{args.warmup:g} s warm-up), bare app loop: {args.bare_loop}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ctmp-bench-") as tmp:
        workdir = Path(tmp)
        load = Load(tool, args.connections, args.threads, args.max_requests, workdir)
        started = [
            *emulator_servers(workdir, args.quiet_too, args.before),
            bare_server(workdir, args.bare_loop),
        ]
        if args.granian:
            started.append(bare_server(workdir, args.bare_loop, "granian"))
        if args.peers:
            from peers import peer_servers  # sibling module; only needed with --peers

            started += peer_servers(workdir, SCENARIOS, started[0])
        with running(started):
            for scenario in chosen:
                row = measure(load, started, scenario, args)
                if row is not None:
                    rows.append(row)
    print()
    print_table(rows, [s.name for s in started])
    if args.json is not None:
        report = {
            **report_header(),
            "settings": {
                "tool": tool,
                "connections": args.connections,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "bare_loop": args.bare_loop,
                "rounds": args.rounds,
                "servers": {s.name: s.argv for s in started},
            },
            "scenarios": rows,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
