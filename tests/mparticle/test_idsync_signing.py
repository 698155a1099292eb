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
