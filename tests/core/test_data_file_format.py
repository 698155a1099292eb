"""The data file's version 2: CleverTap events in columns (clevertap/eventlog.py), loaded back
exactly, a version 1 file (the control API's document) still loaded, and a broken column or a
file nested past the limit refused at start with one line. `GET /_emulator/state` keeps
version 1 and a row per event (docs/configuration.md, "State and persistence")."""

from __future__ import annotations

import json
import random
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest

from emulator.clevertap.eventlog import CHUNK, CHUNK_DEPTH, EventColumnsError, Events
from emulator.core.nesting import deeper_than, exceeds
from emulator.core.store import FILE_VERSION, VERSION, data_file_encoding, encode
from emulator.testing.defaults import clevertap_headers
from tests.drivers.clevertap import event_record, profile_record
from tests.drivers.datafile import assert_start_refused, saved_data_file

if TYPE_CHECKING:
    from tests.conftest import RunEmulator, SpawnEmulator

NAMES = ("Charged", "App Launched", 'Quote "and" \\ back', "Añadido 🛒")


def _rows(count: int) -> list[tuple[int, str, int, dict[str, Any]]]:
    """Events of several names, with nested, unicode and escaped properties."""
    return [
        (
            1 + i % 7,
            NAMES[i % 3 if i < CHUNK else i % len(NAMES)],
            1_700_000_000 + i,
            {"n": i, "price": i / 4, "tags": ["a", {"deep": [i]}], "note": 'q"\\\n', "ok": None},
        )
        for i in range(count)
    ]


def _log(rows: list[tuple[int, str, int, dict[str, Any]]]) -> Events:
    events = Events()
    for row in rows:
        events.append(*row)
    return events


def _through_json(events: Events) -> Any:
    """The events' columns as a data file holds them (written and parsed again)."""
    with data_file_encoding():
        return orjson.loads(encode({"events": events.export()}))["events"]  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [0, 5, CHUNK, 2 * CHUNK + 5])
def test_event_columns_load_back_exactly(count: int) -> None:
    rows = _rows(count)
    events = _log(rows)
    columns = _through_json(events)
    assert set(columns) == {"pid", "ts", "names", "name", "data"}
    assert len(columns["pid"]) == count and len(columns["data"]) == -(-count // CHUNK)
    loaded = Events.load(columns)
    assert list(loaded.rows()) == rows
    assert loaded.name_counts() == events.name_counts()
    assert _through_json(loaded) == columns
    # What a reader of the file sees: each chunk's text is a JSON array of the properties.
    assert [d for text in columns["data"] for d in json.loads(text)] == [r[3] for r in rows]
    assert [columns["names"][code] for code in columns["name"]] == [r[1] for r in rows]
    # After a load the log goes on as before.
    loaded.append(9, "Later", 1_800_000_000, {"x": 1})
    assert list(loaded.rows())[-1] == (9, "Later", 1_800_000_000, {"x": 1})
    assert loaded.select(name="Later") == [(9, "Later", 1_800_000_000, {"x": 1})]


def test_event_columns_in_chunks_of_another_size_load() -> None:
    """A file whose chunks are not CHUNK events (another emulator's choice) loads the same."""
    rows = _rows(2 * CHUNK + 5)
    columns = _through_json(_log(rows))
    data = [d for text in columns["data"] for d in json.loads(text)]
    columns["data"] = [json.dumps(data[i : i + 1000]) for i in range(0, len(data), 1000)]
    loaded = Events.load(columns)
    assert list(loaded.rows()) == rows
    assert loaded.select(name=NAMES[1]) == [r for r in rows if r[1] == NAMES[1]]


def test_outside_the_data_file_events_export_as_rows() -> None:
    """`GET /_emulator/state` keeps its documented shape: one object per event."""
    rows = _rows(3)
    assert _log(rows).export() == [
        {"pid": pid, "name": name, "ts": ts, "data": data} for pid, name, ts, data in rows
    ]
    assert Events.load(_log(rows).export()).select() == rows


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda c: c.pop("data"), "need lists data"),
        (lambda c: c.update(ts=c["ts"][:-1]), "differ in length"),
        (lambda c: c.update(pid=[*c["pid"][:-1], "7"]), "hold integers"),
        (lambda c: c.update(name=[*c["name"][:-1], 99]), "index outside names"),
        (lambda c: c.update(name=[*c["name"][:-1], -1]), "hold integers"),
        (lambda c: c.update(names=[*c["names"], c["names"][0]]), "repeated name"),
        (lambda c: c.update(data=[*c["data"][:-1], "[{]"]), "not JSON"),
        (lambda c: c.update(data=[*c["data"][:-1], "[1, 2]"]), "arrays of objects"),
        (lambda c: c.update(data=[*c["data"], "[{}]"]), "more than"),
        (lambda c: c.update(data=c["data"][:-1]), "holds 4096 events"),
        (lambda c: c.update(data=[*c["data"][:-1], 7]), "JSON text"),
        (
            lambda c: c.update(data=[*c["data"][:-1], json.dumps([_deep(CHUNK_DEPTH)] * 5)]),
            f"nested deeper than {CHUNK_DEPTH}",
        ),
    ],
)
def test_broken_event_columns_are_refused_with_the_reason(mutate: Any, named: str) -> None:
    columns = _through_json(_log(_rows(CHUNK + 5)))
    mutate(columns)
    with pytest.raises(EventColumnsError, match=named):
        Events.load(columns)


def test_a_chunk_at_the_nesting_limit_loads() -> None:
    columns = _through_json(_log(_rows(5)))
    deep = [_deep(CHUNK_DEPTH - 2)] * 5  # the array and the object are the other two levels
    columns["data"] = [json.dumps(deep)]
    assert [row[3] for row in Events.load(columns).rows()] == deep


def test_deeper_than_agrees_with_the_text_scan() -> None:
    """The parsed document's measure (a version 2 file) and the text's (core/nesting.py)."""
    rng = random.Random(17)

    def value(depth: int) -> Any:
        kind = rng.random()
        if depth == 0 or kind < 0.3:
            return rng.choice([1, "s[{", None, 2.5, "]}"])
        if kind < 0.65:
            return [value(depth - 1) for _ in range(rng.randint(0, 3))]
        return {f"k{i}": value(depth - 1) for i in range(rng.randint(0, 3))}

    for _ in range(300):
        doc = {"t": value(rng.randint(0, 12))}
        for limit in (1, 2, 3, 5, 8, 12):
            assert deeper_than(doc, limit) == exceeds(orjson.dumps(doc), limit), (doc, limit)


# -- the emulator's data file --------------------------------------------------------------------


def _upload(http: httpx.Client) -> None:
    body = {
        "d": [
            profile_record("u1", Name="Ada"),
            event_record("u1", "Charged", 1_704_067_200, Amount=5, Items=[{"sku": "a"}]),
            event_record("u1", "Viewed", 1_704_067_260),
            event_record("u2", "Charged", 1_704_067_320, Amount=7),
        ]
    }
    assert http.post("/1/upload", json=body, headers=clevertap_headers()).is_success


def _events(document: dict[str, Any]) -> Any:
    [account] = document["clevertap.accounts"].values()
    return account["events"]


def _tables(document: dict[str, Any]) -> dict[str, Any]:
    return {name: table for name, table in document.items() if name != "_meta"}


def test_a_version_1_file_loads_and_the_next_save_writes_version_2(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    first = spawn_emulator("--quiet")
    with httpx.Client(base_url=first.url, timeout=10) as http:
        _upload(http)
        exported = http.get("/_emulator/state").json()
    first.stop(signal.SIGKILL)
    assert exported["_meta"]["1"]["version"] == VERSION
    assert [e["name"] for e in _events(exported)] == ["Charged", "Viewed", "Charged"]

    data_file = tmp_path / "state.json"
    data_file.write_bytes(json.dumps(exported).encode())  # a version 1 data file
    second = spawn_emulator("--data-file", str(data_file), "--quiet")
    with httpx.Client(base_url=second.url, timeout=10) as http:
        assert _tables(http.get("/_emulator/state").json()) == _tables(exported)
        assert http.post("/_emulator/state/save").status_code == 200
    second.stop(signal.SIGKILL)
    saved = json.loads(data_file.read_bytes())
    assert saved["_meta"]["1"]["version"] == FILE_VERSION
    columns = _events(saved)
    assert columns["names"] == ["Charged", "Viewed"]
    assert columns["name"] == [0, 1, 0]
    assert [d for text in columns["data"] for d in json.loads(text)] == [
        e["data"] for e in _events(exported)
    ]

    third = spawn_emulator("--data-file", str(data_file), "--quiet")
    with httpx.Client(base_url=third.url, timeout=10) as http:
        again = http.get("/_emulator/state").json()
        assert again["_meta"]["1"]["version"] == VERSION  # the control API's shape, unchanged
        assert _tables(again) == _tables(exported)
        records = http.get("/1/profile.json?identity=u1", headers=clevertap_headers()).json()
        assert records["record"]["events"]["Charged"]["count"] == 1
    third.stop(signal.SIGKILL)


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda e: e.update(name=[0, 5, 0]), "event column name holds an index outside names"),
        (lambda e: e.update(data=['[{"a": 1}'] * len(e["data"])), "event column data is not JSON"),
        (lambda e: e.update(ts=[1, 2]), "differ in length"),
    ],
)
def test_a_data_file_with_broken_event_columns_stops_the_start(
    spawn_emulator: SpawnEmulator,
    run_emulator: RunEmulator,
    tmp_path: Path,
    mutate: Any,
    named: str,
) -> None:
    data_file = tmp_path / "state.json"
    document = saved_data_file(spawn_emulator, data_file, _upload)
    mutate(_events(document))
    assert_start_refused(run_emulator, data_file, document, named)
