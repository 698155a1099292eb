"""JSON responses rendered with orjson (several times faster than the stdlib on journal dumps)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


loads = orjson.loads
Fragment = orjson.Fragment
JSONDecodeError = orjson.JSONDecodeError
