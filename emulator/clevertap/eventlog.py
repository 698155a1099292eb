"""An account's events, stored in columns.

Numbers go in arrays, names and properties (serialised, orjson bytes) in tuples of a few
thousand. Neither arrays nor tuples of strings and bytes are tracked by the garbage collector, so
a store of millions of events adds nothing to a collection's walk.

The data file holds the same columns (`export` under `columns()`, `Events.load`): the numbers as
lists, the names as a table and an index per event, the properties as the sealed chunks' JSON
text, so a start adopts each chunk's bytes once checked instead of building and re-serialising
a dict per event (bench/README.md, `store_scale.py`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from emulator.core.jsonresp import dumps, loads, tight
from emulator.core.nesting import MAX_DEPTH, STATE_HEADROOM, exceeds
from emulator.core.store import DATA_FILE

CHUNK = 4096  # events per sealed chunk (see Events)
# A chunk's text is `[ {data}, ... ]`: its properties are one level below the array. The highest
# configurable nesting limit plus the state headroom keeps every chunk within what orjson writes
# (254 levels), as the nesting limit keeps a `PUT /_emulator/state` body (core/nesting.py).
CHUNK_DEPTH = MAX_DEPTH + STATE_HEADROOM
COLUMN_KEYS = ("pid", "ts", "names", "name", "data")

Row = tuple[int, str, int, dict[str, Any]]


class EventColumnsError(ValueError):
    """A data file's event columns that cannot be loaded (the message says why)."""


class Events:
    """An account's events, column by column, in arrival order.

    Names and properties go in short lists, sealed every CHUNK events: the names into a tuple,
    the properties into one JSON document (orjson bytes). A container of dicts is walked item by
    item by every full collection even when the dicts themselves are untracked; tuples of strings
    and bytes are untracked. Measured at 670k events: 28 ms per full collection with dicts, 7 ms
    sealed; 510 MB against 314 MB RSS after a 5 s upload benchmark. Sealing a chunk at once also
    costs less than serialising each event. A sealed chunk's names are codes (an array of
    4-byte numbers) into the log's table of names: one string per distinct name, not one per
    event (~60 bytes an event), and the data file's name column as it is.
    """

    __slots__ = ("_code", "_data", "_names", "_sealed", "_table", "pids", "times")

    def __init__(self) -> None:
        self.pids = array("q")
        self.times = array("q")
        self._sealed: list[tuple[array[int], bytes]] = []
        self._table: list[str] = []  # code -> name, in the order first sealed
        self._code: dict[str, int] = {}  # name -> code
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
            self._seal()

    def _seal(self) -> None:
        self._sealed.append((self._codes(self._names), tight(dumps(self._data))))
        self._names, self._data = [], []

    def _codes(self, names: list[str]) -> array[int]:
        """`names` as codes, new names added to the table (once each, in C but for them)."""
        code, table = self._code, self._table
        for name in dict.fromkeys(names):
            if name not in code:
                code[name] = len(table)
                table.append(name)
        return array("I", map(code.__getitem__, names))

    def names(self) -> Iterator[str]:
        named = self._table.__getitem__
        return chain.from_iterable([*(map(named, codes) for codes, _ in self._sealed), self._names])

    def _data_column(self) -> Iterator[dict[str, Any]]:
        for _, sealed_data in self._sealed:
            yield from loads(sealed_data)
        yield from self._data

    def rows(self) -> Iterator[Row]:
        return zip(self.pids, self.names(), self.times, self._data_column(), strict=True)

    def without(self, pids: set[int]) -> Events:
        kept = Events()
        for pid, name, ts, data in self.rows():
            if pid not in pids:
                kept.append(pid, name, ts, data)
        return kept

    def name_counts(self) -> dict[str, int]:
        """Events per name, names in the order first stored."""
        codes: Counter[int] = Counter()
        for sealed_codes, _ in self._sealed:
            codes.update(sealed_codes)
        counts = {self._table[code]: count for code, count in sorted(codes.items())}
        for name, count in Counter(self._names).items():
            counts[name] = counts.get(name, 0) + count
        return counts

    def positions(self, name: str | None = None) -> array[int]:
        """The positions of the events named `name` (else of all), in arrival order: a scan of
        the name column in C, nothing decoded; a chunk of that name alone is one range."""
        if name is None:
            return array("q", range(len(self.pids)))
        hits = array("q")
        code = self._code.get(name, -1)
        columns: list[Sequence[Any]] = [codes for codes, _ in self._sealed]
        for chunk, column in enumerate([*columns, self._names]):
            base = chunk * CHUNK
            value = code if chunk < len(self._sealed) else name
            count = column.count(value)
            if count == len(column):
                hits.extend(range(base, base + count))
            elif count:
                hits.extend(base + at for at in _positions(column, value))
        return hits

    def at(self, positions: Iterable[int]) -> Iterator[Row]:
        """The rows at `positions` (ascending, as `positions` answers them), each sealed chunk
        decoded once, when its first row is reached."""
        sealed = len(self._sealed)
        current, decoded = -1, []
        for i in positions:
            chunk, offset = divmod(i, CHUNK)
            if chunk < sealed:
                if chunk != current:
                    current, decoded = chunk, loads(self._sealed[chunk][1])
                name = self._table[self._sealed[chunk][0][offset]]
                yield self.pids[i], name, self.times[i], decoded[offset]
            else:
                yield self.pids[i], self._names[offset], self.times[i], self._data[offset]

    def data_at(
        self, positions: array[int], kept: dict[int, list[dict[str, Any]]] | None = None
    ) -> list[dict[str, Any]]:
        """The properties at `positions` (ascending), each chunk decoded once; a run of
        consecutive positions is one slice of its chunk. `kept` holds the last sealed chunk
        decoded, for the next call to reuse (a download's next page starts in it)."""
        kept = {} if kept is None else kept
        out: list[dict[str, Any]] = []
        sealed, count, lo = len(self._sealed), len(positions), 0
        while lo < count:
            chunk = positions[lo] // CHUNK
            base = chunk * CHUNK
            hi = bisect_left(positions, base + CHUNK, lo)
            if chunk >= sealed:
                column = self._data
            elif chunk in kept:
                column = kept[chunk]
            else:
                kept.clear()
                column = kept[chunk] = loads(self._sealed[chunk][1])
            first, last = positions[lo] - base, positions[hi - 1] - base
            if last - first == hi - lo - 1:  # consecutive
                out += column[first : last + 1]
            else:
                out += [column[i - base] for i in positions[lo:hi]]
            lo = hi
        return out

    def select(self, pids: set[int] | None = None, name: str | None = None) -> list[Row]:
        """The rows of these pids (else of every pid) named `name` (else any name), in arrival
        order. Only the pid or name column is scanned and only the sealed chunks holding a hit
        are decoded, so one profile's events cost a scan of numbers, not a decode of the store."""
        if pids is not None:
            hits: Iterable[int] = sorted(i for pid in pids for i in _positions(self.pids, pid))
        else:
            hits = self.positions(name)
        return [row for row in self.at(hits) if name is None or row[1] == name]

    # -- state -----------------------------------------------------------------------------
    def export(self) -> list[dict[str, Any]] | dict[str, Any]:
        """The state document's `events`: a row object per event (`GET /_emulator/state`), or
        the columns while the document is the data file's (`core.store.data_file_encoding`)."""
        if DATA_FILE.get():
            return self.columns()
        return [
            {"pid": pid, "name": name, "ts": ts, "data": data}
            for pid, name, ts, data in self.rows()
        ]

    def columns(self) -> dict[str, Any]:
        """`pid` and `ts` lists; `names`, each distinct name once (first stored first) and
        `name`, each event's index in it; `data`, the properties as JSON text, one array per
        CHUNK events (the last one shorter)."""
        codes = array("I")
        for sealed_codes, _ in self._sealed:
            codes += sealed_codes
        codes += self._codes(self._names)  # the unsealed names join the table now: no harm
        data = [sealed.decode() for _, sealed in self._sealed]
        if self._data:
            data.append(dumps(self._data).decode())
        return {
            "pid": self.pids.tolist(),
            "ts": self.times.tolist(),
            "names": list(self._table),
            "name": codes.tolist(),
            "data": data,
        }

    @classmethod
    def load(cls, events: Any) -> Events:
        """The events a state document holds: a list of row objects, or the columns (a dict)."""
        if isinstance(events, dict):
            return cls._from_columns(events)
        loaded = cls()
        for row in events:
            loaded.append(row["pid"], row["name"], row["ts"], dict(row.get("data") or {}))
        return loaded

    @classmethod
    def _from_columns(cls, columns: dict[str, Any]) -> Events:
        """Checked column by column; a chunk of CHUNK events is adopted as it is (its text
        parsed once to check it, never serialised again)."""
        missing = [k for k in COLUMN_KEYS if not isinstance(columns.get(k), list)]
        if missing:
            raise EventColumnsError(f"event columns need lists {', '.join(missing)}")
        names = columns["names"]
        if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
            raise EventColumnsError("event column names holds a non-string, empty or repeated name")
        loaded = cls()
        try:
            loaded.pids = array("q", columns["pid"])
            loaded.times = array("q", columns["ts"])
            codes = array("I", columns["name"])
        except (TypeError, OverflowError) as exc:
            raise EventColumnsError(f"event columns pid, ts and name hold integers: {exc}") from exc
        count = len(loaded.pids)
        if len(loaded.times) != count or len(codes) != count:
            raise EventColumnsError("event columns pid, ts and name differ in length")
        if codes and max(codes) >= len(names):
            raise EventColumnsError("event column name holds an index outside names")
        loaded._table = list(names)
        loaded._code = {name: code for code, name in enumerate(names)}
        done = 0
        for text in columns["data"]:
            rows = _chunk(text)
            if done + len(rows) > count:
                raise EventColumnsError(f"event column data holds more than {count} events")
            if len(rows) == CHUNK and done % CHUNK == 0:
                loaded._sealed.append((codes[done : done + CHUNK], text.encode()))
            else:  # a shorter chunk (the last, or another emulator's CHUNK): stored anew
                for code, data in zip(codes[done : done + len(rows)], rows, strict=True):
                    loaded._names.append(names[code])
                    loaded._data.append(data)
                    if len(loaded._names) >= CHUNK:
                        loaded._seal()
            done += len(rows)
        if done != count:
            raise EventColumnsError(f"event column data holds {done} events, pid {count}")
        return loaded


def _chunk(text: Any) -> list[dict[str, Any]]:
    if not isinstance(text, str):
        raise EventColumnsError("event column data holds JSON text (strings)")
    raw = text.encode()
    try:
        rows = loads(raw)
    except ValueError as exc:
        raise EventColumnsError(f"event column data is not JSON: {exc}") from None
    if not isinstance(rows, list) or not set(map(type, rows)) <= {dict}:
        raise EventColumnsError("event column data holds JSON arrays of objects")
    # The array and an object per event are two levels; each level more needs a bracket more.
    # Flat properties (the usual case) are within the limit by this count alone, and the
    # bytes are scanned only when there are more (core/nesting.py).
    extra = raw.count(b"[") + raw.count(b"{") - len(rows) - 1
    if extra > CHUNK_DEPTH - 2 and exceeds(raw, CHUNK_DEPTH):
        raise EventColumnsError(f"event column data is nested deeper than {CHUNK_DEPTH} levels")
    return rows


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
