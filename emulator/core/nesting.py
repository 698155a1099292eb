"""Request bodies parsed with a nesting limit.

orjson parses up to 1,024 levels but writes only 254, and jsonschema-rs converts only ~255
levels: a body nested 255 levels or deeper was accepted, then broke its validation, its answer,
the state export and every save. Every JSON body (platform and control) and CleverTap's
`?query=` are parsed here, and anything nested deeper than the configured limit is refused with
the platform's 400 before any state changes (docs/architecture.md, "Nesting limit").
`deeper_than` measures what is already parsed (a version 2 data file, core/store.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import compress
from typing import Any

from emulator.core.jsonresp import loads

# The default and the highest configurable limit for platform bodies. A state document holds
# platform bodies a few levels down (`tables` → rows → `batch` → ...): control bodies may nest
# `STATE_HEADROOM` levels more, and the highest limit plus that headroom stays well below the
# 254 levels orjson writes.
DEFAULT_DEPTH = 64
MAX_DEPTH = 128
STATE_HEADROOM = 16

# Below this size counting brackets in the body is cheaper than cutting it to its skeleton first.
SMALL = 2048
_IN_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")


class NestingError(ValueError):
    """The body is nested deeper than `limit` levels."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"nested deeper than {limit} levels")
        self.limit = limit


def exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text `raw` nests arrays and objects deeper than `limit` (the outermost
    container is level 1). Scans the bytes in C-speed passes, without building any object: a
    ~180 KB bulk upload costs about two thirds of parsing it. On text that is not JSON the answer
    is meaningless but the cost stays bounded (`limit` passes)."""
    if len(raw) <= SMALL and raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the common small body: too few brackets to be too deep
    # Drop escaped backslashes and quotes (pairs, left to right, as JSON reads them), then
    # everything but brackets and quotes; strings become `"..."` holding only brackets. A search
    # for an absent two-byte pattern costs more than one for a byte: most bodies escape nothing.
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in raw else raw
    text = text.translate(None, _NOT_STRUCTURE)
    if text.count(b"[") + text.count(b"{") <= limit:
        return False  # a large body with few brackets (counted in its skeleton, a fifth the size)
    # Removing adjacent quotes only merges or drops strings, so brackets in strings stay inside.
    text = text.replace(b'""', b"")
    if b'"' in text:
        text = _IN_STRING.sub(b"", text)
    text = text.translate(_BRACKETS)
    # Each pass removes every innermost pair: the height of the bracket tree drops by one.
    for _ in range(limit):
        if not text:
            return False
        text = text.replace(b"()", b"")
    return bool(text)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether parsed JSON nests objects and arrays deeper than `limit` levels (the outermost
    is level 1), as `exceeds` says of its text. Level by level, each container's
    children sifted in C (an event column of a million numbers costs ~40 ms)."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 1
    while level:
        if depth > limit:
            return True
        below: list[Any] = []
        for node in level:
            children: Iterable[Any]
            if isinstance(node, dict):
                children = node.values()
            elif _CONTAINERS.isdisjoint(map(type, node)):
                continue  # numbers and strings only: the usual big array
            else:
                children = node
            below.extend(compress(children, map(_CONTAINERS.__contains__, map(type, children))))
        level, depth = below, depth + 1
    return False


_CONTAINERS = frozenset((dict, list))


def parse(raw: bytes | str, limit: int) -> Any:
    """`raw` as JSON; `NestingError` when nested deeper than `limit`, orjson's
    `JSONDecodeError` when it is not JSON."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if exceeds(data, limit):
        raise NestingError(limit)
    return loads(data)
