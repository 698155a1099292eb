"""mParticle users: IDSync (identify/login/logout/search/modify) and Events API resolution.

Hand-written HTTP (httpx) against the emulator, checked against docs/mparticle-behaviour.md
(IDSync: endpoints, auth, bodies, answers, the default strategy) and the batch format (
`user_identities`, `mp_deviceid`, `mpid` as number or string, attributes, timestamps). What the
emulator kept is read back through the control API: `/_emulator/mparticle/1000/users` and
`/_emulator/mparticle/1000/batches`.

Expected values are written out by hand from the reference and the issue, never derived from the
emulator's own answers, except the MPIDs it mints (random, seeded): those are compared with each
other.
"""

from __future__ import annotations

from typing import Any

import httpx

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.defaults import FEED, S2S, WEB
from tests.drivers.mparticle import assert_mpid, idsync_answer
from tests.drivers.mparticle import idsync_error as assert_error

WORKSPACE = "1000"
ENV = "development"
USERS = f"/mparticle/{WORKSPACE}/users"
BATCHES = f"/mparticle/{WORKSPACE}/batches"
T0 = 1_704_103_200  # 2024-01-01T10:00:00Z
T0_MS = T0 * 1000


# -- helpers ---------------------------------------------------------------------------------


def send_batch(
    mp: MParticleDriver, batch: dict[str, Any], auth: tuple[str, str] = S2S
) -> httpx.Response:
    """POST a development batch to the Events API; nothing checked."""
    return mp.post({"environment": ENV, **batch}, auth=auth)


def resolved(mp: MParticleDriver, views: ControlViews, batch: dict[str, Any]) -> dict[str, Any]:
    """Send one batch (202) and answer what the emulator resolved it to."""
    mp.send({"environment": ENV, **batch})
    row = views.mp_batches()[-1]
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
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    first = mp.identify(device_application_stamp="d-1", email="anon@example.com")
    assert first["matched_identities"] == {}  # nothing was known
    assert first["is_logged_in"] is False

    again = mp.identify(device_application_stamp="d-1", email="anon@example.com")
    assert again["mpid"] == first["mpid"]
    assert again["matched_identities"] == {
        "device_application_stamp": "d-1",
        "email": "anon@example.com",
    }
    assert again["is_logged_in"] is False

    # a subset of the identities finds the same user, and matched names only what was sent
    part = mp.identify(device_application_stamp="d-1")
    assert part["mpid"] == first["mpid"]
    assert part["matched_identities"] == {"device_application_stamp": "d-1"}

    rows = views.mp_users()
    assert len(rows) == 1
    row = rows[0]
    assert row["mpid"] == first["mpid"]
    assert row["user_identities"] == {"email": "anon@example.com"}
    assert row["device_identities"] == {"device_application_stamp": "d-1"}
    assert row["user_attributes"] == {}
    assert row["events"] == {}
    assert row["history"][0]["change"] == "created"
    assert row["history"][0]["reason"] == "identify"

    other = mp.identify(device_application_stamp="d-2")
    assert other["mpid"] != first["mpid"]
    assert len(views.mp_users()) == 2

    # journaled as mParticle traffic of the workspace
    entries = emulator.client.requests(path="/v1/identify")
    assert len(entries) == 4
    assert {(e["platform"], e["tenant"], e["status"]) for e in entries} == {
        ("mparticle", WORKSPACE, 200)
    }


def test_mpids_are_deterministic_per_seed(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    """The fixture's full reset restarts the id sequence: the same traffic gets the same MPIDs,
    whatever identities it carries."""
    first = mp.identify(customerid="seed-a")["mpid"]
    second = mp.identify(customerid="seed-b")["mpid"]
    assert first != second
    emulator.client.reset()
    assert views.mp_users() == []
    assert mp.identify(email="other@example.com")["mpid"] == first
    assert mp.identify(device_application_stamp="d-x")["mpid"] == second


def test_identify_with_customer_id_is_logged_in(mp: MParticleDriver) -> None:
    known = mp.identify(customerid="cust-1", email="c1@example.com")
    assert known["is_logged_in"] is True
    assert known["matched_identities"] == {}
    again = mp.identify(customerid="cust-1")
    assert again["mpid"] == known["mpid"]
    assert again["matched_identities"] == {"customerid": "cust-1"}
    assert again["is_logged_in"] is True


def test_known_user_is_not_returned_for_its_email_alone(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """Default strategy: a profile holding a login id answers only to that login id."""
    known = mp.identify(customerid="cust-1", email="c1@example.com")
    # search never creates: nothing answers to the email alone
    assert_error(mp.idsync("search", {"email": "c1@example.com"}), 404, "NOT_FOUND_ERROR")

    anonymous = mp.identify(email="c1@example.com")
    assert anonymous["mpid"] != known["mpid"]
    assert anonymous["is_logged_in"] is False
    assert "customerid" not in anonymous["matched_identities"]

    # with the login id, the known user again
    both = mp.identify(customerid="cust-1", email="c1@example.com")
    assert both["mpid"] == known["mpid"]
    assert both["matched_identities"] == {"customerid": "cust-1", "email": "c1@example.com"}
    assert views.mp_user(known["mpid"])["user_identities"] == {
        "customer_id": "cust-1",
        "email": "c1@example.com",
    }


def test_identify_with_email_of_known_user_is_stable(
    mp: MParticleDriver, views: ControlViews
) -> None:
    mp.identify(customerid="cust-1", email="c1@example.com")
    first = mp.identify(email="c1@example.com")
    second = mp.identify(email="c1@example.com")
    assert second["mpid"] == first["mpid"]
    assert views.mp_user(first["mpid"])["user_identities"] == {"email": "c1@example.com"}


def test_idsync_key_spellings(mp: MParticleDriver, views: ControlViews) -> None:
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
    first = idsync_answer(mp.idsync("identify", known))
    row = views.mp_user(first["mpid"])
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
    again = idsync_answer(mp.idsync("identify", known))
    assert again["mpid"] == first["mpid"]
    assert again["matched_identities"] == known

    # the users view finds a user by any identity value
    assert [u["mpid"] for u in views.mp_users(identity="o2")] == [first["mpid"]]
    assert [u["mpid"] for u in views.mp_users(identity="d-9")] == [first["mpid"]]
    assert views.mp_users(identity="nobody") == []
    assert [u["mpid"] for u in views.mp_users(mpid=first["mpid"])] == [first["mpid"]]


def test_identify_by_other2_alone_is_stable(mp: MParticleDriver, views: ControlViews) -> None:
    first = mp.identify(other2="o2")
    again = mp.identify(other2="o2")
    assert again["mpid"] == first["mpid"]
    assert again["matched_identities"] == {"other2": "o2"}
    got = resolved(mp, views, {"user_identities": {"other_id_2": "o2"}})
    assert got["mpid"] == first["mpid"]
    assert len(views.mp_users()) == 1


def test_null_identities_are_ignored_and_empty_is_a_lookup_error(
    mp: MParticleDriver, views: ControlViews
) -> None:
    for action in ("identify", "login", "search"):
        assert_error(mp.idsync(action, {}), 400, "LOOKUP_ERROR")
        assert_error(mp.idsync(action, {"email": None}), 400, "LOOKUP_ERROR")
    assert views.mp_users() == []
    found = idsync_answer(mp.idsync("identify", {"email": None, "customerid": "cust-1"}))
    assert views.mp_user(found["mpid"])["user_identities"] == {"customer_id": "cust-1"}


def test_bad_requests(http: httpx.Client, mp: MParticleDriver, views: ControlViews) -> None:
    no_env = http.post("/v1/identify", json={"known_identities": {"email": "a@b.c"}}, headers=WEB)
    assert_error(no_env, 400, "BAD_REQUEST")
    assert_error(
        http.post(
            "/v1/identify", content=b"{", headers={**WEB, "Content-Type": "application/json"}
        ),
        400,
        "BAD_REQUEST",
    )
    assert_error(mp.modify("not-a-number", ("email", None, "a@b.c")), 400, "BAD_REQUEST")
    assert views.mp_users() == []


# -- login / logout --------------------------------------------------------------------------


def test_login_converts_the_anonymous_profile(mp: MParticleDriver, views: ControlViews) -> None:
    anonymous = mp.identify(device_application_stamp="d-1")
    assert anonymous["is_logged_in"] is False

    logged = mp.login(
        previous=anonymous["mpid"],
        device_application_stamp="d-1",
        customerid="cust-1",
        email="c1@example.com",
    )
    assert logged["mpid"] == anonymous["mpid"]  # Profile Conversion: the MPID is kept
    assert logged["is_logged_in"] is True
    assert logged["matched_identities"] == {"device_application_stamp": "d-1"}

    rows = views.mp_users()
    assert len(rows) == 1
    row = rows[0]
    assert row["user_identities"] == {"customer_id": "cust-1", "email": "c1@example.com"}
    assert row["device_identities"] == {"device_application_stamp": "d-1"}
    assert [h["change"] for h in row["history"]][-1] == "login"
    assert ("customer_id", None, "cust-1", "login") in identity_changes(row)

    # the converted user now answers to its login id
    assert mp.identify(customerid="cust-1")["mpid"] == anonymous["mpid"]


def test_login_converts_the_previous_mpid_without_a_device_stamp(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """No identity of the request is known: previous_mpid (string or number) names the
    anonymous profile to convert."""
    first = mp.identify(device_application_stamp="d-1")
    logged = mp.login(previous=first["mpid"], customerid="cust-1")
    assert logged["mpid"] == first["mpid"]
    assert logged["is_logged_in"] is True
    assert logged["matched_identities"] == {}

    second = mp.identify(device_application_stamp="d-2")
    logged = mp.login(previous=int(second["mpid"]), customerid="cust-2")
    assert logged["mpid"] == second["mpid"]
    assert views.mp_user(second["mpid"])["user_identities"] == {"customer_id": "cust-2"}
    assert len(views.mp_users()) == 2


def test_login_with_a_customer_id_another_user_holds_returns_that_user(
    mp: MParticleDriver, views: ControlViews
) -> None:
    holder = mp.identify(customerid="cust-1", email="c1@example.com")
    anonymous = mp.identify(device_application_stamp="d-2")

    logged = mp.login(
        previous=anonymous["mpid"], customerid="cust-1", device_application_stamp="d-2"
    )
    assert logged["mpid"] == holder["mpid"]
    assert logged["is_logged_in"] is True
    assert logged["matched_identities"] == {"customerid": "cust-1"}
    # the device identity of the request joins the known profile; the anonymous one stays
    assert views.mp_user(holder["mpid"])["device_identities"] == {"device_application_stamp": "d-2"}
    assert views.mp_user(anonymous["mpid"])["user_identities"] == {}
    assert len(views.mp_users()) == 2


def test_login_with_a_new_customer_id_from_a_known_user_is_a_new_user(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """Conversion applies to an anonymous profile only: a known current user keeps its login
    id and the new login id gets a new MPID."""
    known = mp.identify(customerid="cust-1", device_application_stamp="d-1")
    other = mp.login(previous=known["mpid"], customerid="cust-2", device_application_stamp="d-1")
    assert other["mpid"] != known["mpid"]
    assert other["is_logged_in"] is True
    assert views.mp_user(known["mpid"])["user_identities"] == {"customer_id": "cust-1"}
    assert views.mp_user(other["mpid"])["user_identities"] == {"customer_id": "cust-2"}


def test_logout_gives_a_new_anonymous_user_with_the_device_identities(
    mp: MParticleDriver, views: ControlViews
) -> None:
    anonymous = mp.identify(device_application_stamp="d-1")
    known = mp.login(
        previous=anonymous["mpid"], customerid="cust-1", device_application_stamp="d-1"
    )

    out = mp.logout(
        previous=known["mpid"],
        device_application_stamp="d-1",
        ios_idfv="b7d0fe34-1a8c-4d29-9a3c-3d8a1e2b5f61",
        customerid="cust-1",
    )
    assert out["mpid"] != known["mpid"]
    assert out["is_logged_in"] is False
    assert out["matched_identities"] == {}
    row = views.mp_user(out["mpid"])
    assert row["user_identities"] == {}  # user identities stay behind
    assert row["device_identities"] == {
        "device_application_stamp": "d-1",
        "ios_idfv": "b7d0fe34-1a8c-4d29-9a3c-3d8a1e2b5f61",
    }
    assert row["history"][0]["reason"] == "logout"
    # the known user is untouched
    assert views.mp_user(known["mpid"])["user_identities"] == {"customer_id": "cust-1"}

    # logging in again returns the known user
    back = mp.login(previous=out["mpid"], customerid="cust-1", device_application_stamp="d-1")
    assert back["mpid"] == known["mpid"]
    assert back["is_logged_in"] is True
    assert len(views.mp_users()) == 2


# -- search ----------------------------------------------------------------------------------


def test_search_hit_and_miss_never_create(mp: MParticleDriver, views: ControlViews) -> None:
    assert_error(mp.idsync("search", {"customerid": "cust-1"}), 404, "NOT_FOUND_ERROR")
    assert views.mp_users() == []

    known = mp.identify(customerid="cust-1", email="c1@example.com")
    anonymous = mp.identify(device_application_stamp="d-1")

    hit = idsync_answer(mp.idsync("search", {"customerid": "cust-1", "email": "c1@example.com"}))
    assert hit["mpid"] == known["mpid"]
    assert hit["matched_identities"] == {"customerid": "cust-1", "email": "c1@example.com"}
    assert hit["is_logged_in"] is True

    hit = idsync_answer(mp.idsync("search", {"device_application_stamp": "d-1"}))
    assert hit["mpid"] == anonymous["mpid"]
    assert hit["is_logged_in"] is False

    miss = mp.idsync("search", {"email": "nobody@example.com"})
    assert_error(miss, 404, "NOT_FOUND_ERROR")
    # a hit does not add the request's other identities either
    idsync_answer(
        mp.idsync("search", {"device_application_stamp": "d-1", "email": "x@example.com"})
    )
    assert len(views.mp_users()) == 2
    assert views.mp_user(anonymous["mpid"])["user_identities"] == {}


# -- modify ----------------------------------------------------------------------------------


def test_modify_adds_replaces_and_removes_identities(
    mp: MParticleDriver, views: ControlViews
) -> None:
    found = mp.identify(customerid="cust-1", email="old@example.com")
    mpid = found["mpid"]

    response = mp.modify(
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
    assert views.mp_user(mpid)["user_identities"] == {
        "customer_id": "cust-1",
        "email": "new@example.com",
        "other_id_2": "o2",
        "mobile_number": "+15550001",
    }

    response = mp.modify(mpid, ("other2", "o2", None), ("ios_idfa", None, "idfa-1"))
    assert response.status_code == 200, response.text
    row = views.mp_user(mpid)
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
    hit = idsync_answer(mp.idsync("search", {"customerid": "cust-1", "email": "new@example.com"}))
    assert hit["matched_identities"] == {"customerid": "cust-1", "email": "new@example.com"}
    hit = idsync_answer(mp.idsync("search", {"customerid": "cust-1", "email": "old@example.com"}))
    assert hit["matched_identities"] == {"customerid": "cust-1"}
    assert views.mp_users(identity="o2") == []
    assert len(views.mp_users()) == 1  # modify never creates


def test_modify_takes_the_customer_id_from_another_user(
    mp: MParticleDriver, views: ControlViews
) -> None:
    holder = mp.identify(customerid="cust-1", device_application_stamp="d-1")["mpid"]
    taker = mp.identify(customerid="cust-2")["mpid"]

    response = mp.modify(taker, ("customerid", "cust-2", "cust-1"))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "change_results": [{"identity_type": "customerid", "modified_mpid": taker}]
    }

    assert views.mp_user(taker)["user_identities"] == {"customer_id": "cust-1"}
    left = views.mp_user(holder)
    assert left["user_identities"] == {}  # orphaned: no longer known
    assert left["device_identities"] == {"device_application_stamp": "d-1"}
    taken = [h for h in left["history"] if h["change"] == "identity" and h["new"] is None]
    assert len(taken) == 1
    assert taken[0]["type"] == "customer_id"
    assert taken[0]["old"] == "cust-1"
    assert taker in taken[0]["reason"]
    assert ("customer_id", "cust-2", "cust-1", "modify") in identity_changes(views.mp_user(taker))

    hit = idsync_answer(mp.idsync("search", {"customerid": "cust-1"}))
    assert hit["mpid"] == taker
    assert_error(mp.idsync("search", {"customerid": "cust-2"}), 404, "NOT_FOUND_ERROR")
    # the orphaned profile is anonymous now: its device stamp finds it again
    assert idsync_answer(mp.idsync("search", {"device_application_stamp": "d-1"}))["mpid"] == holder


def test_modify_sets_a_non_unique_identity_another_user_holds(
    mp: MParticleDriver, views: ControlViews
) -> None:
    mp.identify(customerid="cust-1", email="shared@example.com")
    other = mp.identify(device_application_stamp="d-2")["mpid"]
    response = mp.modify(other, ("email", None, "shared@example.com"))
    assert response.status_code == 200, response.text
    assert views.mp_user(other)["user_identities"] == {"email": "shared@example.com"}


def test_modify_of_an_unknown_mpid_is_not_found(mp: MParticleDriver, views: ControlViews) -> None:
    assert_error(mp.modify("1234567", ("email", None, "a@example.com")), 404, "NOT_FOUND_ERROR")
    assert views.mp_users() == []


# -- paths and auth --------------------------------------------------------------------------


def test_identity_prefix_serves_every_operation(mp: MParticleDriver, views: ControlViews) -> None:
    p = "/identity"
    first = idsync_answer(mp.idsync("identify", {"device_application_stamp": "d-1"}, prefix=p))
    assert (
        idsync_answer(mp.idsync("identify", {"device_application_stamp": "d-1"}))["mpid"]
        == (first["mpid"])
    )
    logged = idsync_answer(
        mp.idsync(
            "login",
            {"customerid": "cust-1", "device_application_stamp": "d-1"},
            previous=first["mpid"],
            prefix=p,
        )
    )
    assert logged["mpid"] == first["mpid"]
    assert logged["is_logged_in"] is True
    hit = idsync_answer(mp.idsync("search", {"customerid": "cust-1"}, prefix=p))
    assert hit["mpid"] == first["mpid"]
    assert_error(mp.idsync("search", {"customerid": "nobody"}, prefix=p), 404, "NOT_FOUND_ERROR")
    response = mp.modify(first["mpid"], ("email", None, "c1@example.com"), prefix=p)
    assert response.status_code == 200, response.text
    assert response.json()["change_results"] == [
        {"identity_type": "email", "modified_mpid": first["mpid"]}
    ]
    out = idsync_answer(mp.idsync("logout", {"device_application_stamp": "d-1"}, prefix=p))
    assert out["mpid"] != first["mpid"]
    assert out["is_logged_in"] is False
    assert len(views.mp_users()) == 2


def test_auth(http: httpx.Client, mp: MParticleDriver, views: ControlViews) -> None:
    known = {"customerid": "cust-1"}
    # accepted: x-mp-key of any input, Basic with a server input's key and secret
    first = idsync_answer(mp.idsync("identify", known))
    for headers, auth in (
        ({"x-mp-key": "emu-s2s-key"}, None),
        ({"X-MP-KEY": "emu-feed-key"}, None),
        (None, S2S),
        (None, FEED),
    ):
        got = idsync_answer(mp.idsync("identify", known, headers=headers, auth=auth))
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
            response = mp.idsync(action, {"customerid": "cust-2"}, headers=headers, auth=auth)
            assert_error(response, 401, "UNAUTHORIZED")
        response = http.post(
            f"/v1/{first['mpid']}/modify",
            json={"environment": ENV, "identity_changes": []},
            headers=headers,
            auth=auth,
        )
        assert_error(response, 401, "UNAUTHORIZED")
    response = mp.idsync("identify", known, prefix="/identity", headers={})
    assert_error(response, 401, "UNAUTHORIZED")
    assert len(views.mp_users()) == 1


# -- Events API ------------------------------------------------------------------------------


def test_batches_resolve_to_the_idsync_mpid(mp: MParticleDriver, views: ControlViews) -> None:
    known = mp.identify(customerid="cust-1", device_application_stamp="d-1")["mpid"]
    anonymous = mp.identify(device_application_stamp="d-2")["mpid"]

    for key in ("customerid", "customer_id"):  # the PyPI/npm clients' and the schema's names
        got = resolved(mp, views, {"user_identities": {key: "cust-1"}})
        assert got["mpid"] == known
        assert got["user_created"] is False
        assert got["matched_identities"] == {"customer_id": "cust-1"}

    got = resolved(mp, views, {"mp_deviceid": "d-2"})  # the Web SDK's device stamp
    assert got["mpid"] == anonymous
    assert got["user_created"] is False
    assert got["matched_identities"] == {"device_application_stamp": "d-2"}

    other = mp.identify(email="anon@example.com")["mpid"]
    got = resolved(mp, views, {"user_identities": {"email": "anon@example.com"}})
    assert got["mpid"] == other
    assert got["matched_identities"] == {"email": "anon@example.com"}
    assert len(views.mp_users()) == 3


def test_batch_mpid_as_number_and_as_string(mp: MParticleDriver, views: ControlViews) -> None:
    mpid = mp.identify(customerid="cust-1")["mpid"]
    for value in (int(mpid), mpid):
        got = resolved(mp, views, {"mpid": value})
        assert got["mpid"] == mpid
        assert got["user_created"] is False
        assert got["matched_identities"] == {}
    # the mpid wins, and the batch's identities that match are reported
    got = resolved(mp, views, {"mpid": mpid, "user_identities": {"customerid": "cust-1"}})
    assert got["mpid"] == mpid
    assert got["matched_identities"] == {"customer_id": "cust-1"}
    assert len(views.mp_users()) == 1

    bad = send_batch(mp, {"mpid": "not-a-number"})
    assert bad.status_code == 400, bad.text
    assert len(views.mp_batches()) == 3


def test_batch_for_a_new_identity_mints_a_user(mp: MParticleDriver, views: ControlViews) -> None:
    got = resolved(
        mp,
        views,
        {
            "user_identities": {"customerid": "cust-7", "email": "c7@example.com"},
            "mp_deviceid": "d-7",
        },
    )
    assert got["user_created"] is True
    assert got["matched_identities"] == {}
    row = views.mp_user(got["mpid"])
    assert row["user_identities"] == {"customer_id": "cust-7", "email": "c7@example.com"}
    assert row["device_identities"] == {"device_application_stamp": "d-7"}
    assert row["history"][0]["reason"] == "batch"

    # IDSync finds the same user for the same identities
    found = mp.identify(customerid="cust-7", device_application_stamp="d-7")
    assert found["mpid"] == got["mpid"]
    assert found["matched_identities"] == {
        "customerid": "cust-7",
        "device_application_stamp": "d-7",
    }
    # a second batch does not mint again
    again = resolved(mp, views, {"user_identities": {"customerid": "cust-7"}})
    assert again["mpid"] == got["mpid"]
    assert again["user_created"] is False
    assert len(views.mp_users()) == 1


def test_batch_mpid_unknown_to_the_workspace_becomes_a_user(
    mp: MParticleDriver, views: ControlViews
) -> None:
    got = resolved(mp, views, {"mpid": 424242, "user_identities": {"email": "x@example.com"}})
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
    assert views.mp_user("424242")["user_identities"] == {"email": "x@example.com"}


def test_batch_attributes_and_attribute_change_events(
    mp: MParticleDriver, views: ControlViews
) -> None:
    mpid = mp.identify(customerid="cust-1")["mpid"]
    resolved(
        mp,
        views,
        {
            "user_identities": {"customerid": "cust-1"},
            "user_attributes": {"plan": "pro", "tags": ["a", "b"], "city": "Paris", "tmp": "x"},
            "deleted_user_attributes": ["tmp"],
        },
    )
    assert views.mp_user(mpid)["user_attributes"] == {
        "plan": "pro",
        "tags": ["a", "b"],
        "city": "Paris",
    }

    got = resolved(
        mp,
        views,
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
    row = views.mp_user(mpid)
    assert row["user_attributes"] == {"plan": "team", "seats": "5"}
    assert row["events"] == {
        "user_attribute_change": {"count": 3, "first_ms": T0_MS, "last_ms": T0_MS}
    }


def test_user_identity_change_event_adds_the_identity(
    mp: MParticleDriver, views: ControlViews
) -> None:
    mpid = mp.identify(device_application_stamp="d-1")["mpid"]
    resolved(
        mp,
        views,
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
    assert views.mp_user(mpid)["user_identities"] == {"email": "n@example.com"}


def test_events_without_timestamps_get_the_emulator_clock(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
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
    got = resolved(mp, views, batch)
    assert got["user_created"] is True
    assert got["events"] == 3
    assert got["timestamps_stamped"] == 2
    # the stored batch is as received: no stamped timestamp in it
    assert "timestamp_unixtime_ms" not in views.mp_batches()[-1]["batch"]["events"][0]["data"]

    row = views.mp_user(got["mpid"])
    assert row["events"] == {
        "Opened": {"count": 2, "first_ms": own, "last_ms": T0_MS},
        "Home": {"count": 1, "first_ms": T0_MS, "last_ms": T0_MS},
    }
    assert row["created"] == T0
    assert row["updated"] == T0


def test_partner_identities_only_from_a_feed_input(
    mp: MParticleDriver, views: ControlViews
) -> None:
    batch = {
        "user_identities": {"customerid": "cust-1"},
        "partner_identities": {"CleverTap_User_ID": "__abc"},
    }
    refused = send_batch(mp, batch)
    assert refused.status_code == 400, refused.text
    errors = refused.json()["errors"]
    assert len(errors) == 1
    assert errors[0]["code"] == "BAD_REQUEST"
    assert "partner_identities" in errors[0]["message"]
    assert views.mp_batches() == []
    assert views.mp_users() == []

    accepted = send_batch(mp, batch, auth=FEED)
    assert accepted.status_code == 202, accepted.text
    rows = views.mp_batches()
    assert len(rows) == 1
    assert rows[0]["input"] == "emu-feed-key"
    assert rows[0]["batch"]["partner_identities"] == {"CleverTap_User_ID": "__abc"}
    assert rows[0]["resolved"]["user_created"] is True
    assert [u["mpid"] for u in views.mp_users()] == [rows[0]["resolved"]["mpid"]]


# -- state -----------------------------------------------------------------------------------


def test_state_round_trip_keeps_users(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    emulator.client.freeze_clock(at=T0)
    known = mp.identify(customerid="cust-1", email="c1@example.com")["mpid"]
    anonymous = mp.identify(device_application_stamp="d-2", email="anon@example.com")["mpid"]
    resolved(
        mp,
        views,
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
    before = views.mp_users()
    document = emulator.client.state()
    # what the next new user would get, before the export is loaded back
    next_mpid = mp.identify(email="next@example.com")["mpid"]

    emulator.client.reset()
    assert views.mp_users() == []
    emulator.client.load_state(document)

    assert views.mp_users() == before
    assert len(views.mp_batches()) == 1
    # the identity index is back: the same identities find the same users
    again = mp.identify(customerid="cust-1")
    assert again["mpid"] == known
    assert again["is_logged_in"] is True
    assert mp.identify(email="anon@example.com")["mpid"] == anonymous
    # and the id sequence continues where the export left it
    assert mp.identify(email="next@example.com")["mpid"] == next_mpid


def test_state_round_trip_keeps_device_identity_resolution(
    emulator: EmulatorHandle, mp: MParticleDriver
) -> None:
    first = mp.identify(device_application_stamp="d-1")["mpid"]
    mp.login(previous=first, customerid="cust-1", device_application_stamp="d-1")
    out = mp.logout(previous=first, device_application_stamp="d-1")["mpid"]
    # back on the known user, which took d-1 last; a known user does not answer to d-1 alone,
    # so the device's anonymous profile (the logged-out one, which still holds d-1) does
    mp.login(previous=out, customerid="cust-1", device_application_stamp="d-1")
    assert mp.idsync("search", {"device_application_stamp": "d-1"}).json()["mpid"] == out

    document = emulator.client.state()
    emulator.client.reset()
    emulator.client.load_state(document)
    assert mp.idsync("search", {"device_application_stamp": "d-1"}).json()["mpid"] == out


def test_reset_of_the_workspace_clears_users(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    old = mp.identify(customerid="cust-1")["mpid"]
    resolved(mp, views, {"user_identities": {"customerid": "cust-2"}})
    assert len(views.mp_users()) == 2

    emulator.client.reset(WORKSPACE)
    assert views.mp_users() == []
    assert views.mp_batches() == []
    assert_error(mp.idsync("search", {"customerid": "cust-1"}), 404, "NOT_FOUND_ERROR")
    response = emulator.client.http.get(f"{USERS}/{old}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # a tenant reset does not restart the id sequence: the next user is a new MPID
    assert mp.identify(customerid="cust-1")["mpid"] != old


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
