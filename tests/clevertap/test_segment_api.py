"""CleverTap's Custom List API (https://developer.clevertap.com/docs/custom-list-endpoints): a
pre-signed URL (`POST /get_custom_list_segment_url`, answer `presignedS3URL`), the CSV PUT to it
(`Type,Identity`, `i` identity / `g` CleverTap ID, https://docs.clevertap.com/docs/custom-list-segments),
then `POST /upload_custom_list_segment_completed` (`name, email, filename, creator, url,
replace`, answer `Segment ID`); the URL lasts 24 hours
(https://developer.clevertap.com/docs/custom-list-api-teams). A campaign
(`targets/create.json` with `segment`, https://developer.clevertap.com/docs/create-campaign-api)
aimed at the segment reaches its members.

Hand-written HTTP (httpx) through the shared drivers; expected values are written out from those
pages and docs/clevertap-behaviour.md, never derived from the emulator's answers (except ids).
"""

from __future__ import annotations

from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import bad_request, ct_fail, profile_record

NOW = 1_714_592_744  # 2024-05-01 19:45:44 UTC
DAY = 24 * 3600


def people(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        profile_record("a", Email="a@example.com"),
        profile_record("b", Email="b@example.com"),
        profile_record("c", Email="c@example.com"),
    )


def email_campaign(segment: Any) -> dict[str, Any]:
    return {
        "name": "List campaign",
        "target_mode": "email",
        "content": {"subject": "Hi", "body": "Hello"},
        "when": "now",
        "segment": segment,
    }


def audience_of(views: ControlViews, campaign_id: int) -> list[str]:
    (found,) = [c for c in views.ct_campaigns() if c["id"] == campaign_id]
    return sorted(m["identity"] for m in found["audience"])


def test_three_steps_make_a_segment_a_campaign_reaches(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    """Custom List API: URL, PUT, completed → a Custom List segment of the listed users (by
    identity `i` and CleverTap ID `g`); a campaign naming it by id or name reaches exactly them."""
    people(ct)
    guid_b = ct.object_id("b")
    segment_id = ct.custom_list("Newsletter", ("i", "a"), ("g", guid_b), ("i", "nobody"))
    segment = views.ct_segment("Newsletter")
    assert segment["id"] == segment_id
    assert segment["type"] == "Custom List"
    assert sorted(segment["members"]) == sorted([ct.object_id("a"), guid_b])
    for target in (segment_id, "Newsletter"):
        created = ct.create_campaign(email_campaign(target))
        assert audience_of(views, created["id"]) == ["a", "b"], target


def test_replace_gives_an_existing_list_new_members(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    """Custom List API `replace`: the list of that name is replaced (same segment, new members)."""
    people(ct)
    first = ct.custom_list("Weekly", ("i", "a"))
    again = ct.custom_list("Weekly", ("i", "c"), replace=True)
    assert again == first
    segment = views.ct_segment("Weekly")
    assert segment["members"] == [ct.object_id("c")]


def test_the_upload_url_is_the_accounts_and_lasts_a_day(
    ct: CleverTapDriver, views: ControlViews, emulator: EmulatorHandle
) -> None:
    """Custom List API (Teams page): the pre-signed URL is valid for 24 hours; a URL that was not
    issued, or one with no file, cannot complete a segment."""
    emulator.client.freeze_clock(NOW)
    url = ct.custom_list_url()
    assert ct.put_custom_list(url + "x", [("i", "a")]).status_code == 403
    bad_request(ct.complete_custom_list("Empty", url))  # nothing uploaded yet
    bad_request(ct.complete_custom_list("Forged", url.rsplit("/", 1)[0] + "/forged"))
    emulator.client.advance_clock(DAY)
    assert ct.put_custom_list(url, [("i", "a")]).status_code == 403
    assert views.ct_segments() == []


def test_a_bad_row_or_body_is_a_400(ct: CleverTapDriver, views: ControlViews) -> None:
    """A row that is neither `i` nor `g`, and a completion body without its documented fields,
    are 400s in CleverTap's fail envelope; no segment is made."""
    url = ct.custom_list_url()
    assert ct.put_custom_list(url, [("x", "a")]).status_code == 200
    bad_request(ct.complete_custom_list("Odd", url))
    bad_request(ct.post("/upload_custom_list_segment_completed", {"name": "No url"}))
    assert views.ct_segments() == []


def test_the_api_needs_the_account_headers(ct: CleverTapDriver) -> None:
    """CleverTap authentication (https://developer.clevertap.com/docs/api-overview): a wrong
    passcode is a 401 "Invalid Credentials" on both authenticated steps."""
    intruder = ct.for_account(ct.account, "wrong")
    for path in ("/get_custom_list_segment_url", "/upload_custom_list_segment_completed"):
        response = intruder.post(path, {})
        assert response.status_code == 401
        assert response.json() == ct_fail(401, "Invalid Credentials")


def test_api_made_segments_survive_a_state_round_trip(
    ct: CleverTapDriver, views: ControlViews, emulator: EmulatorHandle
) -> None:
    """The state document carries segments made through the Custom List API: after export,
    reset and import, a campaign still reaches the members."""
    people(ct)
    segment_id = ct.custom_list("Kept", ("i", "b"))
    document = emulator.client.state()
    emulator.client.reset()
    assert views.ct_segments() == []
    emulator.client.load_state(document)
    created = ct.create_campaign(email_campaign(segment_id))
    assert audience_of(views, created["id"]) == ["b"]
