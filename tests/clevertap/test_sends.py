"""Sends to user ids, `/1/send/{push,email,sms,webpush}.json` (docs/clevertap-behaviour.md,
"Sends to user ids"): captured, never sent, with what each named user would have received.

Sources: the Create Campaign API's "Target User IDs" (https://developer.clevertap.com/docs/create-campaign)
and CleverTap's snippets of it (https://github.com/CleverTap/clevertap-support-snippets,
`getting_started/api/sending_message_by_identity_*`, `sending_push_by_identity_sample_response_*`);
the `MSG-*` subscription flags (https://developer.clevertap.com/docs/upload-user-profiles-api).
Where the documentation is silent (failure messages, unknown ids) the behaviour is the
emulator's documented choice.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import bad_request, ct_fail, profile_record, token_record

ANDROID = "__a1b2c3d4e5f6"
CID = "__c1d2e3f4a5b6"
CONTENT = {
    "push": {"title": "Welcome", "body": "Hello world!"},
    "webpush": {"title": "Hi!", "body": "How are you doing today?"},
    "email": {"subject": "Welcome", "body": "<div>Hi</div>", "sender_name": "CleverTap"},
    "sms": {"body": "Sms body"},
}


def message(channel: str, **to: list[str]) -> dict[str, Any]:
    return {
        "to": to,
        "tag_group": "my tag group",
        "respect_frequency_caps": False,
        "content": CONTENT[channel],
    }


@pytest.fixture
def users(ct: CleverTapDriver) -> None:
    """ann: email, phone and an Android push token (fb-1, gp-1); bob: only an email;
    cid: email, phone and a push token, unsubscribed from every channel."""
    ct.upload_ok(
        {
            "type": "profile",
            "identity": "ann",
            "objectId": ANDROID,
            "FBID": "fb-1",
            "profileData": {"Email": "ann@example.com", "Phone": "+14155550100"},
        },
        token_record(ANDROID, "fcm-token"),
        profile_record("bob", Email="bob@example.com"),
        {
            "type": "profile",
            "identity": "cid",
            "objectId": CID,
            "profileData": {
                "Email": "cid@example.com",
                "Phone": "+14155550101",
                **{"MSG-email": False, "MSG-sms": False, "MSG-push": False},
            },
        },
        token_record(CID, "fcm-cid"),
    )


def by_identity(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["identity"]: row for row in rows}


@pytest.mark.parametrize("channel", ["push", "email", "sms", "webpush"])
def test_a_send_is_queued_with_the_documented_answer(
    channel: str, users: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """The documented success answer (`sending_push_by_identity_sample_response_success.json`)
    for each channel's sample request; the send is captured with its content."""
    ct.send_ok(channel, message(channel, Identity=["ann"]))
    (row,) = views.ct_sends(channel=channel)
    assert (row["identity"], row["channel"], row["content"]) == ("ann", channel, CONTENT[channel])
    assert row["tag_group"] == "my tag group"


def test_every_kind_of_user_id_names_its_user_once(
    users: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """`to` takes Identity, Email, FBID, GPID and objectId lists (the documented sample); a user
    named by several ids gets one message."""
    ct.send_ok(
        "email",
        message(
            "email",
            Identity=["ann"],
            Email=["ann@example.com", "bob@example.com"],
            FBID=["fb-1"],
            objectId=[ANDROID],
        ),
    )
    rows = views.ct_sends()
    assert sorted(r["identity"] for r in rows) == ["ann", "bob"]
    assert by_identity(rows)["ann"]["named_by"] == "Identity ann"
    assert by_identity(rows)["bob"]["named_by"] == "Email bob@example.com"


def test_a_channel_reaches_only_users_it_can_reach(
    users: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """Email needs an Email, sms a Phone, push a device token, webpush a browser token; the
    users it cannot reach are recorded with the reason (emulator's control view)."""
    everyone = {"Identity": ["ann", "bob"]}
    for channel in ("push", "email", "sms", "webpush"):
        ct.send_ok(channel, message(channel, **everyone))
    reached = {
        channel: sorted(r["identity"] for r in views.ct_sends(channel=channel, reached="true"))
        for channel in ("push", "email", "sms", "webpush")
    }
    assert reached == {"push": ["ann"], "email": ["ann", "bob"], "sms": ["ann"], "webpush": []}
    missed = by_identity(views.ct_sends(reached="false"))
    assert missed["bob"]["reason"] in ("no push token", "no Phone", "no web push (chrome) token")
    assert {
        (r["channel"], r["reason"]) for r in views.ct_sends(identity="bob", reached="false")
    } == {
        ("push", "no push token"),
        ("sms", "no Phone"),
        ("webpush", "no web push (chrome) token"),
    }


@pytest.mark.parametrize(
    ("channel", "flag"), [("email", "MSG-email"), ("sms", "MSG-sms"), ("push", "MSG-push")]
)
def test_an_unsubscribed_user_is_not_reached(
    channel: str, flag: str, users: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """`MSG-email`, `MSG-sms`, `MSG-push` false opt the user out of the channel
    (upload-user-profiles-api); the send still succeeds and the row says why."""
    ct.send_ok(channel, message(channel, Identity=["cid"]))
    (row,) = views.ct_sends(identity="cid")
    assert (row["reached"], row["reason"]) == (False, f"unsubscribed: {flag} is false")


def test_unknown_ids_are_recorded_and_a_send_naming_nobody_fails(
    users: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """The documentation gives the fail envelope (`sending_push_by_identity_sample_response_fail
    .json`) but no message: a send whose ids name nobody is the emulator's 400; one that names
    somebody is queued, and its unknown ids are kept with it."""
    answer = ct.send_to("push", message("push", Identity=["nobody"], GPID=["gp-x"]))
    assert bad_request(answer) == ct_fail(400, "No user found for the ids in to")
    assert views.ct_sends() == []
    ct.send_ok("push", message("push", Identity=["ann", "nobody"]))
    assert [r["identity"] for r in views.ct_sends()] == ["ann"]


@pytest.mark.parametrize(
    ("channel", "content"),
    [
        ("push", {"body": "no title"}),
        ("email", {"subject": "s", "body": "b"}),  # no sender_name
        ("sms", {"title": "no body"}),
        ("webpush", {"title": "no body"}),
    ],
)
def test_content_missing_a_channels_required_field_is_a_400(
    channel: str, content: dict[str, Any], users: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """Each channel's content fields as its documented sample and the Create Campaign page
    require them (push/webpush: title, body; email: subject, body, sender_name; sms: body)."""
    bad_request(ct.send_to(channel, {"to": {"Identity": ["ann"]}, "content": content}))
    assert views.ct_sends() == []


@pytest.mark.parametrize(
    "body",
    [
        {"content": CONTENT["push"]},
        {"to": {}, "content": CONTENT["push"]},
        {"to": {"Phone": ["+1415"]}, "content": CONTENT["push"]},
        {"to": {"Identity": "ann"}, "content": CONTENT["push"]},
        {"to": {"Identity": ["ann"]}, "content": CONTENT["push"], "respect_frequency_caps": "no"},
    ],
)
def test_a_to_that_is_not_lists_of_the_documented_ids_is_a_400(
    body: dict[str, Any], users: None, ct: CleverTapDriver
) -> None:
    """`to` holds lists of Identity, Email, FBID, GPID, objectId (Target User IDs)."""
    bad_request(ct.send_to("push", body))


def test_sends_survive_a_state_export_and_load(
    emulator: EmulatorHandle, users: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.send_ok("sms", message("sms", Identity=["ann"]))
    before = views.ct_sends()
    document = emulator.client.state()
    emulator.client.reset()
    assert views.ct_sends() == []
    emulator.client.load_state(document)
    assert views.ct_sends() == before
