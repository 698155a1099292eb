"""The writer thread writes a request's line without a LogRecord (emulator/logs.py); the line
must be the one the formatter would have made from the record."""

from __future__ import annotations

import json
import logging

import pytest

from emulator.logs import JsonFormatter, TextFormatter, _made


class _Line:
    """A request's line as pipeline.RequestLine offers it: a text and its fields."""

    def __str__(self) -> str:
        return "#7 POST /1/upload -> 200 clevertap acc valid 0.4ms client"

    def fields(self) -> dict[str, object]:
        return {"seq": 7, "status": 200, "path": "/1/upload"}


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
@pytest.mark.parametrize("created", [1_764_000_000.0, 1_764_000_000.0009, 1_764_000_059.9995])
def test_a_request_line_is_what_format_makes_of_its_record(
    formatter: TextFormatter | JsonFormatter, created: float
) -> None:
    logger = logging.getLogger("ctmp_emulator.requests")
    line = _Line()
    record = _made(created, logger, line, {"request": line})
    assert formatter.info_line(created, logger.name, line) == formatter.format(record)


def test_the_json_line_carries_the_request_fields() -> None:
    line = JsonFormatter().info_line(1_764_000_000.25, "ctmp_emulator.requests", _Line())
    assert json.loads(line) == {
        "time": "2025-11-24T16:00:00.250Z",
        "level": "info",
        "logger": "ctmp_emulator.requests",
        "message": str(_Line()),
        "request": {"seq": 7, "status": 200, "path": "/1/upload"},
    }
