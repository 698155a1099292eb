"""An account's events, stored in columns.

Numbers go in arrays, names and properties (serialised, orjson bytes) in tuples of a few
thousand. Neither arrays nor tuples of strings and bytes are tracked by the garbage collector, so
a store of millions of events adds nothing to a collection's walk.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import Any

from emulator.core.jsonresp import dumps, loads, tight

CHUNK = 4096  # events per sealed chunk (see Events)


class Events:
    """An account's events, column by column, in arrival order.

    Names and properties go in short lists, sealed every CHUNK events: the names into a tuple,
    the properties into one JSON document (orjson bytes). A container of dicts is walked item by
    item by every full collection even when the dicts themselves are untracked; tuples of strings
    and bytes are untracked. Measured at 670k events: 28 ms per full collection with dicts, 7 ms
    sealed; 510 MB against 314 MB RSS after a 5 s upload benchmark. Sealing a chunk at once also
    costs less than serialising each event.
    """

    __slots__ = ("_data", "_names", "_sealed", "pids", "times")

    def __init__(self) -> None:
        self.pids = array("q")
        self.times = array("q")
        self._sealed: list[tuple[tuple[str, ...], bytes]] = []
        self._names: list[str] = []
        self._data: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.pids)

    def append(self, pid: int, name: str, ts: int, data: dict[str, Any]) -> None:
        self.pids.append(pid)
        self.times.append(ts)
        names = self._names
        names.append(name)
        self._data.append(data)
        if len(names) >= CHUNK:
            self._sealed.append((tuple(names), tight(dumps(self._data))))
            self._names, self._data = [], []

    def names(self) -> Iterator[str]:
        for sealed_names, _ in self._sealed:
            yield from sealed_names
        yield from self._names

    def _data_column(self) -> Iterator[dict[str, Any]]:
        for _, sealed_data in self._sealed:
            yield from loads(sealed_data)
        yield from self._data

    def rows(self) -> Iterator[tuple[int, str, int, dict[str, Any]]]:
        return zip(self.pids, self.names(), self.times, self._data_column(), strict=True)

    def without(self, pids: set[int]) -> Events:
        kept = Events()
        for pid, name, ts, data in self.rows():
            if pid not in pids:
                kept.append(pid, name, ts, data)
        return kept

    def select(
        self, pids: set[int] | None = None, name: str | None = None
    ) -> list[tuple[int, str, int, dict[str, Any]]]:
        """The rows of these pids (else of every pid) named `name` (else any name), in arrival
        order. Only the pid or name column is scanned and only the sealed chunks holding a hit
        are decoded, so one profile's events cost a scan of numbers, not a decode of the store."""
        if pids is not None:
            hits = sorted(i for pid in pids for i in _positions(self.pids, pid))
        elif name is not None:
            hits = []
            for chunk, column in enumerate([*(n for n, _ in self._sealed), self._names]):
                hits.extend(chunk * CHUNK + at for at in _positions(column, name))
        else:
            hits = list(range(len(self.pids)))
        decoded: dict[int, list[dict[str, Any]]] = {}
        sealed = len(self._sealed)
        out = []
        for i in hits:
            chunk, at = divmod(i, CHUNK)
            if chunk < sealed:
                evt = self._sealed[chunk][0][at]
                if name is not None and evt != name:
                    continue
                if chunk not in decoded:
                    decoded[chunk] = loads(self._sealed[chunk][1])
                data = decoded[chunk][at]
            else:
                evt, data = self._names[at], self._data[at]
                if name is not None and evt != name:
                    continue
            out.append((self.pids[i], evt, self.times[i], data))
        return out


def _positions(column: Sequence[Any], value: Any) -> Iterator[int]:
    """Where `value` is in `column`: `index` scans in C, ~20 times faster than a Python loop
    over 400k events."""
    at = 0
    while True:
        try:
            at = column.index(value, at)
        except ValueError:
            return
        yield at
        at += 1
