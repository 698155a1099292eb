"""How long a page takes, for the inspector's page benchmarks (one local round trip each)."""

from __future__ import annotations

import statistics
import time

import httpx


def timed(http: httpx.Client, path: str, repeat: int) -> tuple[float, float]:
    """Median and max milliseconds of `repeat` GETs of `path`, each of which must answer 200."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = http.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code)
    return statistics.median(times) * 1000, max(times) * 1000
