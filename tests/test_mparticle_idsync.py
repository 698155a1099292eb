"""mParticle users: IDSync (identify/login/logout/search/modify) and Events API resolution.

Hand-written HTTP (httpx) against the emulator, checked against shared/reference/mparticle-api.md
§4 (IDSync: endpoints, auth, bodies, answers, the default strategy) and §2 (batch format:
`user_identities`, `mp_deviceid`, `mpid` as number or string, attributes, timestamps). What the
emulator kept is read back through the control API: `/_emulator/mparticle/1000/users` and
`/_emulator/mparticle/1000/batches`.

Expected values are written out by hand from the reference and the issue, never derived from the
emulator's own answers, except the MPIDs it mints (random, seeded): those are compared with each
other.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from emulator.testing.plugin import EmulatorHandle

WORKSPACE = "1000"
ENV = "development"
WEB = {"x-mp-key": "emu-web-key"}
S2S = ("emu-s2s-key", "emu-s2s-secret")
FEED = ("emu-feed-key", "emu-feed-secret")
USERS = f"/mparticle/{WORKSPACE}/users"
BATCHES = f"/mparticle/{WORKSPACE}/batches"
ANSWER_KEYS = {"context", "mpid", "matched_identities", "is_ephemeral", "is_logged_in"}
ERROR_KEYS = {"Errors", "ErrorCode", "StatusCode", "RequestId"}
T0 = 1_704_103_200  # 2024-01-01T10:00:00Z
T0_MS = T0 * 1000


# -- helpers ---------------------------------------------------------------------------------


def idsync(
    http: httpx.Client,
    action: str,
    known: dict[str, Any],
    *,
    previous: Any = None,
    prefix: str = "",
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"environment": ENV, "known_identities": known}
    if previous is not None:
        body["previous_mpid"] = previous
    if headers is None and auth is None:
        headers = WEB
    return http.post(f"{prefix}/v1/{action}", json=body, headers=headers, auth=auth)


def answer(response: httpx.Response) -> dict[str, Any]:
    """A 200 IDSync answer, with its shape checked (reference §4.3)."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ANSWER_KEYS, body
    assert body["context"] is None
    assert body["is_ephemeral"] is False
    assert isinstance(body["is_logged_in"], bool)
    assert_mpid(body["mpid"])
    return body


def identify(http: httpx.Client, **known: str) -> dict[str, Any]:
    return answer(idsync(http, "identify", known))


def login(http: httpx.Client, previous: Any = None, **known: str) -> dict[str, Any]:
    return answer(idsync(http, "login", known, previous=previous))


def logout(http: httpx.Client, previous: Any = None, **known: str) -> dict[str, Any]:
    return answer(idsync(http, "logout", known, previous=previous))


def modify(
    http: httpx.Client, mpid: str, *changes: tuple[str, str | None, str | None], prefix: str = ""
) -> httpx.Response:
    body = {
        "environment": ENV,
        "identity_changes": [
            {"identity_type": kind, "old_value": old, "new_value": new}
            for kind, old, new in changes
        ],
    }
    return http.post(f"{prefix}/v1/{mpid}/modify", json=body, headers=WEB)


def assert_mpid(mpid: Any) -> None:
    """An MPID on the wire: the decimal string of a signed 64-bit integer, never 0."""
    assert isinstance(mpid, str), mpid
    assert re.fullmatch(r"-?[1-9][0-9]*", mpid), mpid
    assert -(2**63) <= int(mpid) < 2**63


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["ErrorCode"] == code
    assert body["StatusCode"] == status
    assert len(body["Errors"]) == 1
    assert body["Errors"][0]["code"] == code
    assert isinstance(body["Errors"][0]["message"], str) and body["Errors"][0]["message"]


def users(emulator: EmulatorHandle, **query: str) -> list[dict[str, Any]]:
    response = emulator.client.http.get(USERS, params=query)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["users"])
    return page["users"]  # type: ignore[no-any-return]


def user(emulator: EmulatorHandle, mpid: str) -> dict[str, Any]:
    response = emulator.client.http.get(f"{USERS}/{mpid}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["mpid"] == mpid
    return body


def batches(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    response = emulator.client.http.get(BATCHES)
    assert response.status_code == 200, response.text
    return response.json()["batches"]  # type: ignore[no-any-return]


def send_batch(
    http: httpx.Client, batch: dict[str, Any], auth: tuple[str, str] = S2S
) -> httpx.Response:
    return http.post("/v2/events", json={"environment": ENV, **batch}, auth=auth)


def resolved(http: httpx.Client, emulator: EmulatorHandle, batch: dict[str, Any]) -> dict[str, Any]:
    """Send one batch (202) and answer what the emulator resolved it to."""
    response = send_batch(http, batch)
    assert response.status_code == 202, response.text
    assert response.content == b""
    row = batches(emulator)[-1]
    assert row["input"] == "emu-s2s-key"
    assert row["batch"] == {"environment": ENV, **batch}  # kept as received
    assert set(row["resolved"]) == {
        "mpid",
        "user_created",
        "matched_identities",
        "events",
        "timestamps_stamped",
        "batch",
    }
    assert_mpid(row["resolved"]["mpid"])
    # the resolved batch names its user
    assert str(row["resolved"]["batch"]["mpid"]) == row["resolved"]["mpid"]
    return row["resolved"]  # type: ignore[no-any-return]


def identity_changes(found: dict[str, Any]) -> list[tuple[str, Any, Any, str]]:
    return [
        (h["type"], h["old"], h["new"], h["reason"])
        for h in found["history"]
        if h["change"] == "identity"
    ]


# -- identify --------------------------------------------------------------------------------


def test_identify_unknown_user_mints_an_mpid_and_again_returns_it(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    first = identify(http, device_application_stamp="d-1", email="anon@example.com")
    assert first["matched_identities"] == {}  # nothing was known
    assert first["is_logged_in"] is False

    again = identify(http, device_application_stamp="d-1", email="anon@example.com")
    assert again["mpid"] == first["mpid"]
    assert again["matched_identities"] == {
        "device_application_stamp": "d-1",
        "email": "anon@example.com",
    }
    assert again["is_logged_in"] is False

    # a subset of the identities finds the same user, and matched names only what was sent
    part = identify(http, device_application_stamp="d-1")
    assert part["mpid"] == first["mpid"]
    assert part["matched_identities"] == {"device_application_stamp": "d-1"}

    rows = users(emulator)
    assert len(rows) == 1
    row = rows[0]
    assert row["mpid"] == first["mpid"]
    assert row["user_identities"] == {"email": "anon@example.com"}
    assert row["device_identities"] == {"device_application_stamp": "d-1"}
    assert row["user_attributes"] == {}
    assert row["events"] == {}
    assert row["history"][0]["change"] == "created"
    assert row["history"][0]["reason"] == "identify"

    other = identify(http, device_application_stamp="d-2")
    assert other["mpid"] != first["mpid"]
    assert len(users(emulator)) == 2

    # journaled as mParticle traffic of the workspace
    entries = emulator.client.requests(path="/v1/identify")
    assert len(entries) == 4
    assert {(e["platform"], e["tenant"], e["status"]) for e in entries} == {
        ("mparticle", WORKSPACE, 200)
    }


def test_mpids_are_deterministic_per_seed(http: httpx.Client, emulator: EmulatorHandle) -> None:
    """The fixture's full reset restarts the id sequence: the same traffic gets the same MPIDs,
    whatever identities it carries."""
    first = identify(http, customerid="seed-a")["mpid"]
    second = identify(http, customerid="seed-b")["mpid"]
    assert first != second
    emulator.client.reset()
    assert users(emulator) == []
    assert identify(http, email="other@example.com")["mpid"] == first
    assert identify(http, device_application_stamp="d-x")["mpid"] == second


def test_identify_with_customer_id_is_logged_in(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    known = identify(http, customerid="cust-1", email="c1@example.com")
    assert known["is_logged_in"] is True
    assert known["matched_identities"] == {}
    again = identify(http, customerid="cust-1")
    assert again["mpid"] == known["mpid"]
    assert again["matched_identities"] == {"customerid": "cust-1"}
    assert again["is_logged_in"] is True


def test_known_user_is_not_returned_for_its_email_alone(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    """Default strategy (§4.4): a profile holding a login id answers only to that login id."""
    known = identify(http, customerid="cust-1", email="c1@example.com")
    # search never creates: nothing answers to the email alone
    assert_error(idsync(http, "search", {"email": "c1@example.com"}), 404, "NOT_FOUND_ERROR")

    anonymous = identify(http, email="c1@example.com")
    assert anonymous["mpid"] != known["mpid"]
    assert anonymous["is_logged_in"] is False
    assert "customerid" not in anonymous["matched_identities"]

    # with the login id, the known user again
    both = identify(http, customerid="cust-1", email="c1@example.com")
    assert both["mpid"] == known["mpid"]
    assert both["matched_identities"] == {"customerid": "cust-1", "email": "c1@example.com"}
    assert user(emulator, known["mpid"])["user_identities"] == {
        "customer_id": "cust-1",
        "email": "c1@example.com",
    }


def test_identify_with_email_of_known_user_is_stable(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    identify(http, customerid="cust-1", email="c1@example.com")
    first = identify(http, email="c1@example.com")
    second = identify(http, email="c1@example.com")
    assert second["mpid"] == first["mpid"]
    assert user(emulator, first["mpid"])["user_identities"] == {"email": "c1@example.com"}


def test_idsync_key_spellings(http: httpx.Client, emulator: EmulatorHandle) -> None:
    """IDSync names (customerid, otherN, facebookcustomaudienceid) are kept under the Events API
    names; matched_identities answers in the request's spelling."""
    known = {
        "customerid": "cust-9",
        "other": "o1",
        "other2": "o2",
        "other10": "o10",
        "facebookcustomaudienceid": "fca",
        "mobile_number": "+15550001",
        "ios_idfa": "b7d0fe34-1a8c-4d29-9a3c-3d8a1e2b5f60",
        "device_application_stamp": "d-9",
    }
    first = answer(idsync(http, "identify", known))
    row = user(emulator, first["mpid"])
    assert row["user_identities"] == {
        "customer_id": "cust-9",
        "other": "o1",
        "other_id_2": "o2",
        "other_id_10": "o10",
        "facebook_custom_audience_id": "fca",
        "mobile_number": "+15550001",
    }
    assert row["device_identities"] == {
        "ios_idfa": "b7d0fe34-1a8c-4d29-9a3c-3d8a1e2b5f60",
        "device_application_stamp": "d-9",
    }
    again = answer(idsync(http, "identify", known))
    assert again["mpid"] == first["mpid"]
    assert again["matched_identities"] == known

    # the users view finds a user by any identity value
    assert [u["mpid"] for u in users(emulator, identity="o2")] == [first["mpid"]]
    assert [u["mpid"] for u in users(emulator, identity="d-9")] == [first["mpid"]]
    assert users(emulator, identity="nobody") == []
    assert [u["mpid"] for u in users(emulator, mpid=first["mpid"])] == [first["mpid"]]


def test_identify_by_other2_alone_is_stable(http: httpx.Client, emulator: EmulatorHandle) -> None:
    first = identify(http, other2="o2")
    again = identify(http, other2="o2")
    assert again["mpid"] == first["mpid"]
    assert again["matched_identities"] == {"other2": "o2"}
    got = resolved(http, emulator, {"user_identities": {"other_id_2": "o2"}})
    assert got["mpid"] == first["mpid"]
    assert len(users(emulator)) == 1


def test_null_identities_are_ignored_and_empty_is_a_lookup_error(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    for action in ("identify", "login", "search"):
        assert_error(idsync(http, action, {}), 400, "LOOKUP_ERROR")
        assert_error(idsync(http, action, {"email": None}), 400, "LOOKUP_ERROR")
    assert users(emulator) == []
    found = answer(idsync(http, "identify", {"email": None, "customerid": "cust-1"}))
    assert user(emulator, found["mpid"])["user_identities"] == {"customer_id": "cust-1"}


def test_bad_requests(http: httpx.Client, emulator: EmulatorHandle) -> None:
    no_env = http.post("/v1/identify", json={"known_identities": {"email": "a@b.c"}}, headers=WEB)
    assert_error(no_env, 400, "BAD_REQUEST")
    assert_error(
        http.post(
            "/v1/identify", content=b"{", headers={**WEB, "Content-Type": "application/json"}
        ),
        400,
        "BAD_REQUEST",
    )
    assert_error(modify(http, "not-a-number", ("email", None, "a@b.c")), 400, "BAD_REQUEST")
    assert users(emulator) == []


# -- login / logout --------------------------------------------------------------------------


def test_login_converts_the_anonymous_profile(http: httpx.Client, emulator: EmulatorHandle) -> None:
    anonymous = identify(http, device_application_stamp="d-1")
    assert anonymous["is_logged_in"] is False

    logged = login(
        http,
        previous=anonymous["mpid"],
        device_application_stamp="d-1",
        customerid="cust-1",
        email="c1@example.com",
    )
    assert logged["mpid"] == anonymous["mpid"]  # Profile Conversion: the MPID is kept
    assert logged["is_logged_in"] is True
    assert logged["matched_identities"] == {"device_application_stamp": "d-1"}

    rows = users(emulator)
    assert len(rows) == 1
    row = rows[0]
    assert row["user_identities"] == {"customer_id": "cust-1", "email": "c1@example.com"}
    assert row["device_identities"] == {"device_application_stamp": "d-1"}
    assert [h["change"] for h in row["history"]][-1] == "login"
    assert ("customer_id", None, "cust-1", "login") in identity_changes(row)

    # the converted user now answers to its login id
    assert identify(http, customerid="cust-1")["mpid"] == anonymous["mpid"]


def test_login_converts_the_previous_mpid_without_a_device_stamp(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    """No identity of the request is known: previous_mpid (string or number) names the
    anonymous profile to convert."""
    first = identify(http, device_application_stamp="d-1")
    logged = login(http, previous=first["mpid"], customerid="cust-1")
    assert logged["mpid"] == first["mpid"]
    assert logged["is_logged_in"] is True
    assert logged["matched_identities"] == {}

    second = identify(http, device_application_stamp="d-2")
    logged = login(http, previous=int(second["mpid"]), customerid="cust-2")
    assert logged["mpid"] == second["mpid"]
    assert user(emulator, second["mpid"])["user_identities"] == {"customer_id": "cust-2"}
    assert len(users(emulator)) == 2


def test_login_with_a_customer_id_another_user_holds_returns_that_user(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    holder = identify(http, customerid="cust-1", email="c1@example.com")
    anonymous = identify(http, device_application_stamp="d-2")

    logged = login(
        http, previous=anonymous["mpid"], customerid="cust-1", device_application_stamp="d-2"
    )
    assert logged["mpid"] == holder["mpid"]
    assert logged["is_logged_in"] is True
    assert logged["matched_identities"] == {"customerid": "cust-1"}
    # the device identity of the request joins the known profile; the anonymous one stays
    assert user(emulator, holder["mpid"])["device_identities"] == {
        "device_application_stamp": "d-2"
    }
    assert user(emulator, anonymous["mpid"])["user_identities"] == {}
    assert len(users(emulator)) == 2


def test_login_with_a_new_customer_id_from_a_known_user_is_a_new_user(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    """Conversion applies to an anonymous profile only: a known current user keeps its login
    id and the new login id gets a new MPID."""
    known = identify(http, customerid="cust-1", device_application_stamp="d-1")
    other = login(http, previous=known["mpid"], customerid="cust-2", device_application_stamp="d-1")
    assert other["mpid"] != known["mpid"]
    assert other["is_logged_in"] is True
    assert user(emulator, known["mpid"])["user_identities"] == {"customer_id": "cust-1"}
    assert user(emulator, other["mpid"])["user_identities"] == {"customer_id": "cust-2"}


def test_logout_gives_a_new_anonymous_user_with_the_device_identities(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    anonymous = identify(http, device_application_stamp="d-1")
    known = login(
        http, previous=anonymous["mpid"], customerid="cust-1", device_application_stamp="d-1"
    )

    out = logout(
        http,
        previous=known["mpid"],
        device_application_stamp="d-1",
        ios_idfv="b7d0fe34-1a8c-4d29-9a3c-3d8a1e2b5f61",
        customerid="cust-1",
    )
    assert out["mpid"] != known["mpid"]
    assert out["is_logged_in"] is False
    assert out["matched_identities"] == {}
    row = user(emulator, out["mpid"])
    assert row["user_identities"] == {}  # user identities stay behind
    assert row["device_identities"] == {
        "device_application_stamp": "d-1",
        "ios_idfv": "b7d0fe34-1a8c-4d29-9a3c-3d8a1e2b5f61",
    }
    assert row["history"][0]["reason"] == "logout"
    # the known user is untouched
    assert user(emulator, known["mpid"])["user_identities"] == {"customer_id": "cust-1"}

    # logging in again returns the known user
    back = login(http, previous=out["mpid"], customerid="cust-1", device_application_stamp="d-1")
    assert back["mpid"] == known["mpid"]
    assert back["is_logged_in"] is True
    assert len(users(emulator)) == 2


# -- search ----------------------------------------------------------------------------------


def test_search_hit_and_miss_never_create(http: httpx.Client, emulator: EmulatorHandle) -> None:
    assert_error(idsync(http, "search", {"customerid": "cust-1"}), 404, "NOT_FOUND_ERROR")
    assert users(emulator) == []

    known = identify(http, customerid="cust-1", email="c1@example.com")
    anonymous = identify(http, device_application_stamp="d-1")

    hit = answer(idsync(http, "search", {"customerid": "cust-1", "email": "c1@example.com"}))
    assert hit["mpid"] == known["mpid"]
    assert hit["matched_identities"] == {"customerid": "cust-1", "email": "c1@example.com"}
    assert hit["is_logged_in"] is True

    hit = answer(idsync(http, "search", {"device_application_stamp": "d-1"}))
    assert hit["mpid"] == anonymous["mpid"]
    assert hit["is_logged_in"] is False

    miss = idsync(http, "search", {"email": "nobody@example.com"})
    assert_error(miss, 404, "NOT_FOUND_ERROR")
    # a hit does not add the request's other identities either
    answer(idsync(http, "search", {"device_application_stamp": "d-1", "email": "x@example.com"}))
    assert len(users(emulator)) == 2
    assert user(emulator, anonymous["mpid"])["user_identities"] == {}


# -- modify ----------------------------------------------------------------------------------


def test_modify_adds_replaces_and_removes_identities(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    found = identify(http, customerid="cust-1", email="old@example.com")
    mpid = found["mpid"]

    response = modify(
        http,
        mpid,
        ("other2", None, "o2"),
        ("email", "old@example.com", "new@example.com"),
        ("mobile_number", None, "+15550001"),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "change_results": [
            {"identity_type": "other2", "modified_mpid": mpid},
            {"identity_type": "email", "modified_mpid": mpid},
            {"identity_type": "mobile_number", "modified_mpid": mpid},
        ]
    }
    assert user(emulator, mpid)["user_identities"] == {
        "customer_id": "cust-1",
        "email": "new@example.com",
        "other_id_2": "o2",
        "mobile_number": "+15550001",
    }

    response = modify(http, mpid, ("other2", "o2", None), ("ios_idfa", None, "idfa-1"))
    assert response.status_code == 200, response.text
    row = user(emulator, mpid)
    assert row["user_identities"] == {
        "customer_id": "cust-1",
        "email": "new@example.com",
        "mobile_number": "+15550001",
    }
    assert row["device_identities"] == {"ios_idfa": "idfa-1"}
    assert identity_changes(row)[-5:] == [
        ("other_id_2", None, "o2", "modify"),
        ("email", "old@example.com", "new@example.com", "modify"),
        ("mobile_number", None, "+15550001", "modify"),
        ("other_id_2", "o2", None, "modify"),
        ("ios_idfa", None, "idfa-1", "modify"),
    ]

    # the replaced value no longer finds the user; the new one does
    hit = answer(idsync(http, "search", {"customerid": "cust-1", "email": "new@example.com"}))
    assert hit["matched_identities"] == {"customerid": "cust-1", "email": "new@example.com"}
    hit = answer(idsync(http, "search", {"customerid": "cust-1", "email": "old@example.com"}))
    assert hit["matched_identities"] == {"customerid": "cust-1"}
    assert users(emulator, identity="o2") == []
    assert len(users(emulator)) == 1  # modify never creates


def test_modify_takes_the_customer_id_from_another_user(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    holder = identify(http, customerid="cust-1", device_application_stamp="d-1")["mpid"]
    taker = identify(http, customerid="cust-2")["mpid"]

    response = modify(http, taker, ("customerid", "cust-2", "cust-1"))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "change_results": [{"identity_type": "customerid", "modified_mpid": taker}]
    }

    assert user(emulator, taker)["user_identities"] == {"customer_id": "cust-1"}
    left = user(emulator, holder)
    assert left["user_identities"] == {}  # orphaned: no longer known
    assert left["device_identities"] == {"device_application_stamp": "d-1"}
    taken = [h for h in left["history"] if h["change"] == "identity" and h["new"] is None]
    assert len(taken) == 1
    assert taken[0]["type"] == "customer_id"
    assert taken[0]["old"] == "cust-1"
    assert taker in taken[0]["reason"]
    assert ("customer_id", "cust-2", "cust-1", "modify") in identity_changes(user(emulator, taker))

    hit = answer(idsync(http, "search", {"customerid": "cust-1"}))
    assert hit["mpid"] == taker
    assert_error(idsync(http, "search", {"customerid": "cust-2"}), 404, "NOT_FOUND_ERROR")
    # the orphaned profile is anonymous now: its device stamp finds it again
    assert answer(idsync(http, "search", {"device_application_stamp": "d-1"}))["mpid"] == holder


def test_modify_sets_a_non_unique_identity_another_user_holds(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    identify(http, customerid="cust-1", email="shared@example.com")
    other = identify(http, device_application_stamp="d-2")["mpid"]
    response = modify(http, other, ("email", None, "shared@example.com"))
    assert response.status_code == 200, response.text
    assert user(emulator, other)["user_identities"] == {"email": "shared@example.com"}


def test_modify_of_an_unknown_mpid_is_not_found(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    assert_error(modify(http, "1234567", ("email", None, "a@example.com")), 404, "NOT_FOUND_ERROR")
    assert users(emulator) == []


# -- paths and auth --------------------------------------------------------------------------


def test_identity_prefix_serves_every_operation(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    p = "/identity"
    first = answer(idsync(http, "identify", {"device_application_stamp": "d-1"}, prefix=p))
    assert (
        answer(idsync(http, "identify", {"device_application_stamp": "d-1"}))["mpid"]
        == (first["mpid"])
    )
    logged = answer(
        idsync(
            http,
            "login",
            {"customerid": "cust-1", "device_application_stamp": "d-1"},
            previous=first["mpid"],
            prefix=p,
        )
    )
    assert logged["mpid"] == first["mpid"]
    assert logged["is_logged_in"] is True
    hit = answer(idsync(http, "search", {"customerid": "cust-1"}, prefix=p))
    assert hit["mpid"] == first["mpid"]
    assert_error(idsync(http, "search", {"customerid": "nobody"}, prefix=p), 404, "NOT_FOUND_ERROR")
    response = modify(http, first["mpid"], ("email", None, "c1@example.com"), prefix=p)
    assert response.status_code == 200, response.text
    assert response.json()["change_results"] == [
        {"identity_type": "email", "modified_mpid": first["mpid"]}
    ]
    out = answer(idsync(http, "logout", {"device_application_stamp": "d-1"}, prefix=p))
    assert out["mpid"] != first["mpid"]
    assert out["is_logged_in"] is False
    assert len(users(emulator)) == 2


def test_auth(http: httpx.Client, emulator: EmulatorHandle) -> None:
    known = {"customerid": "cust-1"}
    # accepted: x-mp-key of any input, Basic with a server input's key and secret
    first = answer(idsync(http, "identify", known))
    for headers, auth in (
        ({"x-mp-key": "emu-s2s-key"}, None),
        ({"X-MP-KEY": "emu-feed-key"}, None),
        (None, S2S),
        (None, FEED),
    ):
        got = answer(idsync(http, "identify", known, headers=headers, auth=auth))
        assert got["mpid"] == first["mpid"]

    # refused with 401 in the IDSync error shape, for every operation
    for headers, auth in (
        ({}, None),
        ({"x-mp-key": "nope"}, None),
        ({"x-mp-key": ""}, None),
        (None, ("emu-s2s-key", "wrong")),
        (None, ("nope", "emu-s2s-secret")),
    ):
        for action in ("identify", "login", "logout", "search"):
            response = idsync(http, action, {"customerid": "cust-2"}, headers=headers, auth=auth)
            assert_error(response, 401, "UNAUTHORIZED")
        response = http.post(
            f"/v1/{first['mpid']}/modify",
            json={"environment": ENV, "identity_changes": []},
            headers=headers,
            auth=auth,
        )
        assert_error(response, 401, "UNAUTHORIZED")
    response = idsync(http, "identify", known, prefix="/identity", headers={})
    assert_error(response, 401, "UNAUTHORIZED")
    assert len(users(emulator)) == 1


# -- Events API ------------------------------------------------------------------------------


def test_batches_resolve_to_the_idsync_mpid(http: httpx.Client, emulator: EmulatorHandle) -> None:
    known = identify(http, customerid="cust-1", device_application_stamp="d-1")["mpid"]
    anonymous = identify(http, device_application_stamp="d-2")["mpid"]

    for key in ("customerid", "customer_id"):  # the PyPI/npm clients' and the schema's names
        got = resolved(http, emulator, {"user_identities": {key: "cust-1"}})
        assert got["mpid"] == known
        assert got["user_created"] is False
        assert got["matched_identities"] == {"customer_id": "cust-1"}

    got = resolved(http, emulator, {"mp_deviceid": "d-2"})  # the Web SDK's device stamp
    assert got["mpid"] == anonymous
    assert got["user_created"] is False
    assert got["matched_identities"] == {"device_application_stamp": "d-2"}

    other = identify(http, email="anon@example.com")["mpid"]
    got = resolved(http, emulator, {"user_identities": {"email": "anon@example.com"}})
    assert got["mpid"] == other
    assert got["matched_identities"] == {"email": "anon@example.com"}
    assert len(users(emulator)) == 3


def test_batch_mpid_as_number_and_as_string(http: httpx.Client, emulator: EmulatorHandle) -> None:
    mpid = identify(http, customerid="cust-1")["mpid"]
    for value in (int(mpid), mpid):
        got = resolved(http, emulator, {"mpid": value})
        assert got["mpid"] == mpid
        assert got["user_created"] is False
        assert got["matched_identities"] == {}
    # the mpid wins, and the batch's identities that match are reported
    got = resolved(http, emulator, {"mpid": mpid, "user_identities": {"customerid": "cust-1"}})
    assert got["mpid"] == mpid
    assert got["matched_identities"] == {"customer_id": "cust-1"}
    assert len(users(emulator)) == 1

    bad = send_batch(http, {"mpid": "not-a-number"})
    assert bad.status_code == 400, bad.text
    assert len(batches(emulator)) == 3


def test_batch_for_a_new_identity_mints_a_user(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    got = resolved(
        http,
        emulator,
        {
            "user_identities": {"customerid": "cust-7", "email": "c7@example.com"},
            "mp_deviceid": "d-7",
        },
    )
    assert got["user_created"] is True
    assert got["matched_identities"] == {}
    row = user(emulator, got["mpid"])
    assert row["user_identities"] == {"customer_id": "cust-7", "email": "c7@example.com"}
    assert row["device_identities"] == {"device_application_stamp": "d-7"}
    assert row["history"][0]["reason"] == "batch"

    # IDSync finds the same user for the same identities
    found = identify(http, customerid="cust-7", device_application_stamp="d-7")
    assert found["mpid"] == got["mpid"]
    assert found["matched_identities"] == {
        "customerid": "cust-7",
        "device_application_stamp": "d-7",
    }
    # a second batch does not mint again
    again = resolved(http, emulator, {"user_identities": {"customerid": "cust-7"}})
    assert again["mpid"] == got["mpid"]
    assert again["user_created"] is False
    assert len(users(emulator)) == 1


def test_batch_mpid_unknown_to_the_workspace_becomes_a_user(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    got = resolved(http, emulator, {"mpid": 424242, "user_identities": {"email": "x@example.com"}})
    assert got == {
        "mpid": "424242",
        "user_created": True,
        "matched_identities": {},
        "events": 0,
        "timestamps_stamped": 0,
        "batch": {
            "environment": ENV,
            "mpid": 424242,
            "user_identities": {"email": "x@example.com"},
        },
    }
    assert user(emulator, "424242")["user_identities"] == {"email": "x@example.com"}


def test_batch_attributes_and_attribute_change_events(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    mpid = identify(http, customerid="cust-1")["mpid"]
    resolved(
        http,
        emulator,
        {
            "user_identities": {"customerid": "cust-1"},
            "user_attributes": {"plan": "pro", "tags": ["a", "b"], "city": "Paris", "tmp": "x"},
            "deleted_user_attributes": ["tmp"],
        },
    )
    assert user(emulator, mpid)["user_attributes"] == {
        "plan": "pro",
        "tags": ["a", "b"],
        "city": "Paris",
    }

    got = resolved(
        http,
        emulator,
        {
            "mpid": mpid,
            "deleted_user_attributes": ["city"],
            "events": [
                {
                    "event_type": "user_attribute_change",
                    "data": {
                        "user_attribute_name": "plan",
                        "old": "pro",
                        "new": "team",
                        "timestamp_unixtime_ms": T0_MS,
                    },
                },
                {
                    "event_type": "user_attribute_change",
                    "data": {
                        "user_attribute_name": "tags",
                        "old": ["a", "b"],
                        "deleted": True,
                        "timestamp_unixtime_ms": T0_MS,
                    },
                },
                {
                    "event_type": "user_attribute_change",
                    "data": {
                        "user_attribute_name": "seats",
                        "new": "5",
                        "is_new_attribute": True,
                        "timestamp_unixtime_ms": T0_MS,
                    },
                },
            ],
        },
    )
    assert got["events"] == 3
    assert got["timestamps_stamped"] == 0
    row = user(emulator, mpid)
    assert row["user_attributes"] == {"plan": "team", "seats": "5"}
    assert row["events"] == {
        "user_attribute_change": {"count": 3, "first_ms": T0_MS, "last_ms": T0_MS}
    }


def test_user_identity_change_event_adds_the_identity(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    mpid = identify(http, device_application_stamp="d-1")["mpid"]
    resolved(
        http,
        emulator,
        {
            "mpid": mpid,
            "events": [
                {
                    "event_type": "user_identity_change",
                    "data": {
                        "new": {"identity_type": "email", "identity": "n@example.com"},
                        "old": {"identity_type": "email", "identity": None},
                        "timestamp_unixtime_ms": T0_MS,
                    },
                }
            ],
        },
    )
    assert user(emulator, mpid)["user_identities"] == {"email": "n@example.com"}


def test_events_without_timestamps_get_the_emulator_clock(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    emulator.client.freeze_clock(at=T0)
    own = T0_MS - 60_000
    batch = {
        "user_identities": {"customerid": "cust-1"},
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "Opened", "custom_event_type": "other"},
            },
            {
                "event_type": "custom_event",
                "data": {
                    "event_name": "Opened",
                    "custom_event_type": "other",
                    "timestamp_unixtime_ms": own,
                },
            },
            {"event_type": "screen_view", "data": {"screen_name": "Home"}},
        ],
    }
    got = resolved(http, emulator, batch)
    assert got["user_created"] is True
    assert got["events"] == 3
    assert got["timestamps_stamped"] == 2
    # the stored batch is as received: no stamped timestamp in it
    assert "timestamp_unixtime_ms" not in batches(emulator)[-1]["batch"]["events"][0]["data"]

    row = user(emulator, got["mpid"])
    assert row["events"] == {
        "Opened": {"count": 2, "first_ms": own, "last_ms": T0_MS},
        "Home": {"count": 1, "first_ms": T0_MS, "last_ms": T0_MS},
    }
    assert row["created"] == T0
    assert row["updated"] == T0


def test_partner_identities_only_from_a_feed_input(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    batch = {
        "user_identities": {"customerid": "cust-1"},
        "partner_identities": {"CleverTap_ObjectId": "__abc"},
    }
    refused = send_batch(http, batch)
    assert refused.status_code == 400, refused.text
    errors = refused.json()["errors"]
    assert len(errors) == 1
    assert errors[0]["code"] == "BAD_REQUEST"
    assert "partner_identities" in errors[0]["message"]
    assert batches(emulator) == []
    assert users(emulator) == []

    accepted = send_batch(http, batch, auth=FEED)
    assert accepted.status_code == 202, accepted.text
    rows = batches(emulator)
    assert len(rows) == 1
    assert rows[0]["input"] == "emu-feed-key"
    assert rows[0]["batch"]["partner_identities"] == {"CleverTap_ObjectId": "__abc"}
    assert rows[0]["resolved"]["user_created"] is True
    assert [u["mpid"] for u in users(emulator)] == [rows[0]["resolved"]["mpid"]]


# -- state -----------------------------------------------------------------------------------


def test_state_round_trip_keeps_users(http: httpx.Client, emulator: EmulatorHandle) -> None:
    emulator.client.freeze_clock(at=T0)
    known = identify(http, customerid="cust-1", email="c1@example.com")["mpid"]
    anonymous = identify(http, device_application_stamp="d-2", email="anon@example.com")["mpid"]
    resolved(
        http,
        emulator,
        {
            "mpid": known,
            "user_attributes": {"plan": "pro"},
            "events": [
                {
                    "event_type": "custom_event",
                    "data": {"event_name": "Paid", "custom_event_type": "transaction"},
                }
            ],
        },
    )
    before = users(emulator)
    document = emulator.client.state()
    # what the next new user would get, before the export is loaded back
    next_mpid = identify(http, email="next@example.com")["mpid"]

    emulator.client.reset()
    assert users(emulator) == []
    emulator.client.load_state(document)

    assert users(emulator) == before
    assert len(batches(emulator)) == 1
    # the identity index is back: the same identities find the same users
    again = identify(http, customerid="cust-1")
    assert again["mpid"] == known
    assert again["is_logged_in"] is True
    assert identify(http, email="anon@example.com")["mpid"] == anonymous
    # and the id sequence continues where the export left it
    assert identify(http, email="next@example.com")["mpid"] == next_mpid


def test_state_round_trip_keeps_device_identity_resolution(
    http: httpx.Client, emulator: EmulatorHandle
) -> None:
    first = identify(http, device_application_stamp="d-1")["mpid"]
    login(http, previous=first, customerid="cust-1", device_application_stamp="d-1")
    out = logout(http, previous=first, device_application_stamp="d-1")["mpid"]
    # back on the known user, which took d-1 last; a known user does not answer to d-1 alone,
    # so the device's anonymous profile (the logged-out one, which still holds d-1) does
    login(http, previous=out, customerid="cust-1", device_application_stamp="d-1")
    assert idsync(http, "search", {"device_application_stamp": "d-1"}).json()["mpid"] == out

    document = emulator.client.state()
    emulator.client.reset()
    emulator.client.load_state(document)
    assert idsync(http, "search", {"device_application_stamp": "d-1"}).json()["mpid"] == out


def test_reset_of_the_workspace_clears_users(http: httpx.Client, emulator: EmulatorHandle) -> None:
    old = identify(http, customerid="cust-1")["mpid"]
    resolved(http, emulator, {"user_identities": {"customerid": "cust-2"}})
    assert len(users(emulator)) == 2

    emulator.client.reset(WORKSPACE)
    assert users(emulator) == []
    assert batches(emulator) == []
    assert_error(idsync(http, "search", {"customerid": "cust-1"}), 404, "NOT_FOUND_ERROR")
    response = emulator.client.http.get(f"{USERS}/{old}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # a tenant reset does not restart the id sequence: the next user is a new MPID
    assert identify(http, customerid="cust-1")["mpid"] != old


def test_users_view_errors(emulator: EmulatorHandle) -> None:
    assert emulator.client.http.get(f"{USERS}/1234567").status_code == 404
    assert emulator.client.http.get("/mparticle/9999/users").status_code == 404
    assert emulator.client.http.get("/mparticle/9999/users/1").status_code == 404


def test_an_idsync_error_echoes_the_request_id(http: httpx.Client) -> None:
    response = http.post(
        "/v1/identify",
        headers={"x-mp-key": "emu-web-key"},
        json={"environment": "development", "request_id": "req-7", "known_identities": {}},
    )
    assert response.status_code == 400
    assert response.json() == {
        "Errors": [{"code": "LOOKUP_ERROR", "message": "knownIdentities is empty."}],
        "ErrorCode": "LOOKUP_ERROR",
        "StatusCode": 400,
        "RequestId": "req-7",
    }
