"""mParticle audiences: users move in and out by attribute change, by event count and by the clock
passing a window edge, each change recorded with a reason.

Hand-written HTTP (httpx). Audiences are defined through the control API
(`POST /_emulator/mparticle/1000/audiences`, contracts/mparticle/audience.json); data arrives as
Events API batches (`POST /v2/events`, Basic s2s key and secret) and IDSync calls; the clock is
frozen and advanced through `/_emulator/clock/*`. Memberships are read back from every place that
shows them: the change log (`/_emulator/mparticle/1000/memberships`), the audiences view
(`members`), the users view (`audience_memberships`), the Web SDK endpoint
(`GET /v1/{web key}/audience?mpid=`) and the Profile API (`audience_memberships`).

Expected values are written out by hand from the issue ("An audience test moves a user in and out
of an audience by attribute change, by event count and by the clock passing a window edge, with
reasons"), the README and docs/mparticle-behaviour.md, never derived from the
emulator's own answers, except the MPIDs it mints (seeded): those are compared with each other.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.mparticle import custom_event

WORKSPACE = "1000"
AUDIENCES = f"/mparticle/{WORKSPACE}/audiences"
MEMBERSHIPS = f"/mparticle/{WORKSPACE}/memberships"
USERS = f"/mparticle/{WORKSPACE}/users"
PROFILE_FIELDS = "audience_memberships"
T0 = 1_704_103_200  # 2024-01-01T10:00:00Z
HOUR = 3600
HOUR_MS = HOUR * 1000
CART = "Added to cart"

PARIS = {"attribute": "$city", "op": "equals", "value": "Paris"}
HAS_EMAIL = {"identity": "email"}
TWO_CARTS_IN_AN_HOUR = {"event": CART, "at_least": 2, "within_seconds": HOUR}


# -- helpers ---------------------------------------------------------------------------------


def cart(ts_ms: int | None = None, name: str = CART) -> dict[str, Any]:
    return custom_event(name, ts_ms)


def send(
    mp: MParticleDriver,
    views: ControlViews,
    customer: str = "c1",
    *,
    attributes: dict[str, Any] | None = None,
    deleted: list[str] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> str:
    """One Events API batch for the user with this customer id; answers the user's MPID."""
    batch: dict[str, Any] = {
        "environment": "development",
        "user_identities": {"customerid": customer},
    }
    if attributes is not None:
        batch["user_attributes"] = attributes
    if deleted is not None:
        batch["deleted_user_attributes"] = deleted
    if events is not None:
        batch["events"] = events
    mp.send(batch)
    return views.mpid_of(customer)


def check_change(
    row: dict[str, Any],
    audience: dict[str, Any],
    mpid: str,
    action: str,
    time: float,
    trigger: str,
    *criterion_words: str,
) -> None:
    """One membership change: who, what, when, and a reason naming the trigger and criterion."""
    assert row["audience_id"] == audience["id"], row
    assert row["audience_name"] == audience["name"], row
    assert row["mpid"] == mpid, row
    assert row["action"] == action, row
    assert row["time"] == pytest.approx(time, abs=1e-6), row
    reason = row["reason"]
    assert trigger in reason, f"the reason {reason!r} does not name the trigger {trigger!r}"
    for word in criterion_words:
        assert re.search(rf"(?<![\w$]){re.escape(word)}(?!\w)", reason), (
            f"the reason {reason!r} does not name {word!r} of the criterion"
        )


def member_of(views: ControlViews, mp: MParticleDriver, mpid: str) -> set[int]:
    """The audiences `mpid` belongs to, read from all four views; they must agree."""
    audiences = views.audiences()
    by_view = {a["id"] for a in audiences if mpid in a["members"]}

    rows = views.mp_user(mpid)["audience_memberships"]
    names = {a["id"]: a["name"] for a in audiences}
    for row in rows:
        assert row["audience_name"] == names[row["audience_id"]]
    by_user = {row["audience_id"] for row in rows}

    web = mp.http.get("/v1/emu-web-key/audience", params={"mpid": mpid})
    assert web.status_code == 200, web.text
    by_web = {row["audience_id"] for row in web.json()["audience_memberships"]}

    profile = mp.http.get(
        f"/userprofile/v1/10/100/{WORKSPACE}/{mpid}",
        params={"fields": PROFILE_FIELDS},
        headers={"Authorization": f"Bearer {mp.token()}"},
    )
    assert profile.status_code == 200, profile.text
    by_profile = {row["audience_id"] for row in profile.json()["audience_memberships"]}

    assert by_view == by_user == by_web == by_profile, {
        "audiences view": by_view,
        "users view": by_user,
        "web sdk": by_web,
        "profile api": by_profile,
    }
    return by_view


# -- by attribute ------------------------------------------------------------------------------


def test_attribute_change_moves_a_user_in_and_out(mp: MParticleDriver, views: ControlViews) -> None:
    views.freeze(T0)
    paris = views.define_audience("Parisians", PARIS)
    assert paris["members"] == []
    assert views.memberships() == []

    # In: a batch sets the attribute.
    c1 = send(mp, views, "c1", attributes={"$city": "Paris"})
    (row,) = views.memberships()
    check_change(row, paris, c1, "add", T0, "batch", "$city", "Paris")
    assert member_of(views, mp, c1) == {paris["id"]}

    # Another user elsewhere does not join; an unrelated attribute changes nothing.
    c2 = send(mp, views, "c2", attributes={"$city": "London"})
    assert member_of(views, mp, c2) == set()
    send(mp, views, "c1", attributes={"tier": "gold"})
    assert len(views.memberships()) == 1

    # Out: the attribute changes.
    t1 = views.advance(60)
    send(mp, views, "c1", attributes={"$city": "London"})
    rows = views.memberships()
    assert len(rows) == 2
    check_change(rows[1], paris, c1, "delete", t1, "batch", "$city", "Paris")
    assert member_of(views, mp, c1) == set()

    # In again, then out by deleted_user_attributes.
    t2 = views.advance(60)
    send(mp, views, "c1", attributes={"$city": "Paris"})
    t3 = views.advance(60)
    send(mp, views, "c1", deleted=["$city"])
    rows = views.memberships()
    assert [r["action"] for r in rows] == ["add", "delete", "add", "delete"]
    check_change(rows[2], paris, c1, "add", t2, "batch", "$city", "Paris")
    check_change(rows[3], paris, c1, "delete", t3, "batch", "$city", "Paris")
    assert member_of(views, mp, c1) == set()

    # The c2 user joins later; the filters pick rows by MPID and by audience.
    send(mp, views, "c2", attributes={"$city": "Paris"})
    assert [r["mpid"] for r in views.memberships(mpid=c2)] == [c2]
    assert len(views.memberships(mpid=c1)) == 4
    assert len(views.memberships(audience_id=paris["id"])) == 5
    assert views.memberships(audience_id=paris["id"] + 1) == []
    assert views.memberships(mpid=c1, audience_id=paris["id"] + 1) == []


@pytest.mark.parametrize(
    ("criterion", "inside", "outside"),
    [
        ({"attribute": "age", "op": "gte", "value": 30}, 30, 29),
        ({"attribute": "age", "op": "gt", "value": 30}, 31, 30),
        ({"attribute": "age", "op": "lt", "value": 18}, 17, 18),
        ({"attribute": "age", "op": "lte", "value": 18}, 18, 19),
        ({"attribute": "plan", "op": "not_equals", "value": "free"}, "pro", "free"),
        ({"attribute": "plan", "op": "contains", "value": "pro"}, "pro-annual", "basic"),
        ({"attribute": "tags", "op": "contains", "value": "vip"}, ["a", "vip"], ["a", "b"]),
    ],
)
def test_attribute_operators(
    criterion: dict[str, Any], inside: Any, outside: Any, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    audience = views.define_audience("op", criterion)
    mpid = send(mp, views, attributes={criterion["attribute"]: outside})
    assert member_of(views, mp, mpid) == set()
    send(mp, views, attributes={criterion["attribute"]: inside})
    assert member_of(views, mp, mpid) == {audience["id"]}
    send(mp, views, attributes={criterion["attribute"]: outside})
    assert member_of(views, mp, mpid) == set()
    assert [r["action"] for r in views.memberships()] == ["add", "delete"]


def test_attribute_exists(mp: MParticleDriver, views: ControlViews) -> None:
    views.freeze(T0)
    audience = views.define_audience("has a city", {"attribute": "$city", "op": "exists"})
    mpid = send(mp, views)
    assert member_of(views, mp, mpid) == set()
    send(mp, views, attributes={"$city": "Lyon"})
    assert member_of(views, mp, mpid) == {audience["id"]}
    send(mp, views, deleted=["$city"])
    assert member_of(views, mp, mpid) == set()
    rows = views.memberships()
    check_change(rows[0], audience, mpid, "add", T0, "batch", "$city")
    check_change(rows[1], audience, mpid, "delete", T0, "batch", "$city")


# -- by event count and by the clock -------------------------------------------------------


def test_event_count_reaches_at_least_and_the_window_edge_ends_it(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    carts = views.define_audience("Two carts in an hour", TWO_CARTS_IN_AN_HOUR)

    # One event: not yet.
    mpid = send(mp, views, events=[cart(T0 * 1000)])
    assert views.memberships() == []
    assert member_of(views, mp, mpid) == set()

    # The second event (exactly at_least): in. No timestamp: the receipt time counts.
    t1 = views.advance(600)
    send(mp, views, events=[cart()])
    (row,) = views.memberships()
    check_change(row, carts, mpid, "add", t1, "batch", CART, "2", str(HOUR))
    assert member_of(views, mp, mpid) == {carts["id"]}

    # The first event leaves the window at T0 + 1 h: 1 ms before, still in...
    views.freeze(T0 + HOUR - 0.001)
    assert len(views.memberships()) == 1
    assert member_of(views, mp, mpid) == {carts["id"]}

    # ... 1 ms after, out, by the clock alone.
    after = views.advance(0.002)
    assert after == pytest.approx(T0 + HOUR + 0.001)
    rows = views.memberships()
    assert len(rows) == 2
    check_change(rows[1], carts, mpid, "delete", after, "clock moved", CART, "2", str(HOUR))
    assert member_of(views, mp, mpid) == set()

    # A new event makes two within the hour again (T0 + 600 and now).
    send(mp, views, events=[cart()])
    rows = views.memberships()
    check_change(rows[2], carts, mpid, "add", after, "batch", CART)

    # The second event leaves at T0 + 600 + 1 h.
    views.freeze(T0 + 600 + HOUR - 0.001)
    assert member_of(views, mp, mpid) == {carts["id"]}
    after = views.advance(0.002)
    rows = views.memberships()
    assert [r["action"] for r in rows] == ["add", "delete", "add", "delete"]
    check_change(rows[3], carts, mpid, "delete", after, "clock moved", CART)
    assert member_of(views, mp, mpid) == set()


def test_several_events_in_one_batch_count_each(mp: MParticleDriver, views: ControlViews) -> None:
    views.freeze(T0)
    carts = views.define_audience("Two carts in an hour", TWO_CARTS_IN_AN_HOUR)
    mpid = send(mp, views, events=[cart(T0 * 1000 - 1000), cart(T0 * 1000)])
    (row,) = views.memberships()
    check_change(row, carts, mpid, "add", T0, "batch", CART)


def test_events_outside_the_window_do_not_count(
    ctl: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    carts = views.define_audience("Two carts in an hour", TWO_CARTS_IN_AN_HOUR)
    # Two hours old, and 1 ms older than the hour: outside. Other names do not count either.
    old = [cart(T0 * 1000 - 2 * HOUR_MS), cart(T0 * 1000 - HOUR_MS - 1)]
    others = [cart(T0 * 1000, "Viewed"), cart(T0 * 1000, "added to cart")]
    mpid = send(mp, views, events=[*old, *others])
    assert views.memberships() == []
    assert member_of(views, mp, mpid) == set()
    # The data is kept: two events of the name, only not within the window.
    assert ctl.get(f"{USERS}/{mpid}").json()["events"][CART]["count"] == 2

    # One more outside and one now: still one within the hour.
    send(mp, views, events=[cart(T0 * 1000 - HOUR_MS - 1000), cart(T0 * 1000)])
    assert views.memberships() == []
    assert member_of(views, mp, mpid) == set()

    # One 1 ms inside the hour: two within it.
    send(mp, views, events=[cart(T0 * 1000 - HOUR_MS + 1)])
    (row,) = views.memberships()
    check_change(row, carts, mpid, "add", T0, "batch", CART)
    assert ctl.get(f"{USERS}/{mpid}").json()["events"][CART]["count"] == 5
    # It leaves the window 2 ms later on the clock.
    after = views.advance(0.002)
    rows = views.memberships()
    assert len(rows) == 2
    check_change(rows[1], carts, mpid, "delete", after, "clock moved", CART)


def test_event_without_window_counts_for_ever(mp: MParticleDriver, views: ControlViews) -> None:
    views.freeze(T0)
    ever = views.define_audience("Ever carted", {"event": CART})
    mpid = send(mp, views, events=[cart((T0 - 365 * 24 * HOUR) * 1000)])
    (row,) = views.memberships()
    check_change(row, ever, mpid, "add", T0, "batch", CART)
    views.advance(10 * 365 * 24 * HOUR)
    assert member_of(views, mp, mpid) == {ever["id"]}
    assert len(views.memberships()) == 1


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("Home", {"event_type": "screen_view", "data": {"screen_name": "Home"}}),
        (
            "commerce:purchase",
            {
                "event_type": "commerce_event",
                "data": {"product_action": {"action": "purchase", "total_amount": 9.5}},
            },
        ),
        ("session_start", {"event_type": "session_start", "data": {}}),
    ],
)
def test_event_criterion_names_screens_commerce_actions_and_types(
    name: str, event: dict[str, Any], mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    audience = views.define_audience(name, {"event": name, "within_seconds": 60})
    mpid = send(mp, views, events=[cart(), event])
    (row,) = views.memberships()
    check_change(row, audience, mpid, "add", T0, "batch", name)
    after = views.advance(60.001)
    row = views.memberships()[-1]
    check_change(row, audience, mpid, "delete", after, "clock moved", name)


def test_audience_defined_after_the_data_evaluates_existing_users(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    c1 = send(mp, views, "c1", attributes={"$city": "Paris"}, events=[cart(), cart()])
    c2 = send(mp, views, "c2", attributes={"$city": "London"}, events=[cart(), cart()])
    c3 = send(mp, views, "c3", attributes={"$city": "Paris"}, events=[cart()])
    assert views.memberships() == []
    t1 = views.advance(10)

    paris = views.define_audience("Parisians", PARIS)
    assert sorted(paris["members"]) == sorted([c1, c3])
    rows = views.memberships()
    assert sorted(r["mpid"] for r in rows) == sorted([c1, c3])
    for row in rows:
        check_change(row, paris, row["mpid"], "add", t1, "audience defined", "$city", "Paris")

    carts = views.define_audience("Two carts in an hour", TWO_CARTS_IN_AN_HOUR)
    assert sorted(carts["members"]) == sorted([c1, c2])
    rows = views.memberships(audience_id=carts["id"])
    assert sorted(r["mpid"] for r in rows) == sorted([c1, c2])
    for row in rows:
        check_change(row, carts, row["mpid"], "add", t1, "audience defined", CART, str(HOUR))

    assert member_of(views, mp, c1) == {paris["id"], carts["id"]}
    assert member_of(views, mp, c2) == {carts["id"]}
    assert member_of(views, mp, c3) == {paris["id"]}

    # The carts (stamped T0) leave the window after T0 + 1 h: both members go at once.
    views.freeze(T0 + HOUR + 0.001)
    rows = views.memberships(audience_id=carts["id"])
    deletes = [r for r in rows if r["action"] == "delete"]
    assert sorted(r["mpid"] for r in deletes) == sorted([c1, c2])
    for row in deletes:
        check_change(row, carts, row["mpid"], "delete", T0 + HOUR + 0.001, "clock moved", CART)
    assert member_of(views, mp, c1) == {paris["id"]}


def test_audience_with_no_matching_user(mp: MParticleDriver, views: ControlViews) -> None:
    send(mp, views, "c1", attributes={"$city": "London"})
    paris = views.define_audience("Parisians", PARIS)
    assert paris["members"] == []
    assert views.memberships() == []


# -- identities --------------------------------------------------------------------------------


def idsync(mp: MParticleDriver, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """IDSync as this file writes it: a path and a body (the environment added); 200."""
    response = mp.http.post(path, headers=mp.web, json={"environment": "development", **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_identity_criterion_follows_identify_and_modify(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    emails = views.define_audience("Has an email", HAS_EMAIL)
    mpid = send(mp, views, "c1")
    assert member_of(views, mp, mpid) == set()

    # identify adds the email to the known user: in.
    t1 = views.advance(5)
    answer = idsync(
        mp, "/v1/identify", {"known_identities": {"customerid": "c1", "email": "a@example.com"}}
    )
    assert answer["mpid"] == mpid
    (row,) = views.memberships()
    check_change(row, emails, mpid, "add", t1, "identify", "email")
    assert member_of(views, mp, mpid) == {emails["id"]}

    # modify removes it: out.
    t2 = views.advance(5)
    change = {"identity_type": "email", "old_value": "a@example.com", "new_value": None}
    idsync(mp, f"/v1/{mpid}/modify", {"identity_changes": [change]})
    rows = views.memberships()
    assert len(rows) == 2
    check_change(rows[1], emails, mpid, "delete", t2, "modify", "email")
    assert member_of(views, mp, mpid) == set()

    # modify adds one back: in.
    t3 = views.advance(5)
    change = {"identity_type": "email", "old_value": None, "new_value": "b@example.com"}
    idsync(mp, f"/v1/{mpid}/modify", {"identity_changes": [change]})
    rows = views.memberships()
    assert len(rows) == 3
    check_change(rows[2], emails, mpid, "add", t3, "modify", "email")
    assert member_of(views, mp, mpid) == {emails["id"]}

    # Replacing the email keeps the membership: no change.
    change = {"identity_type": "email", "old_value": "b@example.com", "new_value": "c@example.com"}
    idsync(mp, f"/v1/{mpid}/modify", {"identity_changes": [change]})
    assert len(views.memberships()) == 3


def test_identity_criterion_on_an_anonymous_user_from_identify(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    known = views.define_audience("Known", {"identity": "customer_id"})
    emails = views.define_audience("Has an email", HAS_EMAIL)
    answer = idsync(mp, "/v1/identify", {"known_identities": {"email": "anon@example.com"}})
    mpid = answer["mpid"]
    (row,) = views.memberships()
    check_change(row, emails, mpid, "add", T0, "identify", "email")
    assert member_of(views, mp, mpid) == {emails["id"]}

    # modify gives it a customer id: it joins "Known".
    change = {"identity_type": "customerid", "old_value": None, "new_value": "c9"}
    idsync(mp, f"/v1/{mpid}/modify", {"identity_changes": [change]})
    rows = views.memberships(audience_id=known["id"])
    (row,) = rows
    check_change(row, known, mpid, "add", T0, "modify", "customer_id")
    assert member_of(views, mp, mpid) == {known["id"], emails["id"]}


def test_customer_id_taken_by_another_user_ends_the_old_holders_membership(
    ctl: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    known = views.define_audience("Known", {"identity": "customer_id"})
    old = send(mp, views, "c1")
    anon = idsync(mp, "/v1/identify", {"known_identities": {"email": "x@example.com"}})["mpid"]
    assert anon != old
    change = {"identity_type": "customerid", "old_value": None, "new_value": "c1"}
    idsync(mp, f"/v1/{anon}/modify", {"identity_changes": [change]})
    # The old holder has lost its customer id...
    assert ctl.get(f"{USERS}/{old}").json()["user_identities"] == {}
    # ... so it is no longer in the audience, and the log says why.
    assert member_of(views, mp, anon) == {known["id"]}
    assert member_of(views, mp, old) == set()
    (row,) = [r for r in views.memberships(mpid=old) if r["action"] == "delete"]
    check_change(row, known, old, "delete", T0, "modify", "customer_id")


# -- combinations ------------------------------------------------------------------------------


def test_not_any_all(mp: MParticleDriver, views: ControlViews) -> None:
    views.freeze(T0)
    not_paris = views.define_audience("Not Parisians", {"not": PARIS})
    any_ = views.define_audience(
        "Email or VIP",
        {"any": [HAS_EMAIL, {"attribute": "vip", "op": "equals", "value": True}]},
    )
    all_ = views.define_audience(
        "Parisian cart in the hour",
        {"all": [PARIS, {"event": CART, "within_seconds": HOUR}]},
    )

    # A user with nothing: only "not Parisian".
    mpid = send(mp, views)
    assert member_of(views, mp, mpid) == {not_paris["id"]}
    (row,) = views.memberships()
    check_change(row, not_paris, mpid, "add", T0, "batch", "not", "$city", "Paris")

    # Paris: out of "not"; "all" needs the event too.
    send(mp, views, attributes={"$city": "Paris"})
    assert member_of(views, mp, mpid) == set()
    row = views.memberships()[-1]
    check_change(row, not_paris, mpid, "delete", T0, "batch", "not", "$city", "Paris")

    # The event: "all" holds.
    t1 = views.advance(60)
    send(mp, views, events=[cart()])
    assert member_of(views, mp, mpid) == {all_["id"]}
    row = views.memberships()[-1]
    check_change(row, all_, mpid, "add", t1, "batch", "$city", "Paris", CART, str(HOUR))

    # Either branch of "any".
    send(mp, views, attributes={"vip": True})
    assert member_of(views, mp, mpid) == {all_["id"], any_["id"]}
    row = views.memberships()[-1]
    check_change(row, any_, mpid, "add", t1, "batch", "email", "vip")
    idsync(mp, "/v1/identify", {"known_identities": {"customerid": "c1", "email": "a@example.com"}})
    send(mp, views, deleted=["vip"])
    assert member_of(views, mp, mpid) == {all_["id"], any_["id"]}  # still: the email

    # The window passes: "all" fails with one branch.
    after = T0 + 60 + HOUR + 0.001
    views.freeze(after)
    assert member_of(views, mp, mpid) == {any_["id"]}
    row = views.memberships()[-1]
    check_change(row, all_, mpid, "delete", after, "clock moved", CART)

    # Leaving Paris puts the user back in "not".
    send(mp, views, attributes={"$city": "Rome"})
    assert member_of(views, mp, mpid) == {any_["id"], not_paris["id"]}
    actions = [(r["audience_id"], r["action"]) for r in views.memberships()]
    assert actions == [
        (not_paris["id"], "add"),
        (not_paris["id"], "delete"),
        (all_["id"], "add"),
        (any_["id"], "add"),
        (all_["id"], "delete"),
        (not_paris["id"], "add"),
    ]


def test_not_of_a_window_joins_as_the_clock_passes(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    lapsed = views.define_audience(
        "No cart for 10 minutes", {"not": {"event": CART, "within_seconds": 600}}
    )
    mpid = send(mp, views, events=[cart()])
    assert member_of(views, mp, mpid) == set()
    views.freeze(T0 + 600 - 0.001)
    assert member_of(views, mp, mpid) == set()
    after = views.advance(0.002)
    (row,) = views.memberships()
    check_change(row, lapsed, mpid, "add", after, "clock moved", "not", CART, "600")
    assert member_of(views, mp, mpid) == {lapsed["id"]}
    # A new event: out again.
    send(mp, views, events=[cart()])
    rows = views.memberships()
    check_change(rows[1], lapsed, mpid, "delete", after, "batch", "not", CART)


def test_nested_combination(mp: MParticleDriver, views: ControlViews) -> None:
    criteria = {
        "all": [
            {"not": HAS_EMAIL},
            {"any": [PARIS, {"attribute": "$city", "op": "equals", "value": "Rome"}]},
        ]
    }
    views.freeze(T0)
    audience = views.define_audience("Anonymous-ish in Paris or Rome", criteria)
    mpid = send(mp, views, attributes={"$city": "Rome"})
    assert member_of(views, mp, mpid) == {audience["id"]}
    idsync(mp, "/v1/identify", {"known_identities": {"customerid": "c1", "email": "a@example.com"}})
    assert member_of(views, mp, mpid) == set()
    rows = views.memberships()
    check_change(rows[0], audience, mpid, "add", T0, "batch", "Rome", "Paris", "email")
    check_change(rows[1], audience, mpid, "delete", T0, "identify", "email")


# -- removing audiences ------------------------------------------------------------------------


def test_delete_an_audience(ctl: httpx.Client, mp: MParticleDriver, views: ControlViews) -> None:
    views.freeze(T0)
    paris = views.define_audience("Parisians", PARIS)
    emails = views.define_audience("Has an email", HAS_EMAIL)
    mpid = send(mp, views, attributes={"$city": "Paris"})
    idsync(mp, "/v1/identify", {"known_identities": {"customerid": "c1", "email": "a@x.io"}})
    assert member_of(views, mp, mpid) == {paris["id"], emails["id"]}

    response = ctl.delete(f"{AUDIENCES}/{paris['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": str(paris["id"])}

    listed = ctl.get(AUDIENCES).json()
    assert [a["id"] for a in listed["audiences"]] == [emails["id"]]
    assert listed["total"] == 1
    assert member_of(views, mp, mpid) == {emails["id"]}

    # Data no longer moves anyone in or out of it.
    before = len(views.memberships(audience_id=paris["id"]))
    send(mp, views, attributes={"$city": "London"})
    send(mp, views, attributes={"$city": "Paris"})
    assert len(views.memberships(audience_id=paris["id"])) == before
    assert member_of(views, mp, mpid) == {emails["id"]}

    # Gone: a second delete, and ids that name nothing, are 404s.
    for path in (f"{AUDIENCES}/{paris['id']}", f"{AUDIENCES}/999", f"{AUDIENCES}/abc"):
        response = ctl.delete(path)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    response = ctl.delete(f"/mparticle/9999/audiences/{emails['id']}")
    assert response.status_code == 404
    assert [a["id"] for a in ctl.get(AUDIENCES).json()["audiences"]] == [emails["id"]]


def test_a_deleted_audience_id_is_not_reused(
    ctl: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    paris = views.define_audience("Parisians", PARIS)
    send(mp, views, attributes={"$city": "Paris"})
    assert ctl.delete(f"{AUDIENCES}/{paris['id']}").status_code == 200
    rome = views.define_audience("Romans", {"attribute": "$city", "op": "equals", "value": "Rome"})
    assert rome["id"] != paris["id"]
    assert views.memberships(audience_id=rome["id"]) == []


# -- definitions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"criteria": PARIS},
        {"name": "", "criteria": PARIS},
        {"name": "x"},
        {"name": "x", "criteria": {}},
        {"name": "x", "criteria": PARIS, "colour": "red"},
        {"name": 7, "criteria": PARIS},
        {"name": "x", "criteria": {"attribute": "$city", "op": "like", "value": "P"}},
        {"name": "x", "criteria": {"attribute": "", "op": "equals", "value": "P"}},
        {"name": "x", "criteria": {"identity": ""}},
        {"name": "x", "criteria": {"event": CART, "at_least": 0}},
        {"name": "x", "criteria": {"event": CART, "at_least": 1.5}},
        {"name": "x", "criteria": {"event": CART, "within_seconds": 0}},
        {"name": "x", "criteria": {"event": CART, "within_seconds": -60}},
        {"name": "x", "criteria": {"event": ""}},
        {"name": "x", "criteria": {"event": CART, "attribute": "$city"}},
        {"name": "x", "criteria": {"all": []}},
        {"name": "x", "criteria": {"any": [PARIS, {"bogus": 1}]}},
        {"name": "x", "criteria": {"all": PARIS}},
        {"name": "x", "criteria": {"not": [PARIS]}},
        {"name": "x", "criteria": {"not": PARIS, "all": [PARIS]}},
        {"name": "x", "criteria": PARIS, "id": 0},
        {"name": "x", "criteria": PARIS, "id": "1"},
        [{"name": "x", "criteria": PARIS}],
    ],
)
def test_bad_definitions_are_400(
    ctl: httpx.Client, body: Any, mp: MParticleDriver, views: ControlViews
) -> None:
    send(mp, views, attributes={"$city": "Paris"})
    response = ctl.post(AUDIENCES, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"]
    listed = ctl.get(AUDIENCES).json()
    assert listed["audiences"] == [] and listed["total"] == 0
    assert views.memberships() == []


def test_malformed_json_definition_is_400(ctl: httpx.Client) -> None:
    response = ctl.post(
        AUDIENCES, content=b'{"name": "x", ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "error" in response.json()
    assert ctl.get(AUDIENCES).json()["total"] == 0


@pytest.mark.parametrize(
    "criteria",
    [
        {"attribute": "$city", "op": "equals"},
        {"attribute": "age", "op": "gt"},
        {"identity": "bogus_identity"},
    ],
)
def test_meaningless_definitions_are_400(ctl: httpx.Client, criteria: dict[str, Any]) -> None:
    response = ctl.post(AUDIENCES, json={"name": "x", "criteria": criteria})
    assert response.status_code == 400, response.text


def test_equals_without_value_does_not_match_the_text_none(
    ctl: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    response = ctl.post(AUDIENCES, json={"name": "x", "criteria": {"attribute": "nickname"}})
    if response.status_code == 400:
        return  # refusing the definition is fine too
    mpid = send(mp, views, attributes={"nickname": "None"})
    assert member_of(views, mp, mpid) == set()


def test_definition_ids_and_unknown_workspace(ctl: httpx.Client, views: ControlViews) -> None:
    first = views.define_audience("A", PARIS)
    assert first["id"] == 1
    chosen = views.define_audience("B", HAS_EMAIL, id=42)
    assert chosen["id"] == 42
    assert views.define_audience("C", HAS_EMAIL)["id"] == 43
    response = ctl.post(AUDIENCES, json={"name": "dup", "criteria": PARIS, "id": 42})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "conflict"
    listed = ctl.get(AUDIENCES).json()["audiences"]
    assert [(a["id"], a["name"]) for a in listed] == [(1, "A"), (42, "B"), (43, "C")]

    response = ctl.post("/mparticle/9999/audiences", json={"name": "x", "criteria": PARIS})
    assert response.status_code == 404, response.text
    assert ctl.get("/mparticle/9999/audiences").status_code == 404
    assert ctl.get("/mparticle/9999/memberships").status_code == 404
    # A CleverTap account is not a workspace.
    assert ctl.get("/mparticle/EMU-TEST-0001/audiences").status_code == 404


# -- Web SDK endpoint --------------------------------------------------------------------------


def test_web_sdk_audience_endpoint(
    http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    paris = views.define_audience("Parisians", PARIS)
    mpid = send(mp, views, attributes={"$city": "Paris"})
    response = http.get(
        "/v1/emu-web-key/audience", params={"mpid": mpid}, headers={"Origin": "https://shop.test"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "https://shop.test"
    (row,) = response.json()["audience_memberships"]
    assert row["audience_id"] == paris["id"]
    assert row["audience_name"] == "Parisians"

    unknown = http.get("/v1/emu-web-key/audience", params={"mpid": "123"})
    assert unknown.status_code == 200
    assert unknown.json() == {"audience_memberships": []}
    assert http.get("/v1/emu-web-key/audience").status_code == 400
    assert http.get("/v1/emu-web-key/audience", params={"mpid": "abc"}).status_code == 400
    for key in ("emu-s2s-key", "nope"):
        response = http.get(f"/v1/{key}/audience", params={"mpid": mpid})
        assert response.status_code == 401, (key, response.text)


# -- state -------------------------------------------------------------------------------------


def test_state_round_trip_keeps_audiences_and_memberships(
    emulator: EmulatorHandle, ctl: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    paris = views.define_audience("Parisians", PARIS)
    carts = views.define_audience("Two carts in an hour", TWO_CARTS_IN_AN_HOUR)
    c1 = send(mp, views, "c1", attributes={"$city": "Paris"}, events=[cart(), cart()])
    c2 = send(mp, views, "c2", attributes={"$city": "Paris"})
    views.advance(60)
    send(mp, views, "c2", attributes={"$city": "Oslo"})
    audiences_before = ctl.get(AUDIENCES).json()
    changes_before = views.memberships()
    assert len(changes_before) == 4
    assert member_of(views, mp, c1) == {paris["id"], carts["id"]}

    document = emulator.client.state()
    emulator.client.reset()
    assert ctl.get(AUDIENCES).json()["total"] == 0
    assert views.memberships() == []

    emulator.client.load_state(document)
    assert ctl.get("/clock").json()["now"] == T0 + 60
    assert ctl.get(AUDIENCES).json() == audiences_before
    assert views.memberships() == changes_before
    assert member_of(views, mp, c1) == {paris["id"], carts["id"]}
    assert member_of(views, mp, c2) == set()

    # The restored audiences keep working: the window still ends at T0 + 1 h...
    views.freeze(T0 + HOUR + 0.001)
    row = views.memberships()[-1]
    check_change(row, carts, c1, "delete", T0 + HOUR + 0.001, "clock moved", CART)
    # ... data still moves users...
    send(mp, views, "c2", attributes={"$city": "Paris"})
    check_change(views.memberships()[-1], paris, c2, "add", T0 + HOUR + 0.001, "batch", "$city")
    # ... and the next audience gets the next id.
    assert views.define_audience("Next", HAS_EMAIL)["id"] == carts["id"] + 1
