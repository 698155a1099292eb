"""IDSync's HMAC digest authentication (`x-mp-key`, `Date`, `x-mp-signature`) and key-only
authentication per input (https://docs.mparticle.com/developers/apis/idsync/, Authentication);
the `read_only` query parameter (identity-swagger.yaml: a debugging flag; what it leaves
unchanged is the emulator's documented choice, docs/mparticle-behaviour.md).

Defaults: workspace `1000` with s2s input `emu-s2s-key`/`emu-s2s-secret`, web `emu-web-key`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.defaults import ENVIRONMENT, FEED, S2S
from tests.drivers.mparticle import idsync_answer, idsync_error

WORKSPACE = "1000"


def identify_body(**known: str) -> dict[str, Any]:
    return {"environment": ENVIRONMENT, "known_identities": known}


# -- the HMAC digest ---------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/identity"])
def test_a_correctly_signed_request_is_accepted(
    prefix: str, mp: MParticleDriver, views: ControlViews
) -> None:
    path = f"{prefix}/v1/identify"
    got = idsync_answer(mp.idsync_signed(path, identify_body(customerid="cust-1")))
    feed = mp.idsync_signed(path, identify_body(customerid="cust-1"), key=FEED[0], secret=FEED[1])
    assert idsync_answer(feed)["mpid"] == got["mpid"]
    assert [u["mpid"] for u in views.mp_users()] == [got["mpid"]]


@pytest.mark.parametrize(
    "wrong",
    [
        {"secret": "not-the-secret"},
        {"signed_path": "/v1/search"},  # signed for another path
        {"key": FEED[0]},  # the s2s secret does not sign for the feed key
    ],
    ids=["wrong-secret", "other-path", "other-key"],
)
def test_a_wrong_signature_is_a_401_and_changes_nothing(
    wrong: dict[str, str], mp: MParticleDriver, views: ControlViews
) -> None:
    response = mp.idsync_signed("/v1/identify", identify_body(customerid="cust-1"), **wrong)
    idsync_error(response, 401, "UNAUTHORIZED")
    assert views.mp_users() == []


def test_a_signed_request_needs_a_date_and_a_key_with_a_secret(
    mp: MParticleDriver, http: httpx.Client, views: ControlViews
) -> None:
    body = identify_body(customerid="cust-1")
    no_date = http.post(
        "/v1/identify", json=body, headers={"x-mp-key": S2S[0], "x-mp-signature": "00"}
    )
    idsync_error(no_date, 401, "UNAUTHORIZED")
    # The web key has no secret: nothing can sign for it.
    web = mp.idsync_signed("/v1/identify", body, key="emu-web-key", secret="anything")
    idsync_error(web, 401, "UNAUTHORIZED")
    assert views.mp_users() == []


def test_key_only_authentication_can_be_turned_off_per_input(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """mParticle enables API key-only authentication selectively; with `idsync_key_only` false a
    key needs the digest (or Basic), as on a workspace where it was never enabled."""
    doc = views.connection(WORKSPACE)  # any tenant's document
    for item in doc["inputs"]:
        if item["key"] == S2S[0]:
            item["idsync_key_only"] = False
    views.client.put_tenant(doc)
    idsync_error(
        mp.idsync("identify", {"customerid": "c"}, headers={"x-mp-key": S2S[0]}),
        401,
        "UNAUTHORIZED",
    )
    idsync_answer(mp.idsync_signed("/v1/identify", identify_body(customerid="c")))
    idsync_answer(mp.idsync("identify", {"customerid": "c"}, auth=S2S))
    assert mp.identify(customerid="c")["matched_identities"] == {"customerid": "c"}  # web key


# -- read_only ---------------------------------------------------------------------------------
# identity-swagger.yaml (https://docs.mparticle.com/downloads/identity-swagger.yaml) has a
# `read_only` query flag for debugging; the docs do not say what it answers where a user would
# be made, so the emulator's documented choice: the same answer where the look-up finds a user,
# 404 NOT_FOUND_ERROR where one would be created, and never a change.
RO = {"read_only": "true"}


def test_read_only_identify_and_login_change_nothing(
    mp: MParticleDriver, views: ControlViews
) -> None:
    known = mp.identify(customerid="cust-1", email="a@example.com")
    before = views.mp_users()

    got = idsync_answer(
        mp.idsync("identify", {"customerid": "cust-1", "email": "new@example.com"}, params=RO)
    )
    assert got["mpid"] == known["mpid"]
    assert got["matched_identities"] == {"customerid": "cust-1"}
    login = idsync_answer(mp.idsync("login", {"customerid": "cust-1", "other": "o"}, params=RO))
    assert login["mpid"] == known["mpid"]
    assert views.mp_users() == before  # no identity added, no history

    # Where a user would be created: 404, no MPID minted (the next real identify gets the MPID
    # it would have had anyway).
    for action in ("identify", "login", "logout"):
        response = mp.idsync(action, {"customerid": "cust-2"}, params=RO)
        idsync_error(response, 404, "NOT_FOUND_ERROR")
    assert views.mp_users() == before
    second = mp.identify(customerid="cust-2")["mpid"]
    views.client.reset()  # restarts the seeded MPID sequence
    mp.identify(customerid="cust-1")
    assert mp.identify(customerid="cust-2")["mpid"] == second


def test_read_only_login_answers_the_profile_it_would_convert(
    mp: MParticleDriver, views: ControlViews
) -> None:
    anonymous = mp.identify(device_application_stamp="d-1")
    before = views.mp_users()
    got = idsync_answer(
        mp.idsync(
            "login",
            {"customerid": "cust-9", "device_application_stamp": "d-1"},
            previous=anonymous["mpid"],
            params=RO,
        )
    )
    assert got["mpid"] == anonymous["mpid"]
    assert views.mp_users() == before  # still anonymous


def test_read_only_modify_answers_and_changes_nothing(
    mp: MParticleDriver, views: ControlViews
) -> None:
    user = mp.identify(customerid="cust-1", email="a@example.com")
    before = views.mp_users()
    response = mp.modify(user["mpid"], ("email", "a@example.com", "b@example.com"), params=RO)
    assert response.status_code == 200, response.text
    assert response.json()["change_results"] == [
        {"identity_type": "email", "modified_mpid": user["mpid"]}
    ]
    assert views.mp_users() == before
    missing = mp.modify("123", ("email", None, "x@example.com"), params=RO)
    idsync_error(missing, 404, "NOT_FOUND_ERROR")
    # Without the flag the change is made.
    assert mp.modify(user["mpid"], ("email", "a@example.com", "b@example.com")).status_code == 200
    assert views.mp_users() != before
