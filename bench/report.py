"""The JSON report header both benchmark scripts write with `--json`."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from typing import Any


def report_header() -> dict[str, Any]:
    """When and on what the figures were taken."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on the machine skews every figure; this says how busy it was.
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        },
    }
