"""How long `ctmp-emulator replay` takes for a 1,000-request scenario, from a second process.

Writes two scenarios to a temporary folder: `requests` (N requests: CleverTap uploads of one
event and mParticle batches of one event, alternating, each with its expected status, then one
`expect_state` on the account's profiles) and `baseline` (one request: what starting Python, the
emulator and the contracts costs). Each is replayed `--runs` times with `python -m emulator
replay`, interleaved; printed: median and min wall seconds of each, and their difference (the
time the N requests take).

    .venv/bin/python bench/replay.py                 # 1,000 requests, 5 runs each
    .venv/bin/python bench/replay.py --requests 200 --runs 3 --json /tmp/replay.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import report_header


def _step(i: int) -> dict[str, Any]:
    if i % 2:
        body = {"d": [{"type": "event", "identity": f"u{i % 50}", "evtName": "Viewed"}]}
        return {
            "request": {
                "platform": "clevertap",
                "method": "POST",
                "path": "/1/upload",
                "as": "clevertap/EMU-TEST-0001",
                "body": body,
                "expect": {"status": 200, "body": {"processed": 1}},
            }
        }
    batch = {
        "user_identities": {"customerid": f"c{i % 50}"},
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "Viewed", "custom_event_type": "navigation"},
            }
        ],
    }
    return {
        "request": {
            "platform": "mparticle",
            "method": "POST",
            "path": "/v2/events",
            "as": "mparticle/1000",
            "body": batch,
            "expect": {"status": 202},
        }
    }


def scenarios(folder: Path, requests: int) -> dict[str, Path]:
    check = {
        "expect_state": {
            "view": "/clevertap/EMU-TEST-0001/profiles",
            "expect": {"total": {"$gte": 1}},
        }
    }
    docs = {
        "requests": {
            "name": f"{requests} requests",
            "steps": [*map(_step, range(requests)), check],
        },
        "baseline": {"name": "one request", "steps": [_step(1)]},
    }
    paths = {}
    for name, doc in docs.items():
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(json.dumps(doc))  # JSON is YAML
    return paths


def timed(path: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "replay", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"replay of {path.name} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = scenarios(Path(tmp), args.requests)
        runs: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.runs):
            for name, path in paths.items():
                runs[name].append(timed(path))
    figures = {
        name: {"median_s": statistics.median(t), "min_s": min(t), "runs": t}
        for name, t in runs.items()
    }
    extra = figures["requests"]["median_s"] - figures["baseline"]["median_s"]
    for name, f in figures.items():
        print(f"{name:9} median {f['median_s']:.2f} s  min {f['min_s']:.2f} s  ({args.runs} runs)")
    print(
        f"{args.requests} requests: {extra:.2f} s over the baseline, "
        f"{extra / args.requests * 1000:.2f} ms per request"
    )
    if args.json is not None:
        report = {**report_header(), "requests": args.requests, "figures": figures}
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
