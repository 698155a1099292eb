"""mParticle audiences → CleverTap "Partner - mParticle" segments, CleverTap's side
(docs/clevertap-behaviour.md, "mParticle audiences (Partner - mParticle segments)").

`POST /1/partners/mparticle/audiences` takes mParticle Firehose audience messages
(docs/integration-behaviour.md) straight over HTTP, as mParticle's audience output
would send them: the identity priority, the Email/Phone merge, the segments, the Partner Sync
events, the answer, and the segment used by a campaign.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.defaults import ACCOUNT

PATH = "/1/partners/mparticle/audiences"
NOW = 1_714_592_744  # 2024-05-01 19:45:44 UTC
ANDROID_ID = "__0123456789abcdef0123456789abcdef"
CART = (456, "Cart Drop off")
VIP = (789, "VIP")
SYNC = "Partner Sync"


# -- message builders ------------------------------------------------------------------------


def envelope(kind: str, message_id: str) -> dict[str, Any]:
    return {
        "type": kind,
        "id": message_id,
        "timestamp_ms": NOW * 1000,
        "firehose_version": "3.2.0",
        "account": {"account_id": 123456, "account_settings": {}},
    }


def subscription(action: str, audience: tuple[int, str] = CART, **extra: Any) -> dict[str, Any]:
    return {
        **envelope("audience_subscription_request", f"sub-{action}"),
        "audience_id": audience[0],
        "audience_name": audience[1],
        "audience_subscription_settings": {},
        "action": action,
        **extra,
    }


def ident(kind: str, value: str, encoding: str = "raw") -> dict[str, str]:
    return {"type": kind, "encoding": encoding, "value": value}


def change(action: str, audience: tuple[int, str] = CART) -> dict[str, Any]:
    return {
        "audience_id": audience[0],
        "audience_name": audience[1],
        "audience_subscription_settings": {},
        "action": action,
    }


def user(
    mpid: str | None = None,
    *,
    identities: list[dict[str, str]] | None = None,
    partner: list[dict[str, str]] | None = None,
    audiences: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "user_identities": identities or [],
        "device_identities": [ident("android_id", "a0504a8cfa15ce2c")],
        "partner_identities": partner or [],
        "audiences": [change("add")] if audiences is None else audiences,
    }
    if mpid is not None:
        out["mpid"] = mpid
    return out


def membership(*users: dict[str, Any], message_id: str = "m-1") -> dict[str, Any]:
    return {
        **envelope("audience_membership_change_request", message_id),
        "user_profiles": list(users),
    }


# -- HTTP helpers ----------------------------------------------------------------------------


def send(ct: CleverTapDriver, message: Any, **kwargs: Any) -> dict[str, Any]:
    """Send a message; it must be answered 200 with the Firehose response for its kind."""
    response = ct.request("POST", PATH, json=message, **kwargs)
    assert response.status_code == 200, (response.status_code, response.text)
    answer: dict[str, Any] = response.json()
    assert answer["type"] == message["type"].replace("_request", "_response")
    assert answer["id"] == message["id"]
    assert answer["firehose_version"] == "3.2.0"
    assert answer["suspend_subscription"] is False
    assert isinstance(answer["timestamp_ms"], int)
    return answer


def syncs(views: ControlViews, **params: Any) -> list[dict[str, Any]]:
    """The account's Partner Sync events."""
    return views.ct_events(event_name=SYNC, **params)


def sync_data(action: str, audience: tuple[int, str] = CART) -> dict[str, Any]:
    return {
        "Partner Segment Name": audience[1],
        "Action": action,
        "Partner Segment ID": audience[0],
        "CT Source": "mParticle",
        "Partner Name": "mParticle",
    }


@pytest.fixture
def frozen(emulator: EmulatorHandle) -> EmulatorHandle:
    emulator.client.freeze_clock(NOW)
    return emulator


# -- subscriptions ---------------------------------------------------------------------------


def test_subscription_add_creates_a_partner_segment(
    frozen: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    answer = send(ct, subscription("add"))
    assert answer["type"] == "audience_subscription_response"
    assert answer["timestamp_ms"] == NOW * 1000
    assert answer["outcome"] == "created"
    assert answer["segment"] == {
        "id": 1,
        "name": "Cart Drop off",
        "type": "Partner - mParticle",
        "partner_segment_id": 456,
        "count": 0,
    }
    (segment,) = views.ct_segments(type="Partner - mParticle")
    assert segment == {
        "id": 1,
        "name": "Cart Drop off",
        "type": "Partner - mParticle",
        "created": NOW,
        "members": [],
        "partner_segment_id": 456,
        "partner": "mParticle",
        "count": 0,
    }


def test_segment_id_follows_the_existing_segments(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    response = emulator.client.http.post(
        f"/clevertap/{ACCOUNT}/segments", json={"name": "Hand made", "identities": []}
    )
    assert response.status_code == 201, response.text
    assert send(ct, subscription("add"))["segment"]["id"] == 2
    assert send(ct, subscription("add", VIP))["segment"]["id"] == 3
    # A second add of the same audience is the same segment.
    again = send(ct, subscription("add"))
    assert again["outcome"] == "unchanged" and again["segment"]["id"] == 2
    assert [s["name"] for s in views.ct_segments(type="Partner - mParticle")] == [
        "Cart Drop off",
        "VIP",
    ]
    assert views.ct_segment("Hand made")["type"] == "Custom List"


def test_subscription_update_renames_and_keeps_members(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    send(ct, subscription("add"))
    send(ct, membership(user(identities=[ident("customer", "c1")])))
    answer = send(ct, subscription("update", (456, "Cart abandoners")))
    assert answer["outcome"] == "renamed"
    assert answer["segment"]["name"] == "Cart abandoners" and answer["segment"]["count"] == 1
    (segment,) = views.ct_segments(type="Partner - mParticle")
    assert segment["name"] == "Cart abandoners" and segment["id"] == 1
    assert segment["members"] == [ct.profile(identity="c1")["platformInfo"][0]["objectId"]]
    assert views.ct_page("segments", name="Cart Drop off")["total"] == 0


def test_subscription_update_of_an_unknown_audience_creates_it(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    answer = send(ct, subscription("update", VIP))
    assert answer["outcome"] == "created"
    assert views.ct_segment("VIP")["partner_segment_id"] == 789


def test_subscription_remove_deletes_the_segment(ct: CleverTapDriver, views: ControlViews) -> None:
    send(ct, subscription("add"))
    send(ct, subscription("add", VIP))
    answer = send(ct, subscription("remove"))
    assert answer["outcome"] == "removed" and answer["segment"]["partner_segment_id"] == 456
    assert [s["name"] for s in views.ct_segments(type="Partner - mParticle")] == ["VIP"]
    # A campaign can no longer name it, by name or by id.
    for segment in ("Cart Drop off", 1):
        response = ct.request("POST", "/1/targets/create.json", json=campaign(segment))
        assert response.status_code == 400, response.text
        assert "not found" in response.json()["error"]
    absent = send(ct, subscription("remove"))
    assert absent["outcome"] == "absent" and absent["segment"] is None


# -- identity priority -----------------------------------------------------------------------


def test_partner_id_matches_the_clevertap_id_before_any_other_identity(
    frozen: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok({"type": "profile", "objectId": ANDROID_ID, "profileData": {"Name": "Ann"}})
    answer = send(
        ct,
        membership(
            user(
                "111",
                identities=[
                    ident("customer", "cust-ann"),
                    ident("email", "ann@example.com"),
                    ident("mobile_number", "+14155550100"),
                ],
                partner=[ident("CleverTap_User_ID", ANDROID_ID)],
            )
        ),
    )
    assert answer["processed"] == 1 and answer["skipped"] == [] and answer["ignored"] == []
    assert answer["applied"] == [
        {
            "index": 0,
            "mpid": "111",
            "objectId": ANDROID_ID,
            "identity": None,
            "matched_by": "CleverTap_User_ID",
            "created": False,
            "added": [456],
            "removed": [],
        }
    ]
    record = ct.profile(objectId=ANDROID_ID)
    assert record["email"] == "ann@example.com" and record["phone"] == "+14155550100"
    assert record["profileData"] == {
        "Name": "Ann",
        "Email": "ann@example.com",
        "Phone": "+14155550100",
    }
    # The customer id named no profile and made none.
    ct.no_profile(identity="cust-ann")
    assert views.ct_page("profiles")["total"] == 1
    assert views.ct_segment("Cart Drop off")["members"] == [ANDROID_ID]


def test_partner_id_of_no_profile_is_skipped_and_creates_nothing(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    answer = send(
        ct,
        membership(
            user(
                "222",
                identities=[ident("customer", "cust-b"), ident("email", "b@example.com")],
                partner=[ident("CleverTap_User_ID", "__ffffffffffffffffffffffffffffffff")],
            )
        ),
    )
    assert answer["processed"] == 0 and answer["applied"] == []
    (skip,) = answer["skipped"]
    assert skip["index"] == 0 and skip["mpid"] == "222"
    assert "__ffffffffffffffffffffffffffffffff" in skip["reason"]
    assert "CleverTap_User_ID" in skip["reason"]
    assert views.ct_page("profiles")["total"] == 0
    assert views.ct_page("events")["total"] == 0
    ct.no_profile(identity="cust-b")


def test_other_partner_identities_are_not_clevertap_ids(ct: CleverTapDriver) -> None:
    ct.upload_ok({"type": "profile", "objectId": ANDROID_ID, "profileData": {}})
    answer = send(
        ct,
        membership(user("333", partner=[ident("partner_id", ANDROID_ID)])),
    )
    assert answer["processed"] == 0
    assert answer["skipped"][0]["reason"] == "anonymous: only an MPID"


def test_customer_id_becomes_the_identity_creating_the_profile(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.no_profile(identity="cust-42")
    first = send(
        ct,
        membership(user("444", identities=[ident("customer", "cust-42")])),
    )
    (applied,) = first["applied"]
    assert applied["matched_by"] == "customer" and applied["created"] is True
    assert applied["identity"] == "cust-42" and applied["mpid"] == "444"
    record = ct.profile(identity="cust-42")
    assert record["platformInfo"][0]["objectId"] == applied["objectId"]
    assert "email" not in record and "phone" not in record
    # The MPID is not an identity when a customer id is given.
    ct.no_profile(identity="444")
    # The next message finds the same profile.
    second = send(
        ct,
        membership(
            user(
                "444",
                identities=[ident("customer", "cust-42"), ident("email", "c42@example.com")],
                audiences=[change("add", VIP)],
            ),
            message_id="m-2",
        ),
    )
    assert second["applied"][0]["created"] is False
    assert second["applied"][0]["objectId"] == applied["objectId"]
    assert ct.profile(identity="cust-42")["email"] == "c42@example.com"
    assert views.ct_page("profiles")["total"] == 1


def test_customer_id_matches_an_uploaded_profile(ct: CleverTapDriver) -> None:
    ct.upload_ok({"type": "profile", "identity": "cust-7", "profileData": {"Name": "Seven"}})
    guid = ct.profile(identity="cust-7")["platformInfo"][0]["objectId"]
    answer = send(
        ct,
        membership(
            user(identities=[ident("customer", "cust-7"), ident("mobile_number", "+447700900123")])
        ),
    )
    assert answer["applied"][0]["objectId"] == guid
    assert answer["applied"][0]["created"] is False
    assert answer["applied"][0]["mpid"] is None
    record = ct.profile(identity="cust-7")
    assert record["profileData"] == {"Name": "Seven", "Phone": "+447700900123"}


@pytest.mark.parametrize(
    ("contact", "key", "value"),
    [
        (ident("email", "m@example.com"), "email", "m@example.com"),
        (ident("mobile_number", "+15550001111"), "phone", "+15550001111"),
    ],
)
def test_mpid_becomes_the_identity_with_an_email_or_phone(
    contact: dict[str, str], key: str, value: str, ct: CleverTapDriver
) -> None:
    answer = send(ct, membership(user("5550001", identities=[contact])))
    (applied,) = answer["applied"]
    assert applied["matched_by"] == "mpid" and applied["identity"] == "5550001"
    assert applied["created"] is True
    assert ct.profile(identity="5550001")[key] == value


def test_an_integer_mpid_is_used_as_a_string(ct: CleverTapDriver) -> None:
    answer = send(ct, membership(user(9001, identities=[ident("email", "i@example.com")])))  # type: ignore[arg-type]
    assert answer["applied"][0]["mpid"] == "9001"
    assert ct.profile(identity="9001")["email"] == "i@example.com"


def test_mpid_alone_is_anonymous_and_skipped(ct: CleverTapDriver, views: ControlViews) -> None:
    answer = send(
        ct,
        membership(
            user("600", identities=[ident("other", "x1"), ident("facebook", "fb1")]),
            user("601", identities=[ident("customer", "cust-601")]),
        ),
    )
    assert answer["processed"] == 1
    assert answer["skipped"] == [{"index": 0, "mpid": "600", "reason": "anonymous: only an MPID"}]
    assert answer["applied"][0]["index"] == 1
    ct.no_profile(identity="600")
    assert views.ct_page("profiles")["total"] == 1
    assert views.ct_segment("Cart Drop off")["count"] == 1
    assert len(syncs(views)) == 1


def test_hashed_identities_are_not_usable(ct: CleverTapDriver, views: ControlViews) -> None:
    ct.upload_ok({"type": "profile", "objectId": ANDROID_ID, "profileData": {}})
    md5 = "e179e95c00e7718ab4a23840f992ea63"
    answer = send(
        ct,
        membership(
            # MPID with only hashed customer id and email: anonymous.
            user(
                "700",
                identities=[ident("customer", md5, "md5"), ident("email", md5, "sha256")],
            ),
            # No MPID, a hashed customer id and a hashed partner id: nothing to match.
            user(
                identities=[ident("customer", md5, "sha1")],
                partner=[ident("CleverTap_User_ID", ANDROID_ID, "md5")],
            ),
        ),
    )
    assert answer["processed"] == 0
    first, second = answer["skipped"]
    assert first["index"] == 0 and first["reason"].startswith("anonymous: only an MPID")
    assert "hashed" in first["reason"]
    assert second["index"] == 1 and second["mpid"] is None
    assert second["reason"].startswith("anonymous: no Partner ID") and "hashed" in second["reason"]
    assert views.ct_page("profiles")["total"] == 1  # only the uploaded one
    assert ct.profile(objectId=ANDROID_ID)["profileData"] == {}
    assert views.ct_page("events")["total"] == 0


def test_a_raw_identity_wins_over_a_hashed_one_of_the_same_type(ct: CleverTapDriver) -> None:
    answer = send(
        ct,
        membership(
            user(
                identities=[
                    ident("customer", "0cc175b9c0f1b6a831c399e269772661", "md5"),
                    ident("customer", "cust-raw"),
                    ident("email", "hashed-not-used", "sha1"),
                ]
            )
        ),
    )
    assert answer["applied"][0]["identity"] == "cust-raw"
    assert "email" not in ct.profile(identity="cust-raw")


# -- membership and Partner Sync -------------------------------------------------------------


def test_add_and_delete_raise_partner_sync_with_all_properties(
    frozen: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    send(ct, subscription("add"))
    customer = [ident("customer", "cust-s")]
    send(ct, membership(user(identities=customer, audiences=[change("add")])))
    guid = ct.profile(identity="cust-s")["platformInfo"][0]["objectId"]
    assert views.ct_segment("Cart Drop off")["members"] == [guid]
    (added,) = syncs(views)
    assert added == {
        "objectId": guid,
        "identity": "cust-s",
        "evtName": SYNC,
        "ts": NOW,
        "evtData": sync_data("Added"),
    }

    frozen.client.freeze_clock(NOW + 60)
    answer = send(
        ct,
        membership(user(identities=customer, audiences=[change("delete")]), message_id="m-2"),
    )
    assert answer["applied"][0]["removed"] == [456] and answer["applied"][0]["added"] == []
    segment = views.ct_segment("Cart Drop off")
    assert segment["members"] == [] and segment["count"] == 0
    events = syncs(views, identity="cust-s")
    assert [e["evtData"] for e in events] == [sync_data("Added"), sync_data("Removed")]
    assert [e["ts"] for e in events] == [NOW, NOW + 60]
    # profile.json counts them under the profile.
    summary = ct.profile(identity="cust-s")["events"][SYNC]
    assert summary == {"count": 2, "first_seen": NOW, "last_seen": NOW + 60}


def test_partner_sync_appears_in_the_events_download(
    frozen: EmulatorHandle, ct: CleverTapDriver
) -> None:
    send(ct, membership(user(identities=[ident("customer", "cust-d")])))
    query = {"event_name": SYNC, "from": 20240501, "to": 20240501}
    started = ct.request("POST", "/1/events.json", json=query)
    assert started.status_code == 200, started.text
    page = ct.request("GET", "/1/events.json", params={"cursor": started.json()["cursor"]}).json()
    (record,) = page["records"]
    assert record["event_props"] == sync_data("Added")
    assert record["profile"]["identity"] == "cust-d"


def test_delete_of_a_non_member_still_raises_removed(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    answer = send(
        ct,
        membership(user(identities=[ident("customer", "cust-n")], audiences=[change("delete")])),
    )
    assert answer["applied"][0]["removed"] == [456]
    segment = views.ct_segment("Cart Drop off")  # made on the fly, empty
    assert segment["type"] == "Partner - mParticle" and segment["members"] == []
    assert [e["evtData"]["Action"] for e in syncs(views)] == ["Removed"]


def test_adding_a_member_twice_keeps_one_membership(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    message = membership(user(identities=[ident("customer", "cust-t")]))
    send(ct, message)
    send(ct, message)
    assert views.ct_segment("Cart Drop off")["count"] == 1
    assert [e["evtData"]["Action"] for e in syncs(views)] == ["Added", "Added"]


def test_unknown_audiences_are_created_on_the_fly(ct: CleverTapDriver, views: ControlViews) -> None:
    answer = send(
        ct,
        membership(
            user(identities=[ident("customer", "cust-u")], audiences=[change("add", VIP)]),
        ),
    )
    assert answer["applied"][0]["added"] == [789]
    (segment,) = views.ct_segments(type="Partner - mParticle")
    assert segment["name"] == "VIP" and segment["partner_segment_id"] == 789
    assert segment["partner"] == "mParticle" and segment["count"] == 1


def test_several_audiences_and_users_in_one_message(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    send(ct, subscription("add"))
    send(ct, subscription("add", VIP))
    answer = send(
        ct,
        membership(
            user(
                identities=[ident("customer", "u1")],
                audiences=[change("add"), change("add", VIP)],
            ),
            user(identities=[ident("customer", "u2")], audiences=[change("add", VIP)]),
            user(
                identities=[ident("customer", "u3")],
                audiences=[change("add"), change("delete", VIP)],
            ),
        ),
    )
    assert answer["processed"] == 3
    assert [a["added"] for a in answer["applied"]] == [[456, 789], [789], [456]]
    assert views.ct_segment("Cart Drop off")["count"] == 2
    assert views.ct_segment("VIP")["count"] == 2
    assert len(syncs(views)) == 5


def test_attribute_update_is_ignored_with_a_reason(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    update = {
        **change("attribute_update", VIP),
        "user_attributes": [
            {"key": "Some Key", "value": "9999999", "action": "upsert"},
            {"key": "Churned", "action": "delete"},
            {},
        ],
    }
    answer = send(
        ct,
        membership(
            user(identities=[ident("customer", "cust-a")], audiences=[change("add"), update]),
            user(identities=[ident("customer", "cust-only-update")], audiences=[update]),
        ),
    )
    assert answer["processed"] == 1
    assert [i["index"] for i in answer["ignored"]] == [0, 1]
    first = answer["ignored"][0]
    assert first["audience_index"] == 1 and first["audience_id"] == 789
    assert first["action"] == "attribute_update" and "attribute_update" in first["reason"]
    assert answer["skipped"] == [
        {"index": 1, "mpid": None, "reason": "no add or delete in audiences"}
    ]
    # No segment, no event, no attribute for the update; no profile for the user it alone named.
    assert [s["name"] for s in views.ct_segments(type="Partner - mParticle")] == ["Cart Drop off"]
    assert [e["evtData"]["Partner Segment ID"] for e in syncs(views)] == [456]
    assert "Some Key" not in ct.profile(identity="cust-a")["profileData"]
    ct.no_profile(identity="cust-only-update")


def test_skips_and_ignores_are_in_the_journal(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    send(
        ct,
        membership(
            user("800"),
            user(
                identities=[ident("customer", "c")],
                audiences=[change("add"), change("attribute_update", VIP)],
            ),
        ),
    )
    (entry,) = emulator.client.requests(path=PATH)
    assert entry["status"] == 200 and entry["valid"] is True
    assert entry["notes"] == [
        "user_profiles[0] skipped: anonymous: only an MPID",
        "user_profiles[1].audiences[1] ignored: "
        "attribute_update is not applied: CleverTap keeps no audience attributes",
    ]


def test_state_export_keeps_partner_segments(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    send(ct, membership(user(identities=[ident("customer", "cust-p")])))
    document = emulator.client.state()
    emulator.client.reset()
    assert views.ct_segments(type="Partner - mParticle") == []
    emulator.client.load_state(document)
    (segment,) = views.ct_segments(type="Partner - mParticle")
    assert segment["count"] == 1 and segment["partner_segment_id"] == 456
    assert len(syncs(views)) == 1


# -- campaigns -------------------------------------------------------------------------------


def campaign(segment: Any, mode: str = "email") -> dict[str, Any]:
    return {
        "name": "Win back",
        "target_mode": mode,
        "segment": segment,
        "content": {"title": "Hello", "body": "Come back", "subject": "We miss you"},
        "devices": ["android", "ios"],
        "when": "now",
    }


@pytest.mark.parametrize("by", ["name", "id"])
def test_a_partner_segment_is_a_campaign_audience(
    by: str, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(
        {"type": "profile", "identity": "outsider", "profileData": {"Email": "o@example.com"}},
    )
    answer = send(
        ct,
        membership(
            user(
                "901",
                identities=[ident("customer", "cust-1"), ident("email", "one@example.com")],
            ),
            user("902", identities=[ident("email", "two@example.com")]),
            user("903", identities=[ident("customer", "cust-3")]),  # no email: not reachable
        ),
    )
    members = {a["objectId"] for a in answer["applied"]}
    assert len(members) == 3
    segment = views.ct_segments(type="Partner - mParticle")[0]
    key = segment["name"] if by == "name" else segment["id"]
    response = ct.request("POST", "/1/targets/create.json", json=campaign(key))
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["status"] == "success", created
    assert created["estimates"] == {"android": 2, "ios": 0}
    campaigns = views.ct_page("campaigns", name="Win back")["campaigns"]
    (captured,) = [c for c in campaigns if c["id"] == created["id"]]
    assert captured["request"]["segment"] == key
    audience = sorted(captured["audience"], key=lambda m: m["email"])
    assert [(m["identity"], m["email"]) for m in audience] == [
        ("cust-1", "one@example.com"),
        ("902", "two@example.com"),
    ]
    assert {m["objectId"] for m in audience} <= members
    assert "o@example.com" not in {m["email"] for m in captured["audience"]}


def test_a_removed_member_leaves_the_campaign_audience(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    users = [
        user(identities=[ident("customer", f"c{n}"), ident("email", f"{n}@example.com")])
        for n in (1, 2)
    ]
    send(ct, membership(*users))
    users[1]["audiences"] = [change("delete")]
    send(ct, membership(users[1], message_id="m-2"))
    created = ct.request("POST", "/1/targets/create.json", json=campaign("Cart Drop off")).json()
    assert created["status"] == "success", created
    (captured,) = views.ct_page("campaigns")["campaigns"]
    assert [m["identity"] for m in captured["audience"]] == ["c1"]


# -- auth and bad requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "Account ID is not valid"),
        (
            {"X-CleverTap-Account-Id": "NOPE", "X-CleverTap-Passcode": "x"},
            "Account ID is not valid",
        ),
        (
            {"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": "wrong"},
            "Invalid Credentials",
        ),
    ],
)
def test_wrong_credentials_are_a_401(
    headers: dict[str, str], error: str, views: ControlViews, ct: CleverTapDriver
) -> None:
    message = membership(user(identities=[ident("customer", "cust-x")]))
    response = ct.post(PATH, message, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json() == {"status": "fail", "error": error, "code": 401}
    assert views.ct_page("profiles")["total"] == 0
    assert views.ct_segments(type="Partner - mParticle") == []


def test_a_body_that_is_not_json_is_a_400(ct: CleverTapDriver) -> None:
    response = ct.request("POST", PATH, content=b'{"type": "audience_subscription_request",')
    assert response.status_code == 400, response.text
    assert response.json() == {"status": "fail", "error": "Malformed request", "code": 400}


def _without(message: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != key}


BAD = [
    pytest.param([], "$", id="not-an-object"),
    pytest.param({**subscription("add"), "type": "event_processing_request"}, "$.type", id="type"),
    pytest.param({**membership(), "type": {}}, "$.type", id="type-object"),
    pytest.param(_without(subscription("add"), "type"), "$.type", id="no-type"),
    pytest.param(_without(subscription("add"), "audience_id"), "$", id="no-audience-id"),
    pytest.param(subscription("add", (456, "")), "$.audience_name", id="empty-name"),
    pytest.param({**subscription("add"), "action": "delete"}, "$.action", id="sub-action"),
    pytest.param({**subscription("add"), "audience_id": "456"}, "$.audience_id", id="id-string"),
    pytest.param({**subscription("add"), "extra": 1}, "$", id="undeclared-field"),
    pytest.param(
        membership(user(audiences=[change("remove")])),
        "$.user_profiles[0].audiences[0].action",
        id="membership-action",
    ),
    pytest.param(
        membership(user(identities=[{"type": "customer", "value": "c"}])),
        "$.user_profiles[0].user_identities[0]",
        id="no-encoding",
    ),
    pytest.param(
        membership(user(identities=[ident("customer_id", "c")])),
        "$.user_profiles[0].user_identities[0].type",
        id="identity-type",
    ),
    pytest.param(
        membership(user(partner=[ident("CleverTap_User_ID", "x", "base64")])),
        "$.user_profiles[0].partner_identities[0].encoding",
        id="encoding",
    ),
]


@pytest.mark.parametrize(("message", "path"), BAD)
def test_a_bad_message_is_a_400_naming_the_field(
    emulator: EmulatorHandle, message: Any, path: str, ct: CleverTapDriver, views: ControlViews
) -> None:
    response = ct.request("POST", PATH, json=message)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "fail" and body["code"] == 400
    assert body["error"].startswith(path + ": "), body
    assert len(body["error"]) < 300  # a field and what is wrong, not the whole body quoted
    (entry,) = emulator.client.requests(path=PATH)
    assert entry["valid"] is False
    assert views.ct_page("profiles")["total"] == 0
    assert views.ct_segments(type="Partner - mParticle") == []


@pytest.mark.parametrize(
    "message",
    [_without(membership(), "user_profiles"), membership()],
    ids=["no-user-profiles", "empty-user-profiles"],
)
def test_a_health_check_without_users_is_answered_200(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews, message: dict[str, Any]
) -> None:
    """mParticle sends periodic membership changes with no `user_profiles` as a health check;
    the partner must answer them normally (https://docs.mparticle.com/developers/partners/firehose/)."""
    answer = send(ct, message)
    assert answer["type"] == "audience_membership_change_response"
    assert (answer["processed"], answer["applied"], answer["skipped"]) == (0, [], [])
    (entry,) = emulator.client.requests(path=PATH)
    assert entry["valid"] is True
    assert entry["notes"] == ["health check: a membership change without user_profiles"]
    assert views.ct_page("profiles")["total"] == 0
    assert views.ct_segments(type="Partner - mParticle") == []
