"""CleverTap management APIs (docs/clevertap-behaviour.md, "Management" and "Control views"):
delete, demerge, subscribe, disassociate, device tokens, campaigns, the control views, and the
CleverTap data in state export/import and tenant resets.

Every platform request is hand-written HTTP, as a client on the wire would send it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import (
    NOT_FOUND,
    bad_request,
    event_record,
    profile_record,
)
from tests.drivers.defaults import epoch

ACCOUNT = "EMU-TEST-0001"
OTHER = {"kind": "clevertap_account", "id": "EMU-OTHER-01", "passcode": "p2", "region": "eu1"}
OTHER_HEADERS = {
    "X-CleverTap-Account-Id": "EMU-OTHER-01",
    "X-CleverTap-Passcode": "p2",
    "Content-Type": "application/json",
}
ANDROID_ID = "__0123456789abcdef0123456789abcdef"
IOS_ID = "-fedcba9876543210fedcba9876543210"
NOT_COMPLETED = "This target hasn't been completed"


# -- helpers ---------------------------------------------------------------------------------


def mentions(doc: Any, value: str) -> bool:
    """`value` appears as a JSON string somewhere in `doc`."""
    return json.dumps(value) in json.dumps(doc)


def events_of(ct: CleverTapDriver, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    """A whole events.json download for January 2024."""
    query = {"event_name": name, "from": 20240101, "to": 20240131}
    return ct.download("events", query, batch_size=100, **kwargs)


def seed_three(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        profile_record("u1", Name="Ada", Email="ada@example.com"),
        profile_record("u2", Name="Bob", Email="bob@example.com"),
        profile_record("u3", Name="Cy", Email="cy@example.com"),
    )
    ct.upload_ok(
        event_record("u1", "Purchased", epoch(2024, 1, 2), n=1),
        event_record("u2", "Purchased", epoch(2024, 1, 3), n=2),
        event_record("u3", "Purchased", epoch(2024, 1, 4), n=3),
        event_record("u3", "Viewed", epoch(2024, 1, 4), n=4),
    )


# -- delete ----------------------------------------------------------------------------------


def test_delete_by_one_identity(ct: CleverTapDriver, views: ControlViews) -> None:
    seed_three(ct)
    assert ct.post_ok("/1/delete/profiles.json", {"identity": "u1"}) == {"status": "success"}
    assert ct.lookup(identity="u1") == NOT_FOUND
    assert ct.lookup(email="ada@example.com") == NOT_FOUND
    assert ct.profile(identity="u2")["name"] == "Bob"
    assert sorted(r["event_props"]["n"] for r in events_of(ct, "Purchased")) == [2, 3]
    assert views.ct_page("profiles")["total"] == 2
    assert views.ct_page("events", identity="u1")["total"] == 0


def test_delete_a_list_of_identities(ct: CleverTapDriver, views: ControlViews) -> None:
    seed_three(ct)
    body = {"identity": ["u1", "u3"]}
    assert ct.post_ok("/1/delete/profiles.json", body) == {"status": "success"}
    assert ct.lookup(identity="u1") == NOT_FOUND
    assert ct.lookup(identity="u3") == NOT_FOUND
    assert [r["event_props"]["n"] for r in events_of(ct, "Purchased")] == [2]
    assert events_of(ct, "Viewed") == []
    assert views.ct_page("profiles")["total"] == 1


def test_delete_by_guid(ct: CleverTapDriver) -> None:
    seed_three(ct)
    guid = ct.object_id("u2")
    assert ct.post_ok("/1/delete/profiles.json", {"guid": guid}) == {"status": "success"}
    assert ct.lookup(identity="u2") == NOT_FOUND
    assert ct.lookup(objectId=guid) == NOT_FOUND
    assert sorted(r["event_props"]["n"] for r in events_of(ct, "Purchased")) == [1, 3]


def test_delete_a_list_of_guids(ct: CleverTapDriver, views: ControlViews) -> None:
    seed_three(ct)
    guids = [ct.object_id("u1"), ct.object_id("u2")]
    assert ct.post_ok("/1/delete/profiles.json", {"guid": guids}) == {"status": "success"}
    assert ct.lookup(identity="u1") == NOT_FOUND
    assert ct.lookup(identity="u2") == NOT_FOUND
    assert ct.profile(identity="u3")["name"] == "Cy"
    assert views.ct_page("events")["total"] == 2


def test_delete_a_profile_created_by_object_id_by_guid(ct: CleverTapDriver) -> None:
    ct.upload_ok({"type": "profile", "objectId": ANDROID_ID, "profileData": {"Score": 1}})
    assert ct.post_ok("/1/delete/profiles.json", {"guid": [ANDROID_ID]})["status"] == "success"
    assert ct.lookup(objectId=ANDROID_ID) == NOT_FOUND


@pytest.mark.parametrize("key", ["identity", "guid"])
def test_delete_more_than_100_is_a_400(key: str, ct: CleverTapDriver) -> None:
    seed_three(ct)
    ids = ["u1"] + [f"x{i}" for i in range(100)]
    bad_request(ct.request("POST", "/1/delete/profiles.json", json={key: ids}))
    assert ct.profile(identity="u1")["name"] == "Ada"  # nothing was deleted


def test_delete_100_is_allowed(ct: CleverTapDriver) -> None:
    seed_three(ct)
    ids = ["u1"] + [f"x{i}" for i in range(99)]
    assert ct.post_ok("/1/delete/profiles.json", {"identity": ids}) == {"status": "success"}
    assert ct.lookup(identity="u1") == NOT_FOUND


@pytest.mark.parametrize(
    "body", [{}, {"email": "ada@example.com"}, {"identity": True}, {"identity": [{}]}, ["u1"]]
)
def test_delete_with_a_bad_body_is_a_400(body: Any, ct: CleverTapDriver) -> None:
    bad_request(ct.request("POST", "/1/delete/profiles.json", json=body))


# -- merge and demerge -----------------------------------------------------------------------


@pytest.mark.parametrize("leaving", ["a1", "b1"], ids=["absorbed-identity", "survivor-identity"])
def test_demerge_splits_a_merged_profile(
    leaving: str, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(profile_record("a1", Name="A", Color="red"), profile_record("b1", Name="B"))
    guid_a, guid_b = ct.object_id("a1"), ct.object_id("b1")
    assert views.ct_page("profiles")["total"] == 2
    assert views.ct_page("merges")["total"] == 0

    # profileData.identity adds b1 to a1's profile; b1 belongs to another profile: they merge.
    ct.upload_ok({"type": "profile", "identity": "a1", "profileData": {"identity": "b1"}})
    merged = ct.profile(identity="a1")
    assert ct.profile(identity="b1") == merged
    assert sorted(merged["identities"]) == ["a1", "b1"]
    assert sorted(i["objectId"] for i in merged["platformInfo"]) == sorted([guid_a, guid_b])
    # The profile that already owned b1 survives, and absorbs what it did not have.
    assert merged["name"] == "B"
    assert merged["profileData"]["Color"] == "red"
    assert views.ct_page("profiles")["total"] == 1
    merges = views.ct_page("merges")
    assert merges["total"] == 1
    assert mentions(merges["merges"], "b1") or mentions(merges["merges"], guid_b)

    answer = ct.post_ok("/1/demerge/profiles.json", {"identities": [leaving]})
    assert answer == {"status": "success"}
    split_a, split_b = ct.profile(identity="a1"), ct.profile(identity="b1")
    assert split_a != split_b
    assert split_a["identities"] == ["a1"]
    assert split_b["identities"] == ["b1"]
    # Each identity leaves with the CleverTap IDs it came with.
    assert [i["objectId"] for i in split_a["platformInfo"]] == [guid_a]
    assert [i["objectId"] for i in split_b["platformInfo"]] == [guid_b]
    assert views.ct_page("profiles")["total"] == 2
    assert views.ct_page("profiles", identity="a1")["total"] == 1
    assert views.ct_page("profiles", identity="b1")["total"] == 1


def test_adding_an_unowned_identity_does_not_merge(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(profile_record("a1", Name="A"))
    guid_a = ct.object_id("a1")
    ct.upload_ok({"type": "profile", "identity": "a1", "profileData": {"Identity": "c1"}})
    record = ct.profile(identity="c1")
    assert record == ct.profile(identity="a1")
    assert record["identities"] == ["a1", "c1"]
    assert [i["objectId"] for i in record["platformInfo"]] == [guid_a]
    assert views.ct_page("merges")["total"] == 0
    assert views.ct_page("profiles")["total"] == 1


def test_deleting_one_identity_of_a_merged_profile_deletes_the_profile(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(profile_record("a1"), profile_record("b1"))
    ct.upload_ok({"type": "profile", "identity": "a1", "profileData": {"identity": "b1"}})
    assert ct.post_ok("/1/delete/profiles.json", {"identity": "a1"}) == {"status": "success"}
    assert ct.lookup(identity="a1") == NOT_FOUND
    assert ct.lookup(identity="b1") == NOT_FOUND
    assert views.ct_page("profiles")["total"] == 0


def test_demerge_keeps_the_events(ct: CleverTapDriver) -> None:
    ct.upload_ok(profile_record("a1"), profile_record("b1"))
    ct.upload_ok(event_record("a1", "Purchased", epoch(2024, 1, 2), n=1))
    ct.upload_ok(event_record("b1", "Purchased", epoch(2024, 1, 3), n=2))
    ct.upload_ok({"type": "profile", "identity": "a1", "profileData": {"identity": "b1"}})
    ct.post_ok("/1/demerge/profiles.json", {"identities": ["a1"]})
    assert sorted(r["event_props"]["n"] for r in events_of(ct, "Purchased")) == [1, 2]


@pytest.mark.parametrize(
    "body", [{}, {"identities": "a1"}, {"identities": [f"i{n}" for n in range(101)]}, []]
)
def test_demerge_with_a_bad_body_is_a_400(body: Any, ct: CleverTapDriver) -> None:
    bad_request(ct.request("POST", "/1/demerge/profiles.json", json=body))


# -- subscribe and disassociate --------------------------------------------------------------

PHONE = "+14155550100"
OTHER_PHONE = "+14155550199"


def seed_contacts(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        profile_record("s1", Email="shared@example.com", Phone=PHONE),
        profile_record("s2", Email="shared@example.com"),
        profile_record("s3", Email="other@example.com", Phone=OTHER_PHONE),
    )


def flags(ct: CleverTapDriver, identity: str) -> dict[str, Any]:
    data = ct.profile(identity=identity)["profileData"]
    return {k: data[k] for k in ("MSG-email", "MSG-sms", "MSG-whatsapp") if k in data}


def subscribe(ct: CleverTapDriver, *items: dict[str, Any]) -> dict[str, Any]:
    return ct.post_ok("/1/subscribe", {"d": list(items)})


def test_unsubscribe_an_email_reaches_every_profile_with_it(ct: CleverTapDriver) -> None:
    seed_contacts(ct)
    item = {"type": "email", "value": "shared@example.com", "status": "Unsubscribe"}
    assert subscribe(ct, item) == {"status": "success", "processed": 1, "unprocessed": []}
    assert flags(ct, "s1")["MSG-email"] is False
    assert flags(ct, "s2")["MSG-email"] is False
    assert flags(ct, "s3").get("MSG-email", True) is True
    assert "MSG-sms" not in flags(ct, "s1")


def test_unsubscribe_then_resubscribe_a_phone(ct: CleverTapDriver) -> None:
    seed_contacts(ct)
    answer = subscribe(ct, {"type": "phone", "value": PHONE, "status": "Unsubscribe"})
    assert answer["status"] == "success"
    assert flags(ct, "s1")["MSG-sms"] is False
    assert flags(ct, "s3").get("MSG-sms", True) is True
    answer = subscribe(ct, {"type": "phone", "value": PHONE, "status": "Resubscribe"})
    assert answer["status"] == "success"
    assert flags(ct, "s1")["MSG-sms"] is True


def test_resubscribe_an_email(ct: CleverTapDriver) -> None:
    seed_contacts(ct)
    subscribe(ct, {"type": "email", "value": "shared@example.com", "status": "Unsubscribe"})
    subscribe(ct, {"type": "email", "value": "shared@example.com", "status": "Resubscribe"})
    assert flags(ct, "s1")["MSG-email"] is True
    assert flags(ct, "s2")["MSG-email"] is True


def test_subscribe_whatsapp(ct: CleverTapDriver) -> None:
    seed_contacts(ct)
    subscribe(ct, {"type": "whatsapp", "value": PHONE, "status": "Unsubscribe"})
    assert flags(ct, "s1")["MSG-whatsapp"] is False


def test_subscribe_with_a_bad_item_is_partial(ct: CleverTapDriver) -> None:
    seed_contacts(ct)
    answer = subscribe(
        ct,
        {"type": "email", "value": "shared@example.com", "status": "Unsubscribe"},
        {"type": "fax", "value": "123", "status": "Unsubscribe"},
        {"type": "phone", "value": PHONE, "status": "Maybe"},
    )
    assert answer["status"] == "partial", answer
    assert answer["processed"] == 1
    assert len(answer["unprocessed"]) == 2
    assert all(u["status"] == "fail" and u["error"] for u in answer["unprocessed"])
    assert flags(ct, "s1")["MSG-email"] is False
    assert "MSG-sms" not in flags(ct, "s1")


def test_subscribe_with_only_bad_items_fails(ct: CleverTapDriver) -> None:
    answer = subscribe(ct, {"type": "fax", "value": "1", "status": "Unsubscribe"})
    assert answer["status"] == "fail"
    assert answer["processed"] == 0
    assert len(answer["unprocessed"]) == 1


TOO_MANY = [
    {"type": "phone", "value": f"+1415555{n:04d}", "status": "Unsubscribe"} for n in range(1001)
]


@pytest.mark.parametrize("body", [{}, {"d": "x"}, [], {"d": []}, {"d": TOO_MANY}])
def test_subscribe_with_a_bad_envelope_is_a_400(body: Any, ct: CleverTapDriver) -> None:
    bad_request(ct.request("POST", "/1/subscribe", json=body))


def test_disassociate_removes_the_phone(ct: CleverTapDriver) -> None:
    seed_contacts(ct)
    answer = ct.post_ok("/1/disassociate", {"d": [{"type": "phone", "value": PHONE}]})
    assert answer == {"status": "success", "processed": 1, "unprocessed": []}
    record = ct.profile(identity="s1")
    assert not record.get("phone")
    assert "Phone" not in record["profileData"]
    assert record["profileData"].get("Email", record["email"]) == "shared@example.com"
    assert ct.profile(identity="s3")["phone"]  # the other number stays


@pytest.mark.parametrize("body", [{}, {"d": "x"}, {"d": []}, {"d": TOO_MANY}])
def test_disassociate_with_a_bad_envelope_is_a_400(body: Any, ct: CleverTapDriver) -> None:
    bad_request(ct.request("POST", "/1/disassociate", json=body))


def test_disassociate_with_a_bad_item_is_partial(ct: CleverTapDriver) -> None:
    seed_contacts(ct)
    items = [{"type": "phone", "value": PHONE}, {"type": "phone"}]
    answer = ct.post_ok("/1/disassociate", {"d": items})
    assert answer["status"] == "partial"
    assert answer["processed"] == 1
    assert len(answer["unprocessed"]) == 1


# -- device tokens ---------------------------------------------------------------------------


def test_upload_device_tokens(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        {"type": "profile", "objectId": ANDROID_ID, "profileData": {"Name": "Droid"}},
        {"type": "profile", "objectId": IOS_ID, "profileData": {"Name": "Phone"}},
    )
    tokens = [
        {"type": "token", "objectId": ANDROID_ID, "tokenData": {"id": "fcm-tok", "type": "fcm"}},
        {"type": "token", "objectId": IOS_ID, "tokenData": {"id": "apns-tok", "type": "apns"}},
    ]
    answer = ct.post_ok("/1/upload_device_tokens", {"d": tokens})
    assert answer == {"status": "success", "processed": 2, "unprocessed": []}
    (android,) = ct.profile(objectId=ANDROID_ID)["platformInfo"]
    assert android == {**android, "platform": "Android", "objectId": ANDROID_ID}
    assert android["push_token"] == "fcm-tok"
    (ios,) = ct.profile(objectId=IOS_ID)["platformInfo"]
    assert ios["platform"] == "iOS"
    assert ios["push_token"] == "apns-tok"


def test_upload_device_tokens_rejects_a_token_of_the_wrong_platform(ct: CleverTapDriver) -> None:
    tokens = [
        {"type": "token", "objectId": ANDROID_ID, "tokenData": {"id": "ok", "type": "fcm"}},
        {"type": "token", "objectId": ANDROID_ID, "tokenData": {"id": "bad", "type": "apns"}},
    ]
    answer = ct.post_ok("/1/upload_device_tokens", {"d": tokens})
    assert answer["status"] == "partial"
    assert answer["processed"] == 1
    (skipped,) = answer["unprocessed"]
    assert skipped["code"] == 534
    assert skipped["error"] == "Token type is not valid for objectId.Skipped record number : 2"


def test_upload_device_tokens_dry_run_stores_nothing(ct: CleverTapDriver) -> None:
    tokens = [{"type": "token", "objectId": ANDROID_ID, "tokenData": {"id": "t", "type": "fcm"}}]
    answer = ct.post_ok("/1/upload_device_tokens?dryRun=1", {"d": tokens})
    assert answer["status"] == "success"
    assert ct.lookup(objectId=ANDROID_ID) == NOT_FOUND


# -- campaigns -------------------------------------------------------------------------------

MARCH_1 = epoch(2024, 3, 1, 10)
WHERE = {"event_name": "Purchased", "from": 20240101, "to": 20240103}


def seed_reachable(ct: CleverTapDriver) -> None:
    """seed_three's profiles, each with an Android device and its push token: reachable by push."""
    seed_three(ct)
    for n, identity in enumerate(("u1", "u2", "u3"), start=1):
        device = f"__{n:032x}"
        ct.upload_ok(
            {"type": "profile", "identity": identity, "objectId": device, "profileData": {}},
        )
        token = {"type": "token", "objectId": device, "tokenData": {"id": f"t{n}", "type": "fcm"}}
        ct.upload_ok(token)


def campaign(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Spring promo",
        "target_mode": "push",
        "where": WHERE,
        "content": {"title": "Hello", "body": "Spring is here"},
        "devices": ["android", "ios"],
        "when": "now",
        **extra,
    }


def create(ct: CleverTapDriver, body: dict[str, Any]) -> dict[str, Any]:
    answer = ct.post_ok("/1/targets/create.json", body)
    assert answer["status"] == "success", answer
    return answer


def captured(views: ControlViews, campaign_id: Any) -> dict[str, Any]:
    page = views.ct_page("campaigns")
    (found,) = [c for c in page["campaigns"] if c.get("id") == campaign_id]
    return found  # type: ignore[no-any-return]


def test_create_a_campaign_for_an_event_query(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    seed_reachable(ct)
    emulator.client.freeze_clock(MARCH_1)
    answer = create(ct, campaign())
    assert isinstance(answer["id"], int)
    assert isinstance(answer["estimates"], dict)
    assert all(isinstance(v, int) for v in answer["estimates"].values())
    assert sum(answer["estimates"].values()) == 2
    doc = captured(views, answer["id"])
    assert doc["name"] == "Spring promo"
    # The resolved audience: the profiles that did Purchased from Jan 1 to Jan 3.
    assert mentions(doc, "u1") and mentions(doc, "u2")
    assert not mentions(doc, "u3")


def test_create_a_campaign_for_everyone(ct: CleverTapDriver, views: ControlViews) -> None:
    seed_reachable(ct)
    body = campaign(segment="all")
    del body["where"]
    answer = create(ct, body)
    assert sum(answer["estimates"].values()) == 3
    doc = captured(views, answer["id"])
    assert all(mentions(doc, u) for u in ("u1", "u2", "u3"))


def test_estimate_only_captures_nothing(ct: CleverTapDriver, views: ControlViews) -> None:
    seed_reachable(ct)
    answer = create(ct, campaign(estimate_only=True))
    assert "id" not in answer
    assert sum(answer["estimates"].values()) == 2
    assert views.ct_page("campaigns")["total"] == 0
    assert ct.post_ok("/1/targets/list.json", {"from": 20000101, "to": 20991231}) == {
        "status": "success",
        "targets": [],
    }


def test_campaign_ids_are_distinct(ct: CleverTapDriver, views: ControlViews) -> None:
    ids = {create(ct, campaign(name=f"c{i}"))["id"] for i in range(3)}
    assert len(ids) == 3
    assert views.ct_page("campaigns")["total"] == 3


@pytest.mark.parametrize(
    "change",
    [
        {"where": "everyone"},
        {"where": {"event_name": "Purchased", "from": "yesterday"}},
        {"where": {**WHERE, "event_properties": [{"name": "a", "operator": "like"}]}},
    ],
)
def test_create_with_a_bad_query_is_a_400(
    change: dict[str, Any], ct: CleverTapDriver, views: ControlViews
) -> None:
    bad_request(ct.request("POST", "/1/targets/create.json", json=campaign(**change)))
    assert views.ct_page("campaigns")["total"] == 0


def test_list_campaigns_by_scheduled_day(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    emulator.client.freeze_clock(MARCH_1)
    now_id = create(ct, campaign(name="now"))["id"]
    later_id = create(ct, campaign(name="later", when="20240315 09:00"))["id"]

    def listed(start: int, end: int) -> dict[Any, dict[str, Any]]:
        answer = ct.post_ok("/1/targets/list.json", {"from": start, "to": end})
        assert answer["status"] == "success", answer
        for target in answer["targets"]:
            assert {"id", "name", "scheduled_on", "status"} <= set(target), target
        return {t["id"]: t for t in answer["targets"]}

    both = listed(20240301, 20240331)
    assert set(both) == {now_id, later_id}
    assert both[now_id]["name"] == "now"
    assert both[later_id]["name"] == "later"
    assert set(listed(20240301, 20240301)) == {now_id}
    assert set(listed(20240310, 20240320)) == {later_id}
    assert listed(20240201, 20240229) == {}


def test_result_of_a_campaign_sent_now(ct: CleverTapDriver) -> None:
    seed_reachable(ct)
    campaign_id = create(ct, campaign())["id"]
    answer = ct.post_ok("/1/targets/result.json", {"id": campaign_id})
    assert answer["status"] == "success", answer
    assert isinstance(answer["result"], dict)


def test_result_of_a_future_campaign_waits_for_the_clock(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    emulator.client.freeze_clock(MARCH_1)  # 2024-03-01T10:00:00Z
    campaign_id = create(ct, campaign(when="20240301 12:00"))["id"]
    answer = ct.post_ok("/1/targets/result.json", {"id": campaign_id})
    assert answer["status"] == "fail"
    assert answer["error"] == NOT_COMPLETED
    emulator.client.set_clock(epoch(2024, 3, 1, 11, 59))
    assert ct.post_ok("/1/targets/result.json", {"id": campaign_id})["status"] == "fail"
    emulator.client.set_clock(epoch(2024, 3, 1, 12, 1))
    answer = ct.post_ok("/1/targets/result.json", {"id": campaign_id})
    assert answer["status"] == "success", answer
    assert isinstance(answer["result"], dict)


def test_stop_a_scheduled_campaign(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    emulator.client.freeze_clock(MARCH_1)
    campaign_id = create(ct, campaign(when="20240315 09:00"))["id"]
    span = {"from": 20240301, "to": 20240331}
    (before,) = ct.post_ok("/1/targets/list.json", span)["targets"]
    assert ct.post_ok("/1/targets/stop.json", {"id": campaign_id}) == {"status": "success"}
    (after,) = ct.post_ok("/1/targets/list.json", span)["targets"]
    assert after["id"] == campaign_id
    assert after["status"] != before["status"]


@pytest.mark.parametrize("path", ["/1/targets/result.json", "/1/targets/stop.json"])
def test_result_and_stop_of_an_unknown_campaign_fail(path: str, ct: CleverTapDriver) -> None:
    response = ct.request("POST", path, json={"id": 123456})
    assert response.status_code < 500, response.text
    assert response.json()["status"] == "fail"


@pytest.mark.parametrize("path", ["/1/targets/result.json", "/1/targets/stop.json"])
def test_result_and_stop_without_an_id_are_400(path: str, ct: CleverTapDriver) -> None:
    bad_request(ct.request("POST", path, json={}))


def test_message_report(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    seed_reachable(ct)
    emulator.client.freeze_clock(MARCH_1)
    campaign_id = create(ct, campaign(name="Reported"))["id"]
    answer = ct.post_ok("/1/message/report.json", {"from": "20240301", "to": "20240331"})
    assert answer["status"] == "success", answer
    assert isinstance(answer["messages"], list)
    assert mentions(answer["messages"], "Reported") or str(campaign_id) in json.dumps(
        answer["messages"]
    )
    empty = ct.post_ok("/1/message/report.json", {"from": 20230101, "to": 20230131})
    assert empty == {"status": "success", "messages": []}


# -- control views ---------------------------------------------------------------------------


def test_profiles_view_filters(ct: CleverTapDriver, views: ControlViews) -> None:
    seed_three(ct)
    ct.upload_ok({"type": "profile", "objectId": ANDROID_ID, "profileData": {"Name": "Anon"}})
    assert views.ct_page("profiles")["total"] == 4
    by_identity = views.ct_page("profiles", identity="u2")
    assert by_identity["total"] == 1 and mentions(by_identity["profiles"], "u2")
    by_email = views.ct_page("profiles", email="cy@example.com")
    assert by_email["total"] == 1 and mentions(by_email["profiles"], "u3")
    by_object_id = views.ct_page("profiles", objectId=ANDROID_ID)
    assert by_object_id["total"] == 1 and mentions(by_object_id["profiles"], "Anon")
    assert views.ct_page("profiles", identity="nobody")["total"] == 0
    paged = views.ct_page("profiles", limit=2, offset=1)
    assert (paged["total"], paged["limit"], paged["offset"]) == (4, 2, 1)
    assert len(paged["profiles"]) == 2


def test_profiles_view_by_email_lists_every_profile_with_it(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    seed_contacts(ct)
    shared = views.ct_page("profiles", email="shared@example.com")
    assert shared["total"] == 2, shared
    assert mentions(shared["profiles"], "s1") and mentions(shared["profiles"], "s2")
    # s2 moves to another address: s1 alone has the shared one.
    ct.upload_ok(profile_record("s2", Email="moved@example.com"))
    shared = views.ct_page("profiles", email="shared@example.com")
    assert shared["total"] == 1, shared
    assert mentions(shared["profiles"], "s1")


def test_profile_view_by_object_id(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    ct.upload_ok({"type": "profile", "objectId": ANDROID_ID, "profileData": {"Name": "Anon"}})
    response = emulator.client.http.get(f"/clevertap/{ACCOUNT}/profiles/{ANDROID_ID}")
    assert response.status_code == 200, response.text
    assert mentions(response.json(), "Anon")
    missing = emulator.client.http.get(f"/clevertap/{ACCOUNT}/profiles/__nope")
    assert missing.status_code == 404


def test_events_view_filters(ct: CleverTapDriver, views: ControlViews) -> None:
    seed_three(ct)
    assert views.ct_page("events")["total"] == 4
    purchased = views.ct_page("events", event_name="Purchased")
    assert purchased["total"] == 3
    assert not mentions(purchased["events"], "Viewed")
    assert views.ct_page("events", event_name="Viewed")["total"] == 1
    assert views.ct_page("events", identity="u3")["total"] == 2
    guid = ct.object_id("u1")
    by_object_id = views.ct_page("events", objectId=guid)
    assert by_object_id["total"] == 1 and mentions(by_object_id["events"], "Purchased")
    both = views.ct_page("events", event_name="Viewed", identity="u1")
    assert both["total"] == 0


def test_segments_view_starts_empty(ct: CleverTapDriver, views: ControlViews) -> None:
    seed_three(ct)
    assert views.ct_page("segments")["total"] == 0
    assert views.ct_page("events", event_name="Nothing")["total"] == 0


def test_views_of_an_unknown_account_are_404(emulator: EmulatorHandle) -> None:
    for name in ("profiles", "events", "merges", "campaigns", "segments"):
        response = emulator.client.http.get(f"/clevertap/NO-SUCH/{name}")
        assert response.status_code == 404, (name, response.text)
        assert "error" in response.json()


# -- state and reset -------------------------------------------------------------------------


def clevertap_tables(document: dict[str, Any]) -> dict[str, Any]:
    return {name: t for name, t in document.items() if name.startswith("clevertap.")}


def test_state_export_import_round_trip(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    seed_three(ct)
    ct.upload_ok({"type": "profile", "identity": "u1", "profileData": {"identity": "alias"}})
    create(ct, campaign())
    before = {u: ct.lookup(identity=u) for u in ("u1", "u2", "u3", "alias")}
    events_before = events_of(ct, "Purchased")
    views_before = {n: views.ct_page(n)["total"] for n in ("profiles", "events", "campaigns")}

    document = emulator.client.state()
    emulator.client.reset()
    assert ct.lookup(identity="u1") == NOT_FOUND
    assert views.ct_page("profiles")["total"] == 0

    emulator.client.load_state(document)
    assert {u: ct.lookup(identity=u) for u in ("u1", "u2", "u3", "alias")} == before
    assert events_of(ct, "Purchased") == events_before
    assert {n: views.ct_page(n)["total"] for n in views_before} == views_before
    # The export is stable: exporting the loaded state gives the same CleverTap tables.
    again = emulator.client.state()
    assert clevertap_tables(again) == clevertap_tables(document)
    assert clevertap_tables(document), "the export has no CleverTap tables"


def test_one_account_export_carries_its_clevertap_data(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    emulator.client.add_tenant(OTHER)
    seed_three(ct)
    ct.upload_ok(profile_record("o1", Name="Other"), headers=OTHER_HEADERS)
    before = ct.lookup(identity="u2")

    document = emulator.client.state(tenant=ACCOUNT)
    assert mentions(document, "u2") and not mentions(document, "o1")
    emulator.client.load_state(document)  # the account alone: EMU-OTHER-01 is gone

    assert ct.lookup(identity="u2") == before
    assert views.ct_page("events")["total"] == 4
    assert all(t["id"] != "EMU-OTHER-01" for t in emulator.client.tenants())


def test_state_round_trip_of_a_merge(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(profile_record("a1"), profile_record("b1"))
    ct.upload_ok({"type": "profile", "identity": "a1", "profileData": {"identity": "b1"}})
    document = emulator.client.state()
    emulator.client.reset()
    emulator.client.load_state(document)
    assert views.ct_page("merges")["total"] == 1
    assert ct.post_ok("/1/demerge/profiles.json", {"identities": ["a1"]})["status"] == "success"
    assert ct.profile(identity="a1")["identities"] == ["a1"]


def test_reset_of_one_account_keeps_the_other(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    emulator.client.add_tenant(OTHER)
    seed_three(ct)
    ct.upload_ok(profile_record("o1", Name="Other"), headers=OTHER_HEADERS)
    ct.upload_ok(event_record("o1", "Purchased", epoch(2024, 1, 5), n=9), headers=OTHER_HEADERS)

    response = emulator.client.http.post("/reset", params={"tenant": ACCOUNT})
    assert response.status_code == 200, response.text

    assert ct.lookup(identity="u1") == NOT_FOUND
    assert views.ct_page("profiles")["total"] == 0
    assert views.ct_page("events")["total"] == 0
    other = ct.lookup(headers=OTHER_HEADERS, identity="o1")
    assert other["status"] == "success" and other["record"]["name"] == "Other"
    assert views.ct_page("profiles", account="EMU-OTHER-01")["total"] == 1
    assert [r["event_props"]["n"] for r in events_of(ct, "Purchased", headers=OTHER_HEADERS)] == [9]


def test_accounts_do_not_see_each_other(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    emulator.client.add_tenant(OTHER)
    seed_three(ct)
    assert ct.lookup(headers=OTHER_HEADERS, identity="u1") == NOT_FOUND
    assert events_of(ct, "Purchased", headers=OTHER_HEADERS) == []
    answer = ct.post_ok("/1/delete/profiles.json", {"identity": "u1"}, headers=OTHER_HEADERS)
    assert answer == {"status": "success"}
    assert ct.profile(identity="u1")["name"] == "Ada"


# -- never a 500 -----------------------------------------------------------------------------

ODD_BODIES: list[Any] = [
    None,
    0,
    "x",
    [],
    {},
    {"d": None},
    {"d": [None, 1, "x", []]},
    {"d": [{"type": None, "value": None, "status": None}]},
    {"d": [{"type": "phone", "value": 1, "status": "Unsubscribe"}]},
    {"d": [{"type": "email", "value": ["a@b.c"], "status": "Resubscribe"}]},
    {"identity": None},
    {"identity": {}},
    {"identity": [None, 1, []]},
    {"guid": [None]},
    {"identity": "u1", "guid": "x"},
    {"identities": [None, {}, 5]},
    {"id": None},
    {"id": "abc"},
    {"id": [1]},
    {"id": 10**30},
    {"from": None, "to": []},
    {"from": "2024", "to": 20240101},
    {"name": "n", "content": {"title": 1}, "where": {"event_name": None}},
    {"name": "n", "content": {}, "segment": "nope"},
    {"name": "n", "content": {}, "segment": "all", "where": {}},
    {"name": "n", "content": {}, "segment": "all", "when": "tomorrow"},
    {"name": "n", "content": {}, "segment": "all", "when": "20241301 10:00"},
    {"name": "n", "content": {}, "segment": "all", "devices": "android"},
    {"name": "n", "content": {}, "segment": "all", "estimate_only": "yes"},
]
MANAGEMENT_ENDPOINTS = [
    "/1/delete/profiles.json",
    "/1/demerge/profiles.json",
    "/1/subscribe",
    "/1/disassociate",
    "/1/upload_device_tokens",
    "/1/targets/create.json",
    "/1/targets/list.json",
    "/1/targets/result.json",
    "/1/targets/stop.json",
    "/1/message/report.json",
]


@pytest.mark.parametrize("path", MANAGEMENT_ENDPOINTS)
def test_odd_bodies_never_answer_500(path: str, ct: CleverTapDriver) -> None:
    seed_reachable(ct)
    create(ct, campaign(when="20991231 10:00"))
    for body in ODD_BODIES:
        response = ct.request("POST", path, json=body)
        assert response.status_code < 500, (body, response.status_code, response.text)
        answer = response.json()
        if response.status_code >= 400:
            assert answer["status"] == "fail" and answer["code"] == response.status_code, answer
            assert isinstance(answer["error"], str) and answer["error"], answer
    malformed = ct.request("POST", path, content=b"{oops")
    assert malformed.status_code == 400
    assert malformed.json() == {"status": "fail", "error": "Malformed request", "code": 400}


# -- auth and methods ------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/1/profile.json?identity=u1"),
    ("POST", "/1/events.json"),
    ("GET", "/1/events.json?cursor=abc"),
    ("POST", "/1/profiles.json"),
    ("POST", "/1/counts/events.json"),
    ("POST", "/1/counts/profiles.json"),
    ("POST", "/1/counts/top.json"),
    ("POST", "/1/counts/trends.json"),
    ("POST", "/1/now.json"),
    *[("POST", path) for path in MANAGEMENT_ENDPOINTS],
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_checks_the_account_and_passcode(
    method: str, path: str, ct: CleverTapDriver
) -> None:
    seed_three(ct)
    body = {"event_name": "Purchased", "identity": "u1"}
    wrong = {"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": "nope"}
    response = ct.request(method, path, headers=wrong, json=body)
    assert response.status_code == 401
    assert response.json() == {"status": "fail", "error": "Invalid Credentials", "code": 401}
    unknown = {"X-CleverTap-Account-Id": "NO-SUCH", "X-CleverTap-Passcode": "emu-passcode"}
    response = ct.request(method, path, headers=unknown, json=body)
    assert response.status_code == 401
    assert response.json() == {"status": "fail", "error": "Account ID is not valid", "code": 401}
    # Nothing happened: u1 is still there.
    assert ct.profile(identity="u1")["name"] == "Ada"
    # Header names in any case (quickhouse sends them lower-case).
    lower = {"x-clevertap-account-id": ACCOUNT, "x-clevertap-passcode": "emu-passcode"}
    assert ct.request(method, path, headers=lower, json={}).status_code != 401


@pytest.mark.parametrize(
    "path", [p for p in MANAGEMENT_ENDPOINTS if p != "/1/upload_device_tokens"]
)
def test_management_endpoints_are_post_only(path: str, ct: CleverTapDriver) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = ct.request(method, path)
        assert response.status_code == 405, (method, path, response.text)
        body = response.json()
        assert body["status"] == "fail" and body["code"] == 405, body
