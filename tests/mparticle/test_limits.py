"""mParticle's limits on incoming batches (https://docs.mparticle.com/guides/default-service-limits/,
"Incoming Event Batches"): what the page says the server does (S2S event names and event
attribute names over 256 characters are truncated), and the input's `over_limit` choice where it
only describes the SDKs (truncate by default, drop, or refuse). Every change is a warning of kind
`limit` in the journal entry's verdict, never silent.

And identity keys that are not identity types (`customerID`): mParticle's Events API schema
closes `user_identities` (https://docs.mparticle.com/schema/mparticle.inbound.eventsapi.schema.json)
and IDSync lists its types (https://docs.mparticle.com/developers/apis/idsync/): strict mode
refuses such a key naming the type it probably meant, lenient mode takes the request and says so
in the verdict."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.mparticle import limits
from emulator.testing.plugin import EmulatorHandle
from tests.conftest import Lenient
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.defaults import S2S
from tests.drivers.mparticle import (
    custom_event,
    idsync_answer,
    idsync_error,
    mp_batch,
    mp_errors,
    mp_event,
)

EVENTS = "/v2/events"
BULK = "/v2/bulkevents"


def stored(views: ControlViews) -> dict[str, Any]:
    """The newest stored batch as processed (`resolved.batch`)."""
    batch: dict[str, Any] = views.mp_batches()[-1]["resolved"]["batch"]
    return batch


def test_s2s_event_name_and_attribute_name_over_256_are_truncated(
    mp: MParticleDriver, views: ControlViews
) -> None:
    # "For S2S data, names exceeding the limit will be truncated." / "S2S will truncate the
    # attribute name."
    long_name, long_key = "E" * 300, "k" * 300
    mp.send(mp_batch(custom_event(long_name, **{long_key: "v"}), customer_id="c1"))
    data = stored(views)["events"][0]["data"]
    assert data["event_name"] == "E" * 256
    assert data["custom_attributes"] == {"k" * 256: "v"}
    user = views.mp_user(views.mpid_of("c1"))
    assert set(user["events"]) == {"E" * 256}
    assert views.warnings("limit", path=EVENTS) == [
        ("$.events[0].data.event_name", "event_name truncated to 256 characters"),
        (
            f"$.events[0].data.custom_attributes.{long_key}",
            "attribute name truncated to 256 characters",
        ),
    ]
    assert views.last_verdict(path=EVENTS)["valid"] is True


def test_event_attributes_past_100_and_values_past_4096_are_truncated_by_default(
    mp: MParticleDriver, views: ControlViews
) -> None:
    attributes = {f"a{i:03}": "v" for i in range(103)}
    attributes["a000"] = "x" * 5000
    mp.send(mp_batch(custom_event("Big", **attributes), customer_id="c1"))
    kept = stored(views)["events"][0]["data"]["custom_attributes"]
    assert list(kept) == [f"a{i:03}" for i in range(100)]
    assert kept["a000"] == "x" * 4096
    warnings = dict(views.warnings("limit", path=EVENTS))
    at = "$.events[0].data.custom_attributes"
    assert warnings[at].startswith("103 event attributes, over the limit of 100: removed 'a100'")
    assert warnings[f"{at}.a000"] == (
        "attribute value of 5000 characters, over the limit of 4096: truncated"
    )


def test_user_attribute_limits_are_applied_to_the_profile_by_default(
    mp: MParticleDriver, views: ControlViews
) -> None:
    attributes: dict[str, Any] = {f"u{i:03}": i for i in range(101)}
    attributes["u000"] = "y" * 4100
    attributes["u001"] = ["t"] * 1001
    attributes["u002"] = ["s" * 513, "ok"]
    mp.send(mp_batch(custom_event("x"), customer_id="c1", user_attributes=attributes))
    profile = views.mp_user(views.mpid_of("c1"))["user_attributes"]
    assert len(profile) == 100 and "u100" not in profile
    assert profile["u000"] == "y" * 4096
    assert profile["u001"] == ["t"] * 1000
    assert profile["u002"] == ["s" * 512, "ok"]
    paths = [path for path, _ in views.warnings("limit", path=EVENTS)]
    assert paths == [
        "$.user_attributes",
        "$.user_attributes.u000",
        "$.user_attributes.u001",
        "$.user_attributes.u002",
    ]


def test_a_user_attribute_change_event_is_held_to_the_user_attribute_limits(
    mp: MParticleDriver, views: ControlViews
) -> None:
    change = mp_event("user_attribute_change", user_attribute_name="N" * 300, new="v" * 5000)
    mp.send(mp_batch(change, customer_id="c1"))
    assert views.mp_user(views.mpid_of("c1"))["user_attributes"] == {"N" * 256: "v" * 4096}
    assert [path for path, _ in views.warnings("limit", path=EVENTS)] == [
        "$.events[0].data.user_attribute_name",
        "$.events[0].data.new",
    ]


def test_over_limit_drop_removes_the_attribute(mp: MParticleDriver, views: ControlViews) -> None:
    views.configure_input(S2S[0], over_limit="drop")
    batch = mp_batch(
        custom_event("x", note="n" * 4097, ok="fine"),
        customer_id="c1",
        user_attributes={"bio": "b" * 4097, "tags": ["t" * 600], "plan": "gold"},
    )
    mp.send(batch)
    assert stored(views)["events"][0]["data"]["custom_attributes"] == {"ok": "fine"}
    assert views.mp_user(views.mpid_of("c1"))["user_attributes"] == {"plan": "gold"}
    messages = [m for _, m in views.warnings("limit", path=EVENTS)]
    assert len(messages) == 3 and all(m.endswith(": attribute removed") for m in messages)


def test_over_limit_refuse_is_the_events_api_400_naming_the_limit(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    views.configure_input(S2S[0], over_limit="refuse")
    over = mp_batch(custom_event("x"), customer_id="c1", user_attributes={"bio": "b" * 4097})
    (error,) = mp_errors(mp.post(over), 400, "BAD_REQUEST")
    assert error["message"] == (
        "$.user_attributes.bio: user attribute value of 4097 characters, over the limit of 4096"
    )
    assert views.mp_batches() == []
    # In a bulk request only that batch is refused; the documented truncation still applies.
    fine = mp_batch(custom_event("N" * 257), customer_id="c2")
    mp.send([over, fine], path=BULK)
    assert [r["resolved"]["batch"]["user_identities"] for r in views.mp_batches()] == [
        {"customer_id": "c2"}
    ]
    (entry,) = emulator.client.requests(path=BULK)
    assert [(p["index"], p["outcome"]) for p in entry["parts"]] == [
        (0, "rejected"),
        (1, "accepted"),
    ]
    assert entry["parts"][0]["errors"][0]["kind"] == "limit"
    assert views.warnings("limit", path=BULK) == [
        ("$[1].events[0].data.event_name", "event_name truncated to 256 characters")
    ]


def test_strict_mode_refuses_a_misspelled_identity_key_naming_the_type(
    mp: MParticleDriver, views: ControlViews
) -> None:
    for key, meant in (
        ("customerID", "customer_id"),
        ("Email", "email"),
        ("other-id-2", "other_id_2"),
    ):
        batch = mp_batch(custom_event("x"), identities={key: "v"})
        (error,) = mp_errors(mp.post(batch), 400, "BAD_REQUEST")
        path = f"$.user_identities.{key}" if key.isidentifier() else f'$.user_identities["{key}"]'
        assert (
            error["message"] == f"{path}: {key!r} is not an identity type; did you mean {meant!r}?"
        )
    assert views.mp_batches() == []
    # The documented types and the clients' `customerid` are taken.
    mp.send(mp_batch(custom_event("x"), identities={"customerid": "c1", "other_id_2": "o"}))


def test_lenient_mode_takes_a_misspelled_identity_key_and_says_so(lenient: Lenient) -> None:
    mp, views = lenient.mp, lenient.views
    mp.send(mp_batch(custom_event("x"), identities={"customerID": "c1", "email": "a@x.io"}))
    verdict = views.last_verdict(path=EVENTS)
    assert verdict["valid"] is True
    assert [(w["path"], w["message"], w["kind"]) for w in verdict["warnings"]] == [
        (
            "$.user_identities.customerID",
            "'customerID' is not an identity type; did you mean 'customer_id'?",
            "identity-type",
        )
    ]
    # Not an identity: the user is known by email only.
    (user,) = views.mp_users()
    assert user["user_identities"] == {"email": "a@x.io"}


def test_idsync_misspelled_known_identity_strict_and_lenient(
    mp: MParticleDriver, lenient: Lenient
) -> None:
    response = mp.idsync("identify", {"customerID": "c1"})
    idsync_error(response, 400, "BAD_REQUEST")
    assert response.json()["Errors"][0]["message"] == (
        "$.known_identities.customerID: 'customerID' is not an identity type; "
        "did you mean 'customerid'?"
    )
    # Lenient: the key is ignored (not an identity) and named in the verdict.
    answer = idsync_answer(lenient.mp.idsync("identify", {"customerID": "c1", "email": "a@x.io"}))
    assert answer["matched_identities"] == {}
    assert lenient.views.warnings("identity-type", path="/v1/identify") == [
        (
            "$.known_identities.customerID",
            "'customerID' is not an identity type; did you mean 'customerid'?",
        )
    ]


# -- the short cut: `within` answers what the full walk would do -----------------------------------
def _text(limit: int) -> st.SearchStrategy[str]:
    """Strings short of, at and past `limit` (where the checks turn)."""
    return st.sampled_from([limit - 1, limit, limit + 1, 0, 3]).map(lambda n: "a" * max(n, 0))


_values = st.one_of(
    _text(limits.MAX_ATTRIBUTE_VALUE),
    _text(limits.MAX_USER_ATTRIBUTE_VALUE),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.one_of(_text(limits.MAX_LIST_ENTRY), st.integers()), max_size=3),
    st.just(["x"] * (limits.MAX_LIST_ENTRIES + 1)),
)


def _attributes(count_limit: int, name_limit: int) -> st.SearchStrategy[dict[str, Any]]:
    few = st.dictionaries(st.one_of(_text(name_limit), st.text(max_size=4)), _values, max_size=4)
    many = st.integers(count_limit, count_limit + 1).map(lambda n: {f"k{i}": i for i in range(n)})
    return st.one_of(few, many)


_event_data = st.fixed_dictionaries(
    {},
    optional={
        "event_name": st.one_of(_text(limits.MAX_EVENT_NAME), st.integers()),
        "screen_name": _text(limits.MAX_EVENT_NAME),
        "custom_attributes": st.one_of(
            _attributes(limits.MAX_EVENT_ATTRIBUTES, limits.MAX_ATTRIBUTE_NAME), st.just([])
        ),
        "user_attribute_name": st.one_of(_text(limits.MAX_USER_ATTRIBUTE_NAME), st.none()),
        "new": _values,
    },
)
_batches = st.fixed_dictionaries(
    {},
    optional={
        "events": st.one_of(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries({"data": st.one_of(_event_data, st.just(["x" * 300]))}),
                    st.just(3),
                )
            ),
            st.just("not a list"),
        ),
        "user_attributes": st.one_of(
            _attributes(limits.MAX_USER_ATTRIBUTES, limits.MAX_USER_ATTRIBUTE_NAME), st.none()
        ),
    },
)


@settings(max_examples=2000, deadline=None)
@given(_batches, st.sampled_from(limits.OVER_LIMIT))
def test_within_is_true_exactly_when_the_full_walk_changes_nothing(
    batch: dict[str, Any], policy: limits.OverLimit
) -> None:
    walked = copy.deepcopy(batch)
    try:
        notes = limits.enforce_all(walked, policy)
    except limits.OverLimitError:
        notes = [limits.Note("", "refused")]
    unchanged = not notes and walked == batch
    assert limits.within_walk(batch) is unchanged
    assert limits.within(batch) is unchanged  # compiled (a JSON Schema over the batch)
    assert limits.all_within([batch, {}]) is unchanged  # a bulk request's array at once
    if unchanged:  # the short cut leaves the batch as it is and says nothing
        kept = copy.deepcopy(batch)
        assert limits.enforce(kept, policy) == []
        assert kept == batch
