"""Report answers in the shapes CleverTap documents (docs/clevertap-behaviour.md, "Reads"):
top.json's NUMBER ranges, trends.json's answer for an event the account never recorded, and
the page of an empty download."""

from __future__ import annotations

from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver
from tests.drivers.clevertap import bad_request, event_record, ok
from tests.drivers.defaults import epoch

DAY = epoch(2024, 1, 2, 12)
JANUARY = {"from": 20240101, "to": 20240131}
OMITTING_ACCOUNT = {
    "kind": "clevertap_account",
    "id": "EMU-OMIT-01",
    "passcode": "omit-pass",
    "region": "eu1",
    "options": {"omit_empty_records": True},
}


def top(ct: CleverTapDriver, name: str, **group: Any) -> dict[str, Any]:
    body = {
        **JANUARY,
        "event_name": "Charged",
        "groups": {"foo": {"property_type": "event_properties", "name": name, **group}},
    }
    answer: dict[str, Any] = ok(ct.request("POST", "/1/counts/top.json", json=body))["foo"]
    return answer


def test_top_groups_numbers_into_ranges_like_the_documented_sample(ct: CleverTapDriver) -> None:
    """The documented sample answers `{"NUMBER": {"0-100": 10, "100-200": 9, ...,
    "900-1000": 1}}` (https://developer.clevertap.com/docs/top-property-counts-api): values from
    0 to 999 come back in ten ranges of 100, not as raw values."""
    amounts = [v for i in range(10) for v in range(i * 100, i * 100 + 10 - i)]
    ct.upload_ok(*[event_record(f"u{v}", "Charged", DAY, Amount=v) for v in amounts])
    assert top(ct, "Amount") == {
        "NUMBER": {f"{i * 100}-{(i + 1) * 100}": 10 - i for i in range(10)}
    }


def test_top_keeps_strings_as_values_and_ranges_only_numbers(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        event_record("a", "Charged", DAY, Tier="Gold", Amount=3),
        event_record("b", "Charged", DAY, Tier="Silver", Amount=7.5),
        event_record("c", "Charged", DAY, Tier="Silver", Amount=41),
    )
    assert top(ct, "Tier", top_n=2, order="asc") == {"STR": {"Gold": 1, "Silver": 2}}
    # 0 to 41 needs ranges of 5 (ranges of 2 would be 21): only ranges holding a value appear.
    assert top(ct, "Amount") == {"NUMBER": {"0-5": 1, "5-10": 1, "40-45": 1}}


def test_trends_of_an_event_never_recorded_fail_with_code_400(ct: CleverTapDriver) -> None:
    """trends.json with an unknown event: `{"status": "fail", "error": "[\\"Invalid event :
    Uninstalled\\"]", "code": 400}` (the counts docs: a fail carries an error and an
    appropriate HTTP status, https://developer.clevertap.com/docs/trends-api)."""
    ct.upload_ok(event_record("a", "Charged", DAY, Amount=1))
    body = {**JANUARY, "event_name": "Uninstalled", "groups": {"d": {"trend_type": "daily"}}}
    answer = bad_request(ct.request("POST", "/1/counts/trends.json", json=body))
    assert answer["error"] == '["Invalid event : Uninstalled"]'
    # A known event without data in the range is not an error: its days are just empty.
    known = {**body, "event_name": "Charged", "from": 20240201, "to": 20240229}
    assert ok(ct.request("POST", "/1/counts/trends.json", json=known))["d"] == {}


def test_an_empty_download_page_has_the_documented_records_key(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    """Every page in the download docs carries `records`
    (https://developer.clevertap.com/docs/get-events-api): an empty download answers
    `"records": []`; the option `omit_empty_records` drops the key instead, as a client's
    authors report the live API doing."""
    query = {**JANUARY, "event_name": "Never Happened"}
    for kind in ("events", "profiles"):
        (page,) = ct.pages(kind, ct.create_cursor(kind, query))
        assert page["records"] == [] and "next_cursor" not in page, page
    emulator.client.add_tenant(OMITTING_ACCOUNT)
    omitting = ct.for_account("EMU-OMIT-01", "omit-pass")
    for kind in ("events", "profiles"):
        (page,) = omitting.pages(kind, omitting.create_cursor(kind, query))
        assert "records" not in page and "next_cursor" not in page, page
