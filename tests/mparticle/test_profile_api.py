"""mParticle Profile API (OAuth client credentials, profiles by MPID and by identity) and feeds
(the `mParticle Source Feed` stamp, partner identities).

Hand-written HTTP (httpx), checked against docs/mparticle-behaviour.md (Profile API:
token request and answer, the by-MPID and resolve paths, `fields`, the profile's shape) and
docs/integration-behaviour.md (feeds: Basic key and secret of the feed input, the
`mParticle Source Feed` custom attribute, `partner_identities` only from a feed), and the README
(default credentials: org 10, account 100, workspace 1000, client `emu-client-id`; the CleverTap
feed input `emu-feed-key` named "CleverTap feed").

Expected values are written out by hand, never derived from the emulator's own answers, except the
MPIDs and tokens it mints.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.defaults import FEED
from tests.drivers.mparticle import OAUTH_CLIENT as CLIENT

WORKSPACE = "1000"
PLACE = f"10/100/{WORKSPACE}"
FEED_NAME = "CleverTap feed"
STAMP = "mParticle Source Feed"
ALL_FIELDS = "user_identities,device_identities,user_attributes,audience_memberships"
BASE_KEYS = {
    "mpid",
    "created_timestamp_ms",
    "last_stored_timestamp_ms",
    "is_opted_out",
    "limit_ad_tracking",
}
T0 = 1_704_103_200  # 2024-01-01T10:00:00Z
EIGHT_HOURS = 8 * 3600

RICH_BATCH: dict[str, Any] = {
    "environment": "production",
    "user_identities": {"customerid": "c1", "email": "c1@example.com"},
    "device_info": {
        "ios_advertising_id": "IDFA-1",
        "ios_idfv": "IDFV-1",
        "android_advertising_id": "GAID-1",
        "android_uuid": "ANDROID-1",
        "push_token": "PUSH-1",
    },
    "mp_deviceid": "das-1",
    "user_attributes": {"$city": "Paris", "tier": "gold", "ml_product_recs": ["123", "294"]},
}
USER_IDENTITIES = [
    {"type": "customer_id", "encoding": "none", "value": "c1"},
    {"type": "email", "encoding": "none", "value": "c1@example.com"},
]
DEVICE_IDENTITIES = [
    {"type": "ios_advertising_id", "encoding": "none", "value": "IDFA-1"},
    {"type": "ios_vendor_id", "encoding": "none", "value": "IDFV-1"},
    {"type": "google_advertising_id", "encoding": "none", "value": "GAID-1"},
    {"type": "android_id", "encoding": "none", "value": "ANDROID-1"},
    {"type": "push_token", "encoding": "none", "value": "PUSH-1"},
    {"type": "device_application_stamp", "encoding": "none", "value": "das-1"},
]


# -- helpers ---------------------------------------------------------------------------------


def bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


def by_mpid(
    http: httpx.Client, mpid: str, fields: str | None, access: str, place: str = PLACE
) -> httpx.Response:
    params = {} if fields is None else {"fields": fields}
    return http.get(f"/userprofile/v1/{place}/{mpid}", params=params, headers=bearer(access))


def resolve(
    http: httpx.Client,
    identity: dict[str, Any],
    fields: str | None,
    access: str,
    place: str = PLACE,
) -> httpx.Response:
    params = {} if fields is None else {"fields": fields}
    body = {"environment_type": "production", "identity": identity}
    return http.post(
        f"/userprofile/v1/resolve/{place}", params=params, json=body, headers=bearer(access)
    )


def platform_error(response: httpx.Response, status: int) -> str:
    """A Profile API error: `{"errors": [{"code", "message"}]}` with this status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}, body
    (error,) = body["errors"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    code: str = error["code"]
    return code


def sort_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["type"], r["value"]))


def seed(views: ControlViews, mp: MParticleDriver) -> tuple[str, dict[str, Any]]:
    """The rich user, frozen at T0, in one audience; answers its MPID and the audience."""
    views.freeze(T0)
    response = views.http.post(
        f"/mparticle/{WORKSPACE}/audiences",
        json={"name": "Parisians", "criteria": {"attribute": "$city", "value": "Paris"}},
    )
    assert response.status_code == 201, response.text
    mp.send(RICH_BATCH)
    return views.mpid_of("c1"), response.json()


# -- OAuth -------------------------------------------------------------------------------------


def test_token(http: httpx.Client, mp: MParticleDriver) -> None:
    first = mp.token()
    second = mp.token()
    assert first != second
    # The audience field is optional in the emulator's contract.
    body = {k: v for k, v in CLIENT.items() if k != "audience"}
    assert http.post("/oauth/token", json=body).status_code == 200


@pytest.mark.parametrize(
    "override",
    [
        {"client_secret": "wrong"},
        {"client_secret": ""},
        {"client_id": "someone-else"},
        {"client_id": "emu-s2s-key", "client_secret": "emu-s2s-secret"},
    ],
)
def test_token_with_wrong_credentials_is_401(
    http: httpx.Client, ctl: httpx.Client, override: dict[str, str]
) -> None:
    response = http.post("/oauth/token", json={**CLIENT, **override})
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == "access_denied"
    assert isinstance(body["error_description"], str)


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in CLIENT.items() if k != "client_secret"},
        {k: v for k, v in CLIENT.items() if k != "client_id"},
        {k: v for k, v in CLIENT.items() if k != "grant_type"},
        {**CLIENT, "grant_type": "password"},
    ],
)
def test_token_request_outside_the_contract_is_400(
    http: httpx.Client, ctl: httpx.Client, body: dict[str, Any]
) -> None:
    response = http.post("/oauth/token", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    broken = http.post("/oauth/token", content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert broken.json()["error"] == "invalid_request"


# -- profiles by MPID --------------------------------------------------------------------------


def test_profile_by_mpid_with_every_field(
    http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, audience = seed(views, mp)
    response = by_mpid(http, mpid, ALL_FIELDS, mp.token())
    assert response.status_code == 200, response.text
    profile = response.json()
    assert set(profile) == BASE_KEYS | {
        "user_identities",
        "device_identities",
        "account_userattributes",
        "user_attributes",
        "audience_memberships",
    }
    assert profile["mpid"] == int(mpid)
    assert profile["created_timestamp_ms"] == T0 * 1000
    assert profile["last_stored_timestamp_ms"] == T0 * 1000
    assert profile["is_opted_out"] is False
    assert profile["limit_ad_tracking"] is None
    assert sort_ids(profile["user_identities"]) == sort_ids(USER_IDENTITIES)
    assert sort_ids(profile["device_identities"]) == sort_ids(DEVICE_IDENTITIES)
    assert profile["account_userattributes"] is None
    assert profile["user_attributes"] == RICH_BATCH["user_attributes"]
    assert profile["audience_memberships"] == [
        {
            "audience_id": audience["id"],
            "audience_name": "Parisians",
            "expiration_timestamp_ms": None,
        }
    ]


@pytest.mark.parametrize(
    ("fields", "keys"),
    [
        ("user_identities", {"user_identities"}),
        ("device_identities", {"device_identities"}),
        ("user_attributes", {"user_attributes", "account_userattributes"}),
        ("audience_memberships", {"audience_memberships"}),
        ("attribution", {"attribution"}),
        (
            "user_attributes,user_identities",
            {"user_attributes", "account_userattributes", "user_identities"},
        ),
        (" user_identities , audience_memberships ", {"user_identities", "audience_memberships"}),
    ],
)
def test_each_field_group_only_when_asked(
    http: httpx.Client, fields: str, keys: set[str], mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, _ = seed(views, mp)
    response = by_mpid(http, mpid, fields, mp.token())
    assert response.status_code == 200, response.text
    profile = response.json()
    assert set(profile) == BASE_KEYS | keys
    if "attribution" in keys:
        assert profile["attribution"] == []


def test_profile_follows_later_data(
    http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, _ = seed(views, mp)
    access = mp.token()
    views.advance(90)
    mp.send(
        {
            "user_identities": {"customerid": "c1"},
            "user_attributes": {"$city": "Rome"},
            "deleted_user_attributes": ["tier"],
        },
    )
    profile = by_mpid(http, mpid, "user_attributes,audience_memberships", access).json()
    assert profile["user_attributes"] == {"$city": "Rome", "ml_product_recs": ["123", "294"]}
    assert profile["audience_memberships"] == []
    assert profile["created_timestamp_ms"] == T0 * 1000
    assert profile["last_stored_timestamp_ms"] == (T0 + 90) * 1000

    # An identity added through IDSync modify shows up too.
    change = {"identity_type": "other", "old_value": None, "new_value": "o-1"}
    modify = http.post(
        f"/v1/{mpid}/modify",
        headers={"x-mp-key": "emu-web-key"},
        json={"environment": "production", "identity_changes": [change]},
    )
    assert modify.status_code == 200, modify.text
    profile = by_mpid(http, mpid, "user_identities", access).json()
    assert sort_ids(profile["user_identities"]) == sort_ids(
        [*USER_IDENTITIES, {"type": "other", "encoding": "none", "value": "o-1"}]
    )


def test_anonymous_user_has_empty_groups(
    http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    answer = http.post(
        "/v1/identify",
        headers={"x-mp-key": "emu-web-key"},
        json={"environment": "production", "known_identities": {"device_application_stamp": "d"}},
    ).json()
    profile = by_mpid(http, answer["mpid"], ALL_FIELDS, mp.token()).json()
    assert profile["mpid"] == int(answer["mpid"])
    assert profile["user_identities"] == []
    assert profile["device_identities"] == [
        {"type": "device_application_stamp", "encoding": "none", "value": "d"}
    ]
    assert profile["user_attributes"] == {}
    assert profile["audience_memberships"] == []


@pytest.mark.parametrize(
    "fields",
    [
        None,
        "",
        ",",
        " , ",
        "bogus",
        "user_identities,bogus",
        "User_Identities",
        "user_attributes;x",
    ],
)
def test_missing_or_unknown_fields_are_400(
    http: httpx.Client, fields: str | None, mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, _ = seed(views, mp)
    access = mp.token()
    platform_error(by_mpid(http, mpid, fields, access), 400)
    platform_error(resolve(http, {"type": "customer_id", "value": "c1"}, fields, access), 400)


def test_token_needed(http: httpx.Client, mp: MParticleDriver, views: ControlViews) -> None:
    mpid, _ = seed(views, mp)
    path = f"/userprofile/v1/{PLACE}/{mpid}"
    params = {"fields": "user_identities"}
    body = {"environment_type": "production", "identity": {"type": "customer_id", "value": "c1"}}
    access = mp.token()
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Basic {access}"},
        {"Authorization": access},
    ):
        platform_error(http.get(path, params=params, headers=headers), 401)
        response = http.post(
            f"/userprofile/v1/resolve/{PLACE}", params=params, json=body, headers=headers
        )
        platform_error(response, 401)
    # The same requests with the token work.
    assert by_mpid(http, mpid, "user_identities", access).status_code == 200
    response = http.post(
        f"/userprofile/v1/resolve/{PLACE}", params=params, json=body, headers=bearer(access)
    )
    assert response.status_code == 200, response.text


def test_token_expires_after_eight_hours_of_the_clock(
    http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, _ = seed(views, mp)
    access = mp.token()
    views.advance(EIGHT_HOURS - 1)
    assert by_mpid(http, mpid, "user_identities", access).status_code == 200
    views.advance(2)
    platform_error(by_mpid(http, mpid, "user_identities", access), 401)
    platform_error(
        resolve(http, {"type": "customer_id", "value": "c1"}, "user_identities", access), 401
    )
    # A new token works again.
    assert by_mpid(http, mpid, "user_identities", mp.token()).status_code == 200


def test_reset_forgets_tokens(
    emulator: EmulatorHandle, http: httpx.Client, mp: MParticleDriver
) -> None:
    access = mp.token()
    emulator.client.reset()
    platform_error(by_mpid(http, "1", "user_identities", access), 401)


@pytest.mark.parametrize(
    "place",
    [
        f"11/100/{WORKSPACE}",  # wrong org
        f"10/101/{WORKSPACE}",  # wrong account
        "10/100/9999",  # no such workspace
        "10/100/EMU-TEST-0001",  # a CleverTap account, not a workspace
    ],
)
def test_wrong_org_account_or_workspace_is_404(
    http: httpx.Client, place: str, mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, _ = seed(views, mp)
    access = mp.token()
    platform_error(by_mpid(http, mpid, "user_identities", access, place=place), 404)
    response = resolve(
        http, {"type": "customer_id", "value": "c1"}, "user_identities", access, place=place
    )
    platform_error(response, 404)


@pytest.mark.parametrize("mpid", ["123", "-5", "abc", "0", "99999999999999999999999"])
def test_unknown_mpid_is_404(
    http: httpx.Client, mpid: str, mp: MParticleDriver, views: ControlViews
) -> None:
    seed(views, mp)
    platform_error(by_mpid(http, mpid, "user_identities", mp.token()), 404)


def test_token_of_another_workspace_is_refused(
    emulator: EmulatorHandle, http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, _ = seed(views, mp)
    emulator.client.add_tenant(
        {
            "kind": "mparticle_workspace",
            "id": "2000",
            "org_id": "10",
            "account_id": "100",
            "inputs": [{"kind": "s2s", "key": "k2", "secret": "s2"}],
            "api_clients": [{"client_id": "c2-id", "client_secret": "c2-secret"}],
        }
    )
    other = mp.token(client_id="c2-id", client_secret="c2-secret")
    # Its token does not read workspace 1000...
    platform_error(by_mpid(http, mpid, "user_identities", other), 403)
    # ... but reads its own (where the MPID is unknown).
    platform_error(by_mpid(http, mpid, "user_identities", other, place="10/100/2000"), 404)
    # And workspace 1000's token does not read workspace 2000.
    response = by_mpid(http, mpid, "user_identities", mp.token(), place="10/100/2000")
    platform_error(response, 403)


# -- resolve -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identity",
    [
        {"type": "customer_id", "value": "c1"},
        {"type": "email", "value": "c1@example.com"},
    ],
)
def test_resolve_gives_the_same_profile(
    http: httpx.Client, identity: dict[str, str], mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, _ = seed(views, mp)
    access = mp.token()
    direct = by_mpid(http, mpid, ALL_FIELDS, access)
    assert direct.status_code == 200, direct.text
    resolved = resolve(http, identity, ALL_FIELDS, access)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json() == direct.json()
    assert resolved.json()["mpid"] == int(mpid)
    # Field selection applies here too.
    only = resolve(http, identity, "user_attributes", access).json()
    assert set(only) == BASE_KEYS | {"user_attributes", "account_userattributes"}


def test_resolve_picks_the_right_user(
    http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    mpid, _ = seed(views, mp)
    mp.send({"user_identities": {"customerid": "c2"}, "user_attributes": {"$city": "Oslo"}})
    other = views.mpid_of("c2")
    access = mp.token()
    one = resolve(http, {"type": "customer_id", "value": "c1"}, "user_attributes", access)
    two = resolve(http, {"type": "customer_id", "value": "c2"}, "user_attributes", access)
    assert one.json()["mpid"] == int(mpid)
    assert two.json()["mpid"] == int(other)
    assert two.json()["user_attributes"] == {"$city": "Oslo"}


@pytest.mark.parametrize(
    "identity",
    [
        {"type": "customer_id", "value": "nobody"},
        {"type": "email", "value": "c2@example.com"},
        {"type": "customer_id", "value": "C1"},
    ],
)
def test_resolve_unknown_identity_is_404(
    http: httpx.Client, identity: dict[str, str], mp: MParticleDriver, views: ControlViews
) -> None:
    seed(views, mp)
    platform_error(resolve(http, identity, "user_identities", mp.token()), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"environment_type": "production"},
        {"environment_type": "production", "identity": {"type": "customer_id"}},
        {"environment_type": "production", "identity": {"value": "c1"}},
        {"environment_type": "staging", "identity": {"type": "customer_id", "value": "c1"}},
        {"identity": "c1"},
    ],
)
def test_resolve_bad_body_is_400(
    http: httpx.Client, body: dict[str, Any], mp: MParticleDriver, views: ControlViews
) -> None:
    seed(views, mp)
    response = http.post(
        f"/userprofile/v1/resolve/{PLACE}",
        params={"fields": "user_identities"},
        json=body,
        headers=bearer(mp.token()),
    )
    platform_error(response, 400)


# -- feeds -------------------------------------------------------------------------------------


def feed_batch(customer: str = "f1", **extra: Any) -> dict[str, Any]:
    return {
        "environment": "production",
        "user_identities": {"customerid": customer, "email": f"{customer}@example.com"},
        "events": [
            {
                "event_type": "custom_event",
                "data": {
                    "event_name": "Opened App",
                    "custom_event_type": "other",
                    "timestamp_unixtime_ms": T0 * 1000,
                    "custom_attributes": {"ct_source": "clevertap"},
                },
            },
            {
                "event_type": "custom_event",
                "data": {"event_name": "Viewed", "custom_event_type": "navigation"},
            },
            {"event_type": "screen_view", "data": {"screen_name": "Home"}},
        ],
        **extra,
    }


@pytest.mark.parametrize("path", ["/v2/events", "/s2s/v2/events"])
def test_feed_events_carry_the_source_feed_stamp(
    http: httpx.Client, path: str, views: ControlViews
) -> None:
    views.freeze(T0)
    sent = feed_batch(partner_identities={"CleverTap_User_ID": "ct-1"})
    response = http.post(path, auth=FEED, json=sent)
    assert response.status_code == 202, response.text
    (row,) = views.mp_batches()
    assert row["input"] == "emu-feed-key"

    # As received: exactly what was sent, no stamp.
    assert row["batch"] == sent
    for event in row["batch"]["events"]:
        assert STAMP not in (event["data"].get("custom_attributes") or {})

    # As processed: every event carries the feed's name, other attributes kept.
    resolved = row["resolved"]["batch"]
    assert resolved["mpid"] == int(row["resolved"]["mpid"])
    assert resolved["partner_identities"] == {"CleverTap_User_ID": "ct-1"}
    attributes = [e["data"]["custom_attributes"] for e in resolved["events"]]
    assert attributes == [
        {"ct_source": "clevertap", STAMP: FEED_NAME},
        {STAMP: FEED_NAME},
        {STAMP: FEED_NAME},
    ]
    assert [e["data"]["timestamp_unixtime_ms"] for e in resolved["events"]] == [T0 * 1000] * 3


def test_feed_bulk_stamps_every_batch(http: httpx.Client, views: ControlViews) -> None:
    response = http.post("/s2s/v2/bulkevents", auth=FEED, json=[feed_batch("f1"), feed_batch("f2")])
    assert response.status_code == 202, response.text
    rows = views.mp_batches()
    assert len(rows) == 2
    for row in rows:
        for event in row["resolved"]["batch"]["events"]:
            assert event["data"]["custom_attributes"][STAMP] == FEED_NAME
        for event in row["batch"]["events"]:
            assert STAMP not in (event["data"].get("custom_attributes") or {})


def test_other_inputs_are_not_stamped(
    http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send(feed_batch("s1"))
    web = feed_batch("w1")
    response = http.post(
        "/v3/JS/emu-web-key/events",
        content=json.dumps(web).encode(),
        headers={"content-type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 202, response.text
    rows = views.mp_batches()
    assert [r["input"] for r in rows] == ["emu-s2s-key", "emu-web-key"]
    for row in rows:
        for event in row["resolved"]["batch"]["events"]:
            assert STAMP not in (event["data"].get("custom_attributes") or {})


def test_partner_identities_only_from_a_feed(
    ctl: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    partner = {"partner_identities": {"CleverTap_User_ID": "ct-1"}}
    for path in ("/v2/events", "/s2s/v2/events"):
        response = mp.post(feed_batch(**partner), path=path)
        assert response.status_code == 400, (path, response.text)
        (error,) = response.json()["errors"]
        assert error["code"] == "BAD_REQUEST"
        assert "partner_identities" in error["message"]
    # In a bulk request only that batch is refused (tests/mparticle/test_bulk_partial.py).
    response = mp.post([feed_batch("ok"), feed_batch(**partner)], path="/v2/bulkevents")
    assert response.status_code == 202, response.text
    (row,) = views.mp_batches()
    assert "partner_identities" not in row["batch"]
    assert ctl.get(f"/mparticle/{WORKSPACE}/users").json()["total"] == 1
    views.client.reset()

    # From the feed input: accepted and kept.
    mp.send(feed_batch(**partner), auth=FEED)
    (row,) = views.mp_batches()
    assert row["batch"]["partner_identities"] == {"CleverTap_User_ID": "ct-1"}
    # Empty partner identities are no partner identities.
    mp.send(feed_batch("s2", partner_identities={}))
    assert len(views.mp_batches()) == 2


# Feed rules (https://docs.mparticle.com/developers/apis/json-reference/): a partner feed may
# not send `consent_state`, and may send only its own registered partner identity.
@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"consent_state": {"gdpr": {}}}, "consent_state"),
        ({"partner_identities": {"Other_Partner_ID": "x-1"}}, "Other_Partner_ID"),
        (
            {"partner_identities": {"CleverTap_User_ID": "ct-1", "CleverTap_ObjectId": "o"}},
            "CleverTap_ObjectId",
        ),
    ],
    ids=["consent_state", "unregistered-partner", "second-partner-identity"],
)
def test_feed_refuses_consent_state_and_unregistered_partner_identities(
    extra: dict[str, Any], named: str, mp: MParticleDriver, views: ControlViews
) -> None:
    response = mp.post(feed_batch(**extra), path="/s2s/v2/events", auth=FEED)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["code"] == "BAD_REQUEST" and named in error["message"], error
    assert views.mp_batches() == [] and views.mp_users() == []

    # In a bulk request only that batch is refused; the journal names why.
    response = mp.post(
        [feed_batch("ok"), feed_batch(**extra)], path="/s2s/v2/bulkevents", auth=FEED
    )
    assert response.status_code == 202, response.text
    (row,) = views.mp_batches()
    assert row["batch"]["user_identities"]["customerid"] == "ok"
    (entry,) = views.client.requests(path="/s2s/v2/bulkevents")
    refused = [p for p in entry["parts"] if p["outcome"] == "rejected"]
    assert [p["index"] for p in refused] == [1]
    assert named in str(refused[0]["errors"])


def test_feed_partner_identity_is_the_input_setting(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    """A feed registered under another partner identity takes that one, not CleverTap's."""
    doc = views.connection(WORKSPACE)  # any tenant's document
    for item in doc["inputs"]:
        if item["kind"] == "feed":
            item["partner_identity"] = "Acme_ID"
    emulator.client.put_tenant(doc)
    ok = mp.post(feed_batch(partner_identities={"Acme_ID": "a-1"}), path="/v2/events", auth=FEED)
    assert ok.status_code == 202, ok.text
    clevertap = feed_batch("f2", partner_identities={"CleverTap_User_ID": "ct-1"})
    refused = mp.post(clevertap, path="/v2/events", auth=FEED)
    assert refused.status_code == 400, refused.text
    assert len(views.mp_batches()) == 1


def test_feed_batches_carry_source_info(mp: MParticleDriver, views: ControlViews) -> None:
    """mParticle sets `source_info` on what arrives: a partner feed's batch has channel
    `partner` and the feed's name (https://docs.mparticle.com/developers/apis/json-reference/,
    source_info); what the feed sent is overridden."""
    sent = feed_batch(source_info={"channel": "native"})
    mp.send(sent, path="/s2s/v2/events", auth=FEED)
    mp.send(feed_batch("s1"))
    feed, server = views.mp_batches()
    assert feed["resolved"]["batch"]["source_info"] == {
        "channel": "partner",
        "partner": FEED_NAME,
        "is_historical": False,
    }
    assert feed["batch"]["source_info"] == {"channel": "native"}  # as received
    assert "source_info" not in server["resolved"]["batch"]
