"""CleverTap read APIs (docs/clevertap-behaviour.md, "Reads"): profile.json, the cursor downloads
events.json and profiles.json, counts, top, trends, now.json and the `report_polls` option.

Every request is hand-written HTTP, as a client on the wire would send it.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import httpx
import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver
from tests.drivers.clevertap import bad_request, event_record, ok, profile_record
from tests.drivers.defaults import epoch

ACCOUNT = "EMU-TEST-0001"


# A known value, not derived by the helper above: 2024-01-02T03:04:05Z.
KNOWN_TS = 1704164645
assert epoch(2024, 1, 2, 3, 4, 5) == KNOWN_TS


# -- helpers ---------------------------------------------------------------------------------


def numbers(records: list[dict[str, Any]]) -> set[int]:
    """The `n` event property that tags each seeded event."""
    return {r["event_props"]["n"] for r in records}


# -- seed data -------------------------------------------------------------------------------

PROFILES = [
    profile_record("u1", Name="Ada", Email="ada@example.com", Tier="gold"),
    profile_record("u2", Name="Bob", Email="bob@example.com", Tier="silver"),
    profile_record("u3", Tier="gold"),
]
# n tags each event; the days straddle midnight so the from/to filter is exact.
EVENTS = [
    event_record(
        "u1", "Purchased", epoch(2024, 1, 1, 23, 59, 59), n=1, amount=5, plan="gold", coupon="X"
    ),
    event_record("u1", "Purchased", epoch(2024, 1, 2), n=2, amount=10, plan="silver"),
    event_record(
        "u2", "Purchased", epoch(2024, 1, 3, 12), n=3, amount=20, plan="golden", coupon="Y"
    ),
    event_record("u3", "Purchased", epoch(2024, 1, 4), n=4, amount=10, plan="bronze"),
    event_record("u2", "Viewed", epoch(2024, 1, 2, 10), n=5, amount=1, plan="gold"),
]
JANUARY = {"event_name": "Purchased", "from": 20240101, "to": 20240131}


@pytest.fixture
def seeded(emulator: EmulatorHandle, ct: CleverTapDriver) -> EmulatorHandle:
    ct.upload_ok(*PROFILES)
    ct.upload_ok(*EVENTS)
    return emulator


# -- profile.json ----------------------------------------------------------------------------


def test_profile_by_identity(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    record = ct.profile(identity="u1")
    assert record["identity"] == "u1"
    assert record["email"] == "ada@example.com"
    assert record["name"] == "Ada"
    assert record["profileData"]["Tier"] == "gold"
    assert "identity" not in record["profileData"]
    assert "u1" in record["identities"]
    assert record["events"]["Purchased"] == {
        "count": 2,
        "first_seen": epoch(2024, 1, 1, 23, 59, 59),
        "last_seen": epoch(2024, 1, 2),
    }
    (info,) = record["platformInfo"]
    # A profile not created by objectId gets a CleverTap ID `__<32 hex>`.
    assert re.fullmatch(r"__[0-9a-f]{32}", info["objectId"]), info


def test_profile_by_email_and_by_object_id_find_the_same_record(
    seeded: EmulatorHandle, ct: CleverTapDriver
) -> None:
    by_identity = ct.profile(identity="u2")
    assert ct.profile(email="bob@example.com") == by_identity
    object_id = by_identity["platformInfo"][0]["objectId"]
    assert ct.profile(objectId=object_id) == by_identity


def test_profile_created_by_object_id(ct: CleverTapDriver) -> None:
    object_id = "__0123456789abcdef0123456789abcdef"
    ct.upload_ok({"type": "profile", "objectId": object_id, "profileData": {"Score": 3}})
    record = ct.profile(objectId=object_id)
    assert record["profileData"]["Score"] == 3
    assert [i["objectId"] for i in record["platformInfo"]] == [object_id]
    assert record["platformInfo"][0]["platform"] == "Android"


def test_identity_with_a_plus_sent_unencoded_is_found(ct: CleverTapDriver) -> None:
    ct.upload_ok(profile_record("a+b@x.com", Name="Plus"))
    # The npm client pastes the value raw: `+` reaches the server as a space once decoded.
    response = ct.request("GET", "/1/profile.json?identity=a+b@x.com")
    record = ok(response)["record"]
    assert record["identity"] == "a+b@x.com"
    assert record["name"] == "Plus"
    # Percent-encoded, it is found directly.
    assert ct.profile(identity="a+b@x.com")["name"] == "Plus"


def test_phone_identity_sent_unencoded_is_found(ct: CleverTapDriver) -> None:
    ct.upload_ok(profile_record("+14155550100", Name="Phone"))
    record = ok(ct.request("GET", "/1/profile.json?identity=+14155550100"))["record"]
    assert record["identity"] == "+14155550100"


def test_an_identity_with_a_real_space_is_found_as_is(ct: CleverTapDriver) -> None:
    ct.upload_ok(profile_record("a b", Name="Space"), profile_record("a+b", Name="Plus"))
    assert ct.profile(identity="a b")["name"] == "Space"
    assert ok(ct.request("GET", "/1/profile.json?identity=a+b"))["record"]["name"] == "Space"
    assert ct.profile(identity="a+b")["name"] == "Plus"


def test_an_identity_with_a_plus_and_a_space_as_the_npm_client_sends_it(
    ct: CleverTapDriver,
) -> None:
    # The client leaves `+` as is and encodes the space: `a+b c` arrives as `a+b%20c`.
    ct.upload_ok(profile_record("a+b c", Name="Both"))
    record = ok(ct.request("GET", "/1/profile.json?identity=a+b%20c"))["record"]
    assert record["name"] == "Both"


def test_email_with_a_plus_sent_unencoded_is_found(ct: CleverTapDriver) -> None:
    ct.upload_ok(profile_record("plus-mail", Email="a+b@x.com"))
    record = ok(ct.request("GET", "/1/profile.json?email=a+b@x.com"))["record"]
    assert record["identity"] == "plus-mail"


def test_email_lookup_is_case_insensitive(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    assert ct.profile(email="ADA@Example.com")["identity"] == "u1"


def test_email_shared_by_two_profiles_stays_findable(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        profile_record("s1", Email="shared@example.com"),
        profile_record("s2", Email="shared@example.com"),
    )
    assert ct.profile(email="shared@example.com")["identity"] in ("s1", "s2")
    # s2 moves to another address; s1 still has the shared one.
    ct.upload_ok(profile_record("s2", Email="new@example.com"))
    assert ct.profile(email="new@example.com")["identity"] == "s2"
    assert ct.profile(email="shared@example.com")["identity"] == "s1"


def test_profile_not_found(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    for query in ({"identity": "nobody"}, {"email": "no@x.com"}, {"objectId": "__nope"}):
        response = ct.request("GET", "/1/profile.json", params=query)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "fail", "error": "Profile not found", "code": 404}


@pytest.mark.parametrize("query", ["", "?name=u1", "?Identity=u1"])
def test_profile_without_a_lookup_key_is_a_400(
    seeded: EmulatorHandle, query: str, ct: CleverTapDriver
) -> None:
    bad_request(ct.request("GET", f"/1/profile.json{query}"))


@pytest.mark.parametrize("query", ["?identity=", "?email=", "?objectId="])
def test_profile_with_an_empty_lookup_key_finds_nothing(
    seeded: EmulatorHandle, query: str, ct: CleverTapDriver
) -> None:
    response = ct.request("GET", f"/1/profile.json{query}")
    assert response.status_code in (200, 400), response.text
    assert response.json()["status"] == "fail"


def test_profile_needs_the_passcode(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    headers = {"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": "wrong"}
    response = ct.request("GET", "/1/profile.json", params={"identity": "u1"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": "fail", "error": "Invalid Credentials", "code": 401}


# -- events.json -----------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["post", "get"])
@pytest.mark.parametrize("page_method", ["GET", "POST"])
def test_events_download_in_both_forms(
    seeded: EmulatorHandle, form: str, page_method: str, ct: CleverTapDriver
) -> None:
    cursor = ct.create_cursor("events", JANUARY, batch_size=3, form=form)
    found = ct.pages("events", cursor, page_method)
    assert len(found) == 2
    assert "next_cursor" in found[0]
    assert "next_cursor" not in found[1]
    assert [len(p["records"]) for p in found] == [3, 1]
    assert numbers([r for p in found for r in p["records"]]) == {1, 2, 3, 4}


def test_events_download_from_the_npm_client_query_string(
    seeded: EmulatorHandle, ct: CleverTapDriver
) -> None:
    # The exact query string the npm client builds (querystring.stringify of JSON.stringify).
    query = urllib.parse.quote(json.dumps(JANUARY, separators=(",", ":")), safe="")
    body = ok(ct.request("GET", f"/1/events.json?batch_size=10&query={query}"))
    records = [r for p in ct.pages("events", body["cursor"]) for r in p["records"]]
    assert numbers(records) == {1, 2, 3, 4}


def test_event_record_shape(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    records = ct.download("events", {**JANUARY, "from": 20240102, "to": 20240102})
    (record,) = records
    assert record["ts"] == 20240102000000
    assert record["event_props"] == {"n": 2, "amount": 10, "plan": "silver"}
    assert record["session_props"] == {}
    prof = record["profile"]
    assert prof["identity"] == "u1"
    assert prof["email"] == "ada@example.com"
    assert prof["profileData"]["Tier"] == "gold"
    assert prof["platform"] in {"Android", "iOS", "Web"}
    object_id = ct.profile(identity="u1")["platformInfo"][0]["objectId"]
    assert prof["objectId"] == object_id


def test_batch_size_one_gives_one_page_per_event(
    seeded: EmulatorHandle, ct: CleverTapDriver
) -> None:
    found = ct.pages("events", ct.create_cursor("events", JANUARY, batch_size=1))
    assert len(found) == 4
    assert all(len(p["records"]) == 1 for p in found)
    assert all("next_cursor" in p for p in found[:-1])
    assert "next_cursor" not in found[-1]
    assert numbers([p["records"][0] for p in found]) == {1, 2, 3, 4}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_page_asked_twice_is_the_same_page(
    seeded: EmulatorHandle, method: str, ct: CleverTapDriver
) -> None:
    # Clients retry a page (after a timeout or a code 2): the answer must not move on.
    cursor = ct.create_cursor("events", JANUARY, batch_size=3)
    first = ok(ct.request(method, f"/1/events.json?cursor={cursor}"))
    again = ok(ct.request(method, f"/1/events.json?cursor={cursor}"))
    assert again == first
    last = ok(ct.request(method, f"/1/events.json?cursor={first['next_cursor']}"))
    assert ok(ct.request(method, f"/1/events.json?cursor={first['next_cursor']}")) == last


def test_a_download_holds_the_events_stored_when_its_cursor_was_made(
    seeded: EmulatorHandle, ct: CleverTapDriver
) -> None:
    """A cursor keeps the matching events, and builds each page when it is read (a million
    events are not copied into records up front): events stored later are not in it, and a
    profile deleted later still shows in the pages that hold its events."""
    cursor = ct.create_cursor("events", JANUARY, batch_size=3)
    ct.upload_ok(event_record("u1", "Purchased", epoch(2024, 1, 5), n=6, amount=1, plan="x"))
    deleted = ct.post("/1/delete/profiles.json", {"identity": ["u3"]})
    assert deleted.status_code == 200, deleted.text
    found = ct.pages("events", cursor)
    records = [r for p in found for r in p["records"]]
    assert numbers(records) == {1, 2, 3, 4}
    assert [r["profile"]["identity"] for r in records] == ["u1", "u1", "u2", "u3"]
    # A new download sees the new event and no longer the deleted profile's.
    assert numbers(ct.download("events", JANUARY)) == {1, 2, 3, 6}


def test_a_cursor_does_not_survive_a_reset(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    cursor = ct.create_cursor("events", JANUARY, batch_size=3)
    seeded.client.reset()
    response = ct.request("GET", f"/1/events.json?cursor={cursor}")
    assert response.status_code < 500, response.text
    assert response.json()["status"] == "fail"


def test_batch_size_defaults_to_10(ct: CleverTapDriver) -> None:
    ct.upload_ok(*[event_record("u1", "Tick", epoch(2024, 1, 1, 0, i), n=i) for i in range(12)])
    query = {"event_name": "Tick", "from": 20240101, "to": 20240101}
    found = ct.pages("events", ct.create_cursor("events", query))
    assert [len(p["records"]) for p in found] == [10, 2]


def test_event_ts_is_packed_utc_civil_time(ct: CleverTapDriver) -> None:
    leap_second_before_march = 1709251199  # 2024-02-29T23:59:59Z
    ct.upload_ok(
        event_record("u1", "Stamped", KNOWN_TS, n=1),
        event_record("u1", "Stamped", leap_second_before_march, n=2),
    )
    records = ct.download("events", {"event_name": "Stamped", "from": 20240101, "to": 20241231})
    by_n = {r["event_props"]["n"]: r["ts"] for r in records}
    assert by_n == {1: 20240102030405, 2: 20240229235959}
    assert all(isinstance(ts, int) for ts in by_n.values())


def test_event_without_ts_is_stamped_with_the_emulator_clock(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    emulator.client.freeze_clock(epoch(2024, 5, 6, 7, 8, 9))
    ct.upload_ok(event_record("u1", "Now", None, n=1))
    (record,) = ct.download("events", {"event_name": "Now", "from": 20240506, "to": 20240506})
    assert record["ts"] == 20240506070809


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ((20240102, 20240103), {2, 3}),
        ((20240101, 20240101), {1}),
        ((20240104, 20240110), {4}),
        ((20231201, 20231231), set()),
        ((20240101, 20240131), {1, 2, 3, 4}),
    ],
)
def test_events_from_to_are_inclusive_utc_days(
    seeded: EmulatorHandle, days: tuple[int, int], expected: set[int], ct: CleverTapDriver
) -> None:
    query = {"event_name": "Purchased", "from": days[0], "to": days[1]}
    assert numbers(ct.download("events", query)) == expected


def test_an_empty_download_has_one_last_page(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    query = {"event_name": "Never Happened", "from": 20240101, "to": 20240131}
    found = ct.pages("events", ct.create_cursor("events", query))
    assert len(found) == 1
    assert found[0].get("records", []) == []
    assert "next_cursor" not in found[0]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"name": "plan", "value": "gold"}, {1}),  # equals is the default
        ({"name": "plan", "operator": "equals", "value": "gold"}, {1}),
        ({"name": "amount", "operator": "equals", "value": 10}, {2, 4}),
        ({"name": "plan", "operator": "not_equals", "value": "gold"}, {2, 3, 4}),
        ({"name": "amount", "operator": "greater_than", "value": 10}, {3}),
        ({"name": "amount", "operator": "greater_than_equals", "value": 10}, {2, 3, 4}),
        ({"name": "amount", "operator": "less_than", "value": 10}, {1}),
        ({"name": "amount", "operator": "less_than_equals", "value": 10}, {1, 2, 4}),
        ({"name": "plan", "operator": "contains", "value": "gold"}, {1, 3}),
        ({"name": "plan", "operator": "not_contains", "value": "gold"}, {2, 4}),
        ({"name": "coupon", "operator": "exists", "value": True}, {1, 3}),
    ],
    ids=lambda v: v.get("operator", "default") if isinstance(v, dict) else None,
)
def test_event_property_operators(
    seeded: EmulatorHandle, condition: dict[str, Any], expected: set[int], ct: CleverTapDriver
) -> None:
    query = {**JANUARY, "event_properties": [condition]}
    assert numbers(ct.download("events", query)) == expected


def test_event_property_conditions_all_apply(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    conditions = [
        {"name": "amount", "operator": "greater_than_equals", "value": 10},
        {"name": "plan", "operator": "contains", "value": "gold"},
    ]
    assert numbers(ct.download("events", {**JANUARY, "event_properties": conditions})) == {3}


def test_props_is_the_older_name_of_event_properties(
    seeded: EmulatorHandle, ct: CleverTapDriver
) -> None:
    query = {**JANUARY, "props": [{"name": "plan", "operator": "equals", "value": "gold"}]}
    assert numbers(ct.download("events", query)) == {1}


def test_events_filtered_by_profile_fields(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    fields = [{"name": "Tier", "operator": "equals", "value": "gold"}]
    query = {**JANUARY, "common_profile_properties": {"profile_fields": fields}}
    assert numbers(ct.download("events", query)) == {1, 2, 4}


@pytest.mark.parametrize("form", ["post", "get"])
def test_events_json_needs_an_event_name(
    seeded: EmulatorHandle, form: str, ct: CleverTapDriver
) -> None:
    query = {"from": 20240101, "to": 20240131}
    if form == "post":
        response = ct.request("POST", "/1/events.json", params={"batch_size": 5}, json=query)
    else:
        params = {"batch_size": 5, "query": json.dumps(query)}
        response = ct.request("GET", "/1/events.json", params=params)
    bad_request(response)


# -- profiles.json ---------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["post", "get"])
def test_profiles_download_in_both_forms(
    seeded: EmulatorHandle, form: str, ct: CleverTapDriver
) -> None:
    found = ct.pages("profiles", ct.create_cursor("profiles", JANUARY, 2, form))
    assert [len(p["records"]) for p in found] == [2, 1]
    assert "next_cursor" not in found[-1]
    records = [r for p in found for r in p["records"]]
    assert sorted(r["identity"] for r in records) == ["u1", "u2", "u3"]
    # A profile record is profile.json's record.
    by_identity = {r["identity"]: r for r in records}
    for identity in ("u1", "u2", "u3"):
        assert by_identity[identity] == ct.profile(identity=identity)


def test_profiles_pages_by_post(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    found = ct.pages("profiles", ct.create_cursor("profiles", JANUARY, 1), "POST")
    assert len(found) == 3
    assert sorted(p["records"][0]["identity"] for p in found) == ["u1", "u2", "u3"]


def test_profiles_of_an_event_within_days(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    query = {"event_name": "Purchased", "from": 20240102, "to": 20240103}
    records = ct.download("profiles", query)
    assert sorted(r["identity"] for r in records) == ["u1", "u2"]


def test_profiles_without_an_event_name(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    everyone = ct.download("profiles", {})
    assert sorted(r["identity"] for r in everyone) == ["u1", "u2", "u3"]
    # from/to without event_name: the profiles with any event on those days.
    ct.upload_ok(event_record("u3", "Purchased", epoch(2024, 1, 20), n=6, amount=1, plan="x"))
    query = {"from": 20240101, "to": 20240102}
    # u1 bought on Jan 1 and 2; u2 viewed on Jan 2; u3's events are on Jan 4 and 20.
    assert sorted(r["identity"] for r in ct.download("profiles", query)) == ["u1", "u2"]
    query = {"from": 20240104, "to": 20240104}
    assert [r["identity"] for r in ct.download("profiles", query)] == ["u3"]
    assert count(ct, "profiles", query) == 1


def test_profiles_filtered_by_event_properties(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    query = {**JANUARY, "event_properties": [{"name": "amount", "value": 10}]}
    assert sorted(r["identity"] for r in ct.download("profiles", query)) == ["u1", "u3"]


def test_profiles_filtered_by_profile_fields(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    fields = [{"name": "Tier", "operator": "equals", "value": "gold"}]
    query = {**JANUARY, "common_profile_properties": {"profile_fields": fields}}
    assert sorted(r["identity"] for r in ct.download("profiles", query)) == ["u1", "u3"]


# -- bad queries -----------------------------------------------------------------------------

BAD_QUERIES = [
    ("not an object", ["event_name", "Purchased"]),
    ("from not a day", {**JANUARY, "from": "yesterday"}),
    ("event_properties not a list", {**JANUARY, "event_properties": {"name": "plan"}}),
    ("unknown operator", {**JANUARY, "event_properties": [{"name": "a", "operator": "like"}]}),
    ("condition without a name", {**JANUARY, "event_properties": [{"value": 1}]}),
    ("profile_fields not a list", {**JANUARY, "common_profile_properties": {"profile_fields": 1}}),
]


@pytest.mark.parametrize("kind", ["events", "profiles"])
@pytest.mark.parametrize(("label", "query"), BAD_QUERIES, ids=[q[0] for q in BAD_QUERIES])
def test_bad_download_queries_are_400(
    seeded: EmulatorHandle, kind: str, label: str, query: Any, ct: CleverTapDriver
) -> None:
    bad_request(ct.request("POST", f"/1/{kind}.json", params={"batch_size": 5}, json=query))
    params = {"batch_size": 5, "query": json.dumps(query)}
    bad_request(ct.request("GET", f"/1/{kind}.json", params=params))


@pytest.mark.parametrize("kind", ["events", "profiles"])
def test_malformed_download_queries_are_400(
    seeded: EmulatorHandle, kind: str, ct: CleverTapDriver
) -> None:
    bad_request(ct.request("POST", f"/1/{kind}.json", content=b"{not json"))
    bad_request(ct.request("GET", f"/1/{kind}.json", params={"query": "{not json"}))


@pytest.mark.parametrize("batch_size", ["abc", "0", "-1", "1.5"])
def test_bad_batch_size_is_400(
    seeded: EmulatorHandle, batch_size: str, ct: CleverTapDriver
) -> None:
    response = ct.request("POST", f"/1/events.json?batch_size={batch_size}", json=JANUARY)
    bad_request(response)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_cursor_fails_without_a_500(
    seeded: EmulatorHandle, method: str, ct: CleverTapDriver
) -> None:
    response = ct.request(method, "/1/events.json?cursor=no-such-cursor")
    assert response.status_code < 500, response.text
    body = response.json()
    assert body["status"] == "fail" and body["error"], body


def test_a_cursor_of_another_account_is_not_served(
    seeded: EmulatorHandle, ct: CleverTapDriver
) -> None:
    other = {"kind": "clevertap_account", "id": "EMU-OTHER-01", "passcode": "p2", "region": "eu1"}
    seeded.client.add_tenant(other)
    cursor = ct.create_cursor("events", JANUARY, batch_size=10)
    headers = {"X-CleverTap-Account-Id": "EMU-OTHER-01", "X-CleverTap-Passcode": "p2"}
    response = ct.request("GET", f"/1/events.json?cursor={cursor}", headers=headers)
    assert response.status_code < 500
    assert response.json()["status"] == "fail" or response.json().get("records", []) == []


# -- counts ----------------------------------------------------------------------------------


def count(ct: CleverTapDriver, what: str, body: dict[str, Any]) -> int:
    answer = ok(ct.request("POST", f"/1/counts/{what}.json", json=body))
    assert set(answer) == {"status", "count"}, answer
    return answer["count"]  # type: ignore[no-any-return]


def test_counts_events(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    assert count(ct, "events", JANUARY) == 4
    assert count(ct, "events", {**JANUARY, "from": 20240102, "to": 20240103}) == 2
    props = [{"name": "amount", "operator": "equals", "value": 10}]
    assert count(ct, "events", {**JANUARY, "event_properties": props}) == 2
    assert count(ct, "events", {**JANUARY, "event_name": "Viewed"}) == 1
    assert count(ct, "events", {**JANUARY, "event_name": "Nothing"}) == 0


def test_counts_profiles_counts_distinct_profiles(
    seeded: EmulatorHandle, ct: CleverTapDriver
) -> None:
    assert count(ct, "profiles", JANUARY) == 3
    assert count(ct, "profiles", {**JANUARY, "from": 20240101, "to": 20240102}) == 1
    props = [{"name": "amount", "operator": "equals", "value": 10}]
    assert count(ct, "profiles", {**JANUARY, "event_properties": props}) == 2


def test_counts_top(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    body = {
        **JANUARY,
        "groups": {
            "plans": {"property_type": "event_properties", "name": "plan"},
            "amounts": {"property_type": "event_properties", "name": "amount"},
        },
    }
    answer = ok(ct.request("POST", "/1/counts/top.json", json=body))
    assert answer == {
        "status": "success",
        "plans": {"STR": {"gold": 1, "silver": 1, "golden": 1, "bronze": 1}},
        # Numbers are counted in ranges (test_report_shapes.py), 5, 10, 10, 20 by fives.
        "amounts": {"NUMBER": {"5-10": 1, "10-15": 2, "20-25": 1}},
    }


TREND_EVENTS = [
    event_record("t1", "Played", epoch(2023, 12, 31, 22), n=1, points=1),  # ISO week 2023-52
    event_record("t1", "Played", epoch(2024, 1, 1, 1), n=2, points=2),  # ISO week 2024-01
    event_record("t1", "Played", epoch(2024, 1, 1, 23), n=3, points=3),
    event_record("t2", "Played", epoch(2024, 1, 1, 12), n=4, points=4),
    event_record("t2", "Played", epoch(2024, 1, 8), n=5, points=5),  # ISO week 2024-02
    event_record("t3", "Played", epoch(2024, 2, 1), n=6, points=6),  # ISO week 2024-05
]
TRENDS = {
    "event_name": "Played",
    "from": 20231201,
    "to": 20240229,
    "groups": {
        "day": {"trend_type": "daily"},
        "week": {"trend_type": "weekly"},
        "month": {"trend_type": "monthly"},
    },
}


def trends(ct: CleverTapDriver, **extra: Any) -> dict[str, dict[str, Any]]:
    answer = ok(ct.request("POST", "/1/counts/trends.json", json={**TRENDS, **extra}))
    assert set(answer) == {"status", "day", "week", "month"}, answer
    # Buckets without events may be listed with 0 or left out: compare the others.
    return {g: {k: v for k, v in answer[g].items() if v} for g in ("day", "week", "month")}


def test_trends_count_events_per_day_week_and_month(ct: CleverTapDriver) -> None:
    ct.upload_ok(*TREND_EVENTS)
    assert trends(ct, unique=False) == {
        "day": {"20231231": 1, "20240101": 3, "20240108": 1, "20240201": 1},
        "week": {"202352": 1, "202401": 3, "202402": 1, "202405": 1},
        "month": {"202312": 1, "202401": 4, "202402": 1},
    }


def test_trends_unique_counts_profiles(ct: CleverTapDriver) -> None:
    ct.upload_ok(*TREND_EVENTS)
    assert trends(ct, unique=True) == {
        "day": {"20231231": 1, "20240101": 2, "20240108": 1, "20240201": 1},
        "week": {"202352": 1, "202401": 2, "202402": 1, "202405": 1},
        "month": {"202312": 1, "202401": 2, "202402": 1},
    }


def test_trends_sum_an_event_property(ct: CleverTapDriver) -> None:
    ct.upload_ok(*TREND_EVENTS)
    assert trends(ct, unique=False, sum_event_prop="points") == {
        "day": {"20231231": 1, "20240101": 9, "20240108": 5, "20240201": 6},
        "week": {"202352": 1, "202401": 9, "202402": 5, "202405": 6},
        "month": {"202312": 1, "202401": 14, "202402": 6},
    }


def test_trends_respect_from_to_and_event_properties(ct: CleverTapDriver) -> None:
    ct.upload_ok(*TREND_EVENTS)
    props = [{"name": "points", "operator": "greater_than", "value": 2}]
    got = trends(ct, unique=False, event_properties=props, **{"from": 20240101})
    assert got["day"] == {"20240101": 2, "20240108": 1, "20240201": 1}


# -- now.json --------------------------------------------------------------------------------


def test_now_json_with_a_frozen_clock_is_deterministic(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    now = epoch(2024, 6, 1, 12)
    emulator.client.freeze_clock(now)
    ct.upload_ok(
        event_record("n1", "Opened", now - 60, n=1),
        event_record("n2", "Opened", now - 30, n=2),
        event_record("n2", "Opened", now - 10, n=3),
        event_record("n3", "Opened", now - 3 * 86400, n=4),
    )
    first = ok(ct.request("POST", "/1/now.json", json={}))
    # Two profiles were active in the last minute; n3 was last seen days ago.
    assert first == {"status": "success", "count": 2, "last_processed_ts": now}
    assert ok(ct.request("POST", "/1/now.json", json={})) == first
    # A body with the documented flags is accepted too, and counts the same.
    flags = {"user_type": True, "session_source": True, "os": True, "new": True}
    assert ok(ct.request("POST", "/1/now.json", json=flags))["count"] == 2
    # A day later nobody is active.
    emulator.client.advance_clock(86400)
    later = ok(ct.request("POST", "/1/now.json", json={}))
    assert later == {"status": "success", "count": 0, "last_processed_ts": now + 86400}


# -- report_polls ----------------------------------------------------------------------------

POLL_ACCOUNT = {
    "kind": "clevertap_account",
    "id": "EMU-POLLS-01",
    "passcode": "poll-pass",
    "region": "eu1",
    "options": {"report_polls": 1},
}
POLL_HEADERS = {
    "X-CleverTap-Account-Id": "EMU-POLLS-01",
    "X-CleverTap-Passcode": "poll-pass",
    "Content-Type": "application/json",
}


@pytest.fixture
def polling(emulator: EmulatorHandle, ct: CleverTapDriver) -> EmulatorHandle:
    emulator.client.add_tenant(POLL_ACCOUNT)
    ct.upload_ok(*PROFILES, headers=POLL_HEADERS)
    ct.upload_ok(*EVENTS, headers=POLL_HEADERS)
    return emulator


def partial(ct: CleverTapDriver, path: str, body: dict[str, Any]) -> Any:
    response = ct.request("POST", path, json=body, headers=POLL_HEADERS)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "partial", answer
    assert set(answer) == {"status", "req_id"}, answer
    return answer["req_id"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_report_polls_answer_partial_then_the_result_by_req_id(
    polling: EmulatorHandle, method: str, ct: CleverTapDriver
) -> None:
    req_id = partial(ct, "/1/counts/events.json", JANUARY)
    response = ct.request(method, f"/1/counts/events.json?req_id={req_id}", headers=POLL_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success", "count": 4}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_report_polls_on_trends(polling: EmulatorHandle, method: str, ct: CleverTapDriver) -> None:
    body = {**JANUARY, "groups": {"day": {"trend_type": "daily"}}}
    req_id = partial(ct, "/1/counts/trends.json", body)
    path = f"/1/counts/trends.json?req_id={req_id}"
    answer = ok(ct.request(method, path, headers=POLL_HEADERS))
    assert {k: v for k, v in answer["day"].items() if v} == {
        "20240101": 1,
        "20240102": 1,
        "20240103": 1,
        "20240104": 1,
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_report_polls_on_now_json(
    polling: EmulatorHandle, method: str, ct: CleverTapDriver
) -> None:
    now = epoch(2024, 6, 1, 12)
    polling.client.freeze_clock(now)
    ct.upload_ok(event_record("n1", "Opened", now - 5, n=1), headers=POLL_HEADERS)
    req_id = partial(ct, "/1/now.json", {})
    answer = ok(ct.request(method, f"/1/now.json?req_id={req_id}", headers=POLL_HEADERS))
    assert answer == {"status": "success", "count": 1, "last_processed_ts": now}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/1/counts/profiles.json", JANUARY),
        ("/1/counts/top.json", {**JANUARY, "groups": {"g": {"name": "plan"}}}),
    ],
)
def test_report_polls_on_the_other_counts(
    polling: EmulatorHandle, path: str, body: Any, ct: CleverTapDriver
) -> None:
    req_id = partial(ct, path, body)
    answer = ok(ct.request("GET", f"{path}?req_id={req_id}", headers=POLL_HEADERS))
    assert answer["status"] == "success"
    assert set(answer) > {"status"}, answer


def test_a_req_id_belongs_to_its_path(polling: EmulatorHandle, ct: CleverTapDriver) -> None:
    req_id = partial(ct, "/1/counts/events.json", JANUARY)
    other = ct.request("GET", f"/1/counts/profiles.json?req_id={req_id}", headers=POLL_HEADERS)
    assert other.status_code < 500 and other.json()["status"] == "fail"
    answer = ok(ct.request("GET", f"/1/counts/events.json?req_id={req_id}", headers=POLL_HEADERS))
    assert answer == {"status": "success", "count": 4}


def test_report_polls_zero_answers_at_once(seeded: EmulatorHandle, ct: CleverTapDriver) -> None:
    # The default account has no report_polls option: the first call carries the result.
    assert count(ct, "events", JANUARY) == 4


def test_report_polls_two_needs_two_polls_at_most(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    emulator.client.add_tenant({**POLL_ACCOUNT, "options": {"report_polls": 2}})
    ct.upload_ok(*EVENTS, headers=POLL_HEADERS)
    req_id = partial(ct, "/1/counts/events.json", JANUARY)
    answers = []
    for _ in range(3):
        path = f"/1/counts/events.json?req_id={req_id}"
        answer = ct.request("GET", path, headers=POLL_HEADERS).json()
        answers.append(answer)
        if answer["status"] == "success":
            break
        assert answer == {"status": "partial", "req_id": req_id}
    assert answers[-1] == {"status": "success", "count": 4}
    assert len(answers) <= 2


def test_unknown_req_id_fails_without_a_500(polling: EmulatorHandle, ct: CleverTapDriver) -> None:
    response = ct.request("GET", "/1/counts/events.json?req_id=999999", headers=POLL_HEADERS)
    assert response.status_code < 500, response.text
    assert response.json()["status"] == "fail"


# -- bad count queries -----------------------------------------------------------------------

BAD_COUNTS = [
    ("counts/events", ["not", "an", "object"]),
    ("counts/events", {"from": 20240101, "to": 20240131}),
    ("counts/events", {**JANUARY, "from": "2024-01-01"}),
    ("counts/events", {**JANUARY, "event_properties": [{"name": "a", "operator": "like"}]}),
    ("counts/profiles", {**JANUARY, "event_properties": "amount"}),
    ("counts/top", {**JANUARY, "groups": "plan"}),
    ("counts/top", {**JANUARY, "groups": {"g": "plan"}}),
    ("counts/trends", {**JANUARY, "groups": {"g": {"trend_type": "hourly"}}}),
    ("counts/trends", {**JANUARY, "groups": []}),
    ("now", ["not an object"]),
]


@pytest.mark.parametrize(
    ("endpoint", "body"), BAD_COUNTS, ids=[f"{e}-{i}" for i, (e, _) in enumerate(BAD_COUNTS)]
)
def test_bad_count_queries_are_400(
    seeded: EmulatorHandle, endpoint: str, body: Any, ct: CleverTapDriver
) -> None:
    bad_request(ct.request("POST", f"/1/{endpoint}.json", json=body))


@pytest.mark.parametrize(
    "endpoint", ["counts/events", "counts/profiles", "counts/top", "counts/trends", "now"]
)
def test_malformed_count_bodies_are_400(
    seeded: EmulatorHandle, endpoint: str, ct: CleverTapDriver
) -> None:
    response = ct.request("POST", f"/1/{endpoint}.json", content=b"{oops")
    assert response.status_code == 400
    assert response.json() == {"status": "fail", "error": "Malformed request", "code": 400}


# -- never a 500 -----------------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    None,
    0,
    "",
    "x",
    [],
    [None],
    {"event_name": None},
    {"event_name": 1},
    {"event_name": ["Purchased"]},
    {**JANUARY, "from": 99999999},
    {**JANUARY, "from": 20241301},
    {**JANUARY, "from": 20240230},
    {**JANUARY, "from": True},
    {**JANUARY, "from": 2024.5},
    {**JANUARY, "from": 20240201, "to": 20240101},
    {**JANUARY, "event_properties": [None]},
    {**JANUARY, "event_properties": [{"name": 1, "value": 1}]},
    {**JANUARY, "event_properties": [{"name": "amount", "operator": "less_than", "value": {}}]},
    {**JANUARY, "event_properties": [{"name": "plan", "operator": "contains", "value": None}]},
    {**JANUARY, "event_properties": [{"name": "plan", "operator": 5, "value": 1}]},
    {**JANUARY, "common_profile_properties": None},
    {**JANUARY, "common_profile_properties": [1]},
    {**JANUARY, "common_profile_properties": {"profile_fields": [{"name": "Tier"}]}},
    {**JANUARY, "groups": None},
    {**JANUARY, "groups": {"g": {"trend_type": None, "property_type": 1, "name": None}}},
    {**JANUARY, "groups": {"g": {"trend_type": "daily"}}, "sum_event_prop": 5},
    {**JANUARY, "groups": {"g": {"property_type": "event_properties", "name": "plan"}}},
    {**JANUARY, "groups": {"g": {"name": "plan", "top_n": "many", "order": 1}}},
    {**JANUARY, "groups": {"g": {"trend_type": "daily"}}, "unique": "yes"},
]
READ_ENDPOINTS = [
    "events",
    "profiles",
    "counts/events",
    "counts/profiles",
    "counts/top",
    "counts/trends",
    "now",
]


def never_500(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    if response.status_code >= 400:
        assert body["status"] == "fail" and body["code"] == response.status_code, body
        assert isinstance(body["error"], str) and body["error"], body


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_odd_queries_never_answer_500(
    seeded: EmulatorHandle, endpoint: str, ct: CleverTapDriver
) -> None:
    # Odd stored values too: lists, nested objects, booleans where numbers are compared.
    ct.upload_ok(event_record("u1", "Purchased", epoch(2024, 1, 9), n=9, amount="abc", plan=True))
    for value in ODD_VALUES:
        never_500(ct.request("POST", f"/1/{endpoint}.json?batch_size=3", json=value))
        if endpoint in ("events", "profiles"):
            params = {"batch_size": 3, "query": json.dumps(value)}
            never_500(ct.request("GET", f"/1/{endpoint}.json", params=params))


ODD_QUERY_STRINGS = [
    "batch_size=99999999999999999999999",
    "batch_size=5001",
    "batch_size=%F0%9F%98%80",
    "query=%5B%5D",
    "query=",
    "cursor=",
    "cursor=%00",
    "cursor=a&cursor=b",
    "req_id=abc",
    "req_id=-1",
    "req_id=99999999999999999999999",
]


@pytest.mark.parametrize("endpoint", ["events", "profiles", "counts/events", "counts/trends"])
def test_odd_query_strings_never_answer_500(
    seeded: EmulatorHandle, endpoint: str, ct: CleverTapDriver
) -> None:
    for query in ODD_QUERY_STRINGS:
        for method in ("GET", "POST"):
            never_500(ct.request(method, f"/1/{endpoint}.json?{query}", json=JANUARY))


# -- volume ----------------------------------------------------------------------------------


def test_five_thousand_events_download_count_delete_and_restore(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    # More events than one upload (1000) and than one internal storage block: every read
    # still sees each event once, a delete drops a profile's events everywhere, and the
    # state document carries them all.
    total = 5000
    for block in range(total // 1000):
        ct.upload_ok(
            *[
                event_record(f"v{i % 7}", "Tick", epoch(2024, 1, 1) + i, i=i)
                for i in range(block * 1000, block * 1000 + 1000)
            ],
        )
    tick = {"event_name": "Tick", "from": 20240101, "to": 20240101}
    assert count(ct, "events", tick) == total
    found = ct.pages("events", ct.create_cursor("events", tick, batch_size=2000))
    assert [len(p["records"]) for p in found] == [2000, 2000, 1000]
    records = [r for p in found for r in p["records"]]
    assert sorted(r["event_props"]["i"] for r in records) == list(range(total))
    by_i = {r["event_props"]["i"]: r for r in records}
    assert by_i[4500]["ts"] == 20240101011500  # 4500 s after midnight
    assert by_i[4500]["profile"]["identity"] == "v6"

    assert ok(ct.request("POST", "/1/delete/profiles.json", json={"identity": "v3"}))
    kept = total - len([i for i in range(total) if i % 7 == 3])
    assert count(ct, "events", tick) == kept

    document = emulator.client.state()
    emulator.client.reset()
    emulator.client.load_state(document)
    assert count(ct, "events", tick) == kept
    assert count(ct, "profiles", tick) == 6
