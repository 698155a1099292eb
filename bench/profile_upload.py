"""Where a CleverTap `/1/upload` spends its time, in process (no server, no socket).

Times the whole request through the ASGI app, then each stage on its own with the same body:
JSON parsing, the envelope contract, the per-record checks (the one-pass `simple_event` /
`simple_profile`, else `records.check`), applying the records to the account. What is left is
routing, auth, the journal entry and the response. Each figure is the best of several rounds
(the least disturbed by the machine).

    .venv/bin/python bench/profile_upload.py            # 100-record and 1-record bodies
    .venv/bin/python bench/profile_upload.py --records 500 --rounds 20
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import clevertap_records

from emulator.app import create_app
from emulator.clevertap.models import Account
from emulator.clevertap.records import Limits, check, simple_event, simple_profile
from emulator.config import Config
from emulator.core.jsonresp import loads
from emulator.testing.defaults import clevertap_headers

PER_ROUND = 100


def best_of(rounds: int, run: Callable[[], None]) -> float:
    """Microseconds per call of `run`, best round of `rounds` x PER_ROUND calls."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(PER_ROUND):
            run()
        best = min(best, (time.perf_counter() - started) / PER_ROUND)
    return best * 1e6


def request_time(body: bytes, rounds: int) -> float:
    app = create_app(Config.defaults(seed=1, log_requests=False))
    headers = [(k.lower().encode(), v.encode()) for k, v in clevertap_headers().items()]
    headers += [(b"content-type", b"application/json"), (b"host", b"127.0.0.1")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/1/upload",
        "raw_path": b"/1/upload",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8787),
    }
    statuses: list[int] = []

    async def one() -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(dict(scope), receive, send)

    async def rounds_of_requests() -> float:
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(PER_ROUND):
                await one()
            best = min(best, (time.perf_counter() - started) / PER_ROUND)
        return best * 1e6

    took = asyncio.run(rounds_of_requests())
    assert set(statuses) == {200}, f"the upload must succeed, got {set(statuses)}"
    return took


def stages(body: bytes, rounds: int) -> dict[str, float]:
    app = create_app(Config.defaults(seed=1, log_requests=False))
    contracts = app.state.emulator.contracts
    parsed = loads(body)
    limits = Limits()
    counter = itertools.count()
    account = Account(lambda: f"__{next(counter):032x}", time.time)
    records = parsed["d"]
    now = 1_763_900_000

    def checked(record: Any) -> tuple[str, Any]:
        """What the upload loop does to a record before storing it (surface.upload)."""
        if (simple := simple_event(record, now, limits)) is not None:
            return "event", simple
        if (simple := simple_profile(record, limits)) is not None:
            return "profile", simple
        return "checked", check(record, now, limits)

    results = [checked(r) for r in records]

    def check_all() -> None:
        for record in records:
            checked(record)

    def apply_all() -> None:
        for path, result in results:
            if path == "event":
                account.apply_event(*result, now)
            elif path == "profile":
                account.apply_profile(*result, now)
            else:
                account.apply(result, now)

    paths = {p: sum(1 for q, _ in results if q == p) for p in ("event", "profile", "checked")}
    print(
        f"\n{len(records)}-record upload ({len(body)} bytes): {paths['event']} plain events, "
        f"{paths['profile']} plain profiles, {paths['checked']} through the full check"
    )
    return {
        "parse (orjson.loads)": best_of(rounds, lambda: loads(body)),
        "envelope contract": best_of(
            rounds, lambda: contracts.validate("clevertap/upload", parsed, "strict")
        ),
        "per-record checks (fast paths, check)": best_of(rounds, check_all),
        "apply to the account": best_of(rounds, apply_all),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, action="append", help="body sizes (100 and 1)")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    for n in args.records or [100, 1]:
        body = clevertap_records(n)
        parts = stages(body, args.rounds)
        total = request_time(body, args.rounds)
        parts["routing, auth, journal, response"] = max(0.0, total - sum(parts.values()))
        print(f"  {'whole request, in process':36} {total:8.1f} us")
        for stage, us in parts.items():
            print(f"  {stage:36} {us:8.1f} us  {us / total * 100:5.1f} %")


if __name__ == "__main__":
    main()
