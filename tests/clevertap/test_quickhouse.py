"""quickhouse 0.21.0's CleverTap events source downloads from the emulator.

quickhouse (PyPI, Rust engine) is a real public client of `/1/events.json`: it creates the export
with `POST {base_url}/1/events.json?batch_size=N` and a JSON query body, then follows
`next_cursor` with `GET ?cursor=` (docs/clevertap-behaviour.md). `base_url` is given
without `/1`. The rows land in a local CSV destination (`quickhouse.Csv`) under tmp_path, so
nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import quickhouse

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver
from tests.drivers.defaults import ACCOUNT, PASSCODE, epoch

PROFILES = [
    {"type": "profile", "identity": "u1", "profileData": {"Email": "ada@example.com"}},
    {"type": "profile", "identity": "u2", "profileData": {"Email": "bob@example.com"}},
    {"type": "profile", "identity": "u3", "profileData": {"Name": "No Mail"}},
]
# (identity, epoch ts, packed ts as quickhouse writes it, properties)
PURCHASES = [
    ("u1", 1704164645, "2024-01-02T03:04:05.000000Z", {"amount": 5, "plan": "gold"}),
    ("u1", epoch(2024, 1, 2, 23, 59, 59), "2024-01-02T23:59:59.000000Z", {"amount": 10.5}),
    ("u2", epoch(2024, 1, 15, 12), "2024-01-15T12:00:00.000000Z", {"amount": 20, "plan": "x,y"}),
    ("u3", epoch(2024, 1, 31, 23, 59, 59), "2024-01-31T23:59:59.000000Z", {"plan": 'say "hi"'}),
    ("u2", epoch(2024, 1, 1), "2024-01-01T00:00:00.000000Z", {"amount": 0, "plan": ""}),
]
EMAILS = {"u1": "ada@example.com", "u2": "bob@example.com", "u3": ""}
COLUMNS = [
    ("identity", "STRING", "profile.identity"),
    ("email", "STRING", "profile.email"),
    ("object_id", "STRING", "profile.objectId"),
    ("ts", "TIMESTAMP"),
    ("amount", "FLOAT", "event_props.amount"),
    ("plan", "STRING", "event_props.plan"),
    ("props", "JSON", "event_props"),
]


def seed(ct: CleverTapDriver) -> None:
    ct.upload_ok(*PROFILES)
    purchases = [
        {"type": "event", "identity": who, "evtName": "Purchased", "ts": ts, "evtData": props}
        for who, ts, _, props in PURCHASES
    ]
    noise = [
        # Another event, and purchases outside the window: none of them may arrive.
        {"type": "event", "identity": "u1", "evtName": "Viewed", "ts": epoch(2024, 1, 5)},
        {"type": "event", "identity": "u1", "evtName": "Purchased", "ts": epoch(2023, 12, 31)},
        {"type": "event", "identity": "u2", "evtName": "Purchased", "ts": epoch(2024, 2, 1)},
    ]
    ct.upload_ok(*purchases, *noise)


def read_table(root: Path, table: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for part in sorted((root / table).glob("part-*.csv")):
        with part.open(newline="", encoding="utf-8") as f:
            rows += list(csv.DictReader(f))
    return rows


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # reqwest honours proxy variables: keep the emulator's address off any proxy.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def sync(emulator: EmulatorHandle, root: Path, batch_size: int, **source: Any) -> Any:
    src = quickhouse.CleverTap(
        source.pop("account_id", ACCOUNT),
        source.pop("passcode", PASSCODE),
        source.pop("event_name", "Purchased"),
        COLUMNS,
        base_url=emulator.url,  # without /1: quickhouse adds it
        batch_size=batch_size,
        from_date=source.pop("from_date", "2024-01-01"),
        to_date=source.pop("to_date", "2024-01-31"),
        **source,
    )
    return quickhouse.sync(src, quickhouse.Csv(root), dest_table="events", mode="full")


def test_quickhouse_downloads_every_uploaded_event(
    emulator: EmulatorHandle, tmp_path: Path, ct: CleverTapDriver
) -> None:
    seed(ct)
    since = emulator.client.health()["journal"]["last_seq"]

    result = sync(emulator, tmp_path, batch_size=2)

    assert result.rows_read == len(PURCHASES)
    assert result.rows_written == len(PURCHASES)
    assert not result.warnings, result.warnings
    rows = read_table(tmp_path, "events")
    ids = {who: ct.object_id(who) for who in EMAILS}
    got = sorted(rows, key=lambda r: r["ts"])
    expected = sorted(
        (
            {
                "identity": who,
                "email": EMAILS[who],
                "object_id": ids[who],
                "ts": iso,
                "amount": "" if "amount" not in props else str(float(props["amount"])),
                "plan": props.get("plan", ""),
                "props": props,
            }
            for who, _, iso, props in PURCHASES
        ),
        key=lambda r: r["ts"],
    )
    for row in got:
        row["props"] = json.loads(row["props"])  # type: ignore[assignment]
    assert got == expected

    # On the wire: one POST with the query body, then GET pages by cursor (5 events, 2 a page).
    journal = emulator.client.requests(path="/1/events.json", since=since)
    assert [e["method"] for e in journal] == ["POST", "GET", "GET", "GET"]
    assert all(e["status"] == 200 for e in journal)
    create = journal[0]
    assert create["query"] == {"batch_size": "2"}
    assert create["body"] == {"event_name": "Purchased", "from": 20240101, "to": 20240131}
    # quickhouse (reqwest) sends the header names lower-case.
    assert "x-clevertap-account-id" in {h.lower() for h in create["headers"]}


def test_quickhouse_with_one_page(
    emulator: EmulatorHandle, tmp_path: Path, ct: CleverTapDriver
) -> None:
    seed(ct)
    result = sync(emulator, tmp_path, batch_size=5000)
    assert result.rows_read == len(PURCHASES)
    assert len(read_table(tmp_path, "events")) == len(PURCHASES)
    # quickhouse flags any one-page export as possibly cut short; the data is all there.
    assert [w.kind for w in result.warnings] == ["incomplete_export"]


def test_quickhouse_base_url_must_not_end_in_1(
    emulator: EmulatorHandle, tmp_path: Path, ct: CleverTapDriver
) -> None:
    # quickhouse adds /1 itself: a base URL with /1 reaches /1/1/events.json, a CleverTap 404.
    seed(ct)
    src = quickhouse.CleverTap(
        ACCOUNT,
        PASSCODE,
        "Purchased",
        COLUMNS,
        base_url=emulator.url + "/1",
        from_date="2024-01-01",
        to_date="2024-01-31",
    )
    with pytest.raises(Exception, match="404"):
        quickhouse.sync(src, quickhouse.Csv(tmp_path), dest_table="events", mode="full")
    (entry,) = emulator.client.requests(path="/1/1/events.json")
    assert entry["status"] == 404
    assert entry["response"]["status"] == "fail" and entry["response"]["code"] == 404


def test_quickhouse_with_a_narrower_window(
    emulator: EmulatorHandle, tmp_path: Path, ct: CleverTapDriver
) -> None:
    seed(ct)
    result = sync(emulator, tmp_path, batch_size=1, from_date="2024-01-02", to_date="2024-01-15")
    assert result.rows_read == 3
    rows = read_table(tmp_path, "events")
    assert sorted(r["ts"] for r in rows) == [
        "2024-01-02T03:04:05.000000Z",
        "2024-01-02T23:59:59.000000Z",
        "2024-01-15T12:00:00.000000Z",
    ]


def test_quickhouse_with_no_matching_events(
    emulator: EmulatorHandle, tmp_path: Path, ct: CleverTapDriver
) -> None:
    seed(ct)
    result = sync(emulator, tmp_path, batch_size=10, event_name="Never Happened")
    assert result.rows_read == 0
    assert read_table(tmp_path, "events") == []


def test_quickhouse_with_a_wrong_passcode_fails(
    emulator: EmulatorHandle, tmp_path: Path, ct: CleverTapDriver
) -> None:
    seed(ct)
    with pytest.raises(Exception) as error:
        sync(emulator, tmp_path, batch_size=10, passcode="wrong")
    assert "401" in str(error.value) or "Invalid Credentials" in str(error.value)
    assert emulator.client.count(path="/1/events.json", status=401) >= 1


def test_quickhouse_retries_a_page_that_is_not_ready(
    emulator: EmulatorHandle, tmp_path: Path, ct: CleverTapDriver
) -> None:
    # Account option cursor_not_ready_polls: each page first answers code 2 "Request still in
    # progress"; quickhouse retries the same cursor (after 250 ms) and gets every row.
    account = {
        "kind": "clevertap_account",
        "id": "EMU-SLOW-01",
        "passcode": "slow-pass",
        "region": "eu1",
        "options": {"cursor_not_ready_polls": 1},
    }
    emulator.client.add_tenant(account)
    records = [
        {"type": "event", "identity": who, "evtName": "Purchased", "ts": ts, "evtData": props}
        for who, ts, _, props in PURCHASES
    ]
    ct.for_account("EMU-SLOW-01", "slow-pass").upload_ok(*records)

    result = sync(emulator, tmp_path, 3, account_id="EMU-SLOW-01", passcode="slow-pass")

    assert result.rows_read == len(PURCHASES)
    assert sorted(r["ts"] for r in read_table(tmp_path, "events")) == sorted(
        iso for _, _, iso, _ in PURCHASES
    )
    pages = emulator.client.requests(path="/1/events.json", method="GET")
    not_ready = [p for p in pages if p["response"].get("code") == 2]
    assert len(not_ready) == 2  # one per page
    assert all(
        p["response"]["error"] == "Request still in progress, please retry later" for p in not_ready
    )


@pytest.mark.parametrize(
    "fault",
    [
        {"method": "POST", "status": 503},
        {"method": "GET", "status": 429, "retry_after": 0},
        {"method": "GET", "status": 500},
    ],
    ids=["create-503", "page-429", "page-500"],
)
def test_quickhouse_retries_transient_errors(
    emulator: EmulatorHandle, tmp_path: Path, fault: dict[str, Any], ct: CleverTapDriver
) -> None:
    seed(ct)
    emulator.client.add_fault(platform="clevertap", path="/1/events.json", times=1, **fault)
    result = sync(emulator, tmp_path, batch_size=2)
    assert result.rows_read == len(PURCHASES)
    statuses = [e["status"] for e in emulator.client.requests(path="/1/events.json")]
    assert statuses.count(fault["status"]) == 1
    assert statuses.count(200) == 4  # the create and three pages
