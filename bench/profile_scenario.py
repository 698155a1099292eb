"""Any `run.py` scenario through the emulator's ASGI app in process, under cProfile.

No server, no socket, no load generator: the same body `--requests` times through the app
(lifespan started, tenants set as `run.py` sets them, forwarding on for the `-fwd` scenarios and
the backlog settled at the end), so the figures are the emulator's own work and, as call counts,
do not depend on what else the machine runs. Prints the time per request (wall, best of
`--rounds`) and cProfile's top functions by own and cumulative time.

    .venv/bin/python bench/profile_scenario.py ct-upload-100
    .venv/bin/python bench/profile_scenario.py mp-events-5-fwd --requests 2000 --top 40
    .venv/bin/python bench/profile_scenario.py ct-upload-1 --log      # with the request log on
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import SCENARIOS, Scenario

from emulator.app import create_app
from emulator.bridge.delivery import call_app
from emulator.config import DEFAULT_ACCOUNT, DEFAULT_CONNECTION, DEFAULT_WORKSPACE, Config
from emulator.core.jsonresp import dumps
from emulator.logs import configure


async def _lifespan(app: Any) -> tuple[asyncio.Queue[Any], asyncio.Task[None]]:
    """Start the app's lifespan (background tasks, the delivery loop) as a server would."""
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    return inbox, task


async def _control(app: Any, method: str, path: str, body: Any = None) -> Any:
    raw = b"" if body is None else dumps(body)
    headers = {"content-type": "application/json"} if body is not None else {}
    answer = await call_app(app, method, path, headers, raw)
    assert answer.status_code == 200, (path, answer.status_code, answer.content[:300])
    return answer


async def _prepare(app: Any, scenario: Scenario) -> None:
    connection = {**DEFAULT_CONNECTION, "kind": "connection"}
    connection["event_output"] = {
        **connection["event_output"],
        "enabled": scenario.forwarding,
    }
    account = {**DEFAULT_ACCOUNT, "kind": "clevertap_account", "options": {"concurrent_uploads": 0}}
    workspace = {**DEFAULT_WORKSPACE, "kind": "mparticle_workspace", "events_batches_per_second": 0}
    await _control(app, "POST", "/_emulator/reset")
    await _control(app, "PUT", "/_emulator/tenants/default", connection)
    await _control(app, "PUT", f"/_emulator/tenants/{account['id']}", account)
    await _control(app, "PUT", f"/_emulator/tenants/{workspace['id']}", workspace)


async def _drive(app: Any, scenario: Scenario, requests: int) -> tuple[float, float]:
    """Seconds for `requests` requests, the forwarding backlog settled at the end: wall clock,
    and CPU of the whole process (every thread: the log writer's too)."""
    headers = {"host": "127.0.0.1", **{k.lower(): v for k, v in scenario.headers.items()}}
    body = scenario.body or b""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        answer = await call_app(app, scenario.method, scenario.path, headers, body)
        if answer.status_code != scenario.expect:
            raise RuntimeError(f"{scenario.name}: {answer.status_code} {answer.content[:300]!r}")
    if scenario.forwarding:
        await _control(app, "POST", "/_emulator/bridge/settle")  # its default wait
    return time.perf_counter() - started, time.process_time() - cpu


async def main_async(args: argparse.Namespace, scenario: Scenario) -> None:
    app = create_app(Config.defaults(seed=1, log_requests=args.log))
    inbox, task = await _lifespan(app)
    try:
        await _prepare(app, scenario)
        await _drive(app, scenario, min(args.requests, 200))  # warm-up
        best, best_cpu = float("inf"), float("inf")
        for _ in range(args.rounds):
            await _prepare(app, scenario)
            wall, cpu = await _drive(app, scenario, args.requests)
            best, best_cpu = min(best, wall), min(best_cpu, cpu)
        print(
            f"{scenario.name}: {best / args.requests * 1e6:.1f} us a request in process, "
            f"{best_cpu / args.requests * 1e6:.1f} us of CPU (best of {args.rounds} rounds of "
            f"{args.requests}; log {'on' if args.log else 'off'})"
        )
        if args.top:
            await _prepare(app, scenario)
            profiler = cProfile.Profile()
            profiler.enable()
            await _drive(app, scenario, args.requests)
            profiler.disable()
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats(order).print_stats(args.top)
                print(out.getvalue())
            if args.save:
                profiler.dump_stats(args.save)
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", help="a run.py scenario name (run.py --list)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=30, help="functions shown (0: timing only)")
    parser.add_argument("--log", action="store_true", help="the per-request log line on")
    parser.add_argument("--save", type=Path, help="write the cProfile data here")
    args = parser.parse_args()
    found = [s for s in SCENARIOS if s.name == args.scenario]
    if not found:
        parser.error(f"no scenario {args.scenario!r}: " + ", ".join(s.name for s in SCENARIOS))
    if args.log:
        configure("info", "text")  # as `serve` sets it up (stderr: redirect it to measure)
    else:
        logging.disable(logging.INFO)
    # The loop `serve` runs on (uvicorn picks uvloop when it is installed): timers, tasks and
    # futures cost differently on the stdlib loop.
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main_async(args, found[0]))


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    main()
