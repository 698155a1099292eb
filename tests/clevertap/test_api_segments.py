"""CleverTap's API Segments (https://docs.clevertap.com/docs/api-segments): the Create Segment API
(`POST /api/createSegment`, https://developer.clevertap.com/docs/create-segment-api: segments of
`segment_name`, unique within the request, and `customer_segment_id`, unique across requests;
CleverTap generates the Segment ID) and the Update Segment API (`POST /api/updateSegment`,
https://developer.clevertap.com/docs/update-segment-api: `bulk_profiles` of `user_profiles`
(`guid` / `identity`) and `segments` (`ct_segment_id` / `customer_segment_id`); API segments only;
partial processing). The answers and the add/remove field (`action`) are the emulator's
documented choices [I] (docs/clevertap-behaviour.md, "API Segments").

Hand-written HTTP (httpx) through the shared drivers; expected values are written out from those
pages and docs/clevertap-behaviour.md, never derived from the emulator's answers (except ids).
"""

from __future__ import annotations

from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import bad_request, bulk_entry, ct_fail, profile_record

CREATE_PAGE = "https://developer.clevertap.com/docs/create-segment-api"
UPDATE_PAGE = "https://developer.clevertap.com/docs/update-segment-api"


def people(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        profile_record("a", Email="a@example.com"),
        profile_record("b", Email="b@example.com"),
        profile_record("c", Email="c@example.com"),
    )


def email_campaign(**target: Any) -> dict[str, Any]:
    return {
        "name": "API segment campaign",
        "target_mode": "email",
        "content": {"subject": "Hi", "body": "Hello"},
        "when": "now",
        **target,
    }


def audience_of(views: ControlViews, campaign_id: int) -> list[str]:
    (found,) = [c for c in views.ct_campaigns() if c["id"] == campaign_id]
    return sorted(m["identity"] for m in found["audience"])


def add(**ref: Any) -> dict[str, Any]:
    return {**ref, "action": "add"}


def remove(**ref: Any) -> dict[str, Any]:
    return {**ref, "action": "remove"}


def test_create_makes_api_segments_from_the_sample_array(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    """Create Segment API (CREATE_PAGE, sample request: a top-level array): each segment is made,
    empty, of type API Segment, with a Segment ID CleverTap generates and the customer's id."""
    response = ct.create_segments(
        [
            {"segment_name": "Premium Users", "customer_segment_id": "SEG12345"},
            {"segment_name": "Frequent Buyers", "customer_segment_id": "SEG67890"},
        ]
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "success"
    made = answer["segments"]
    assert [(m["segment_name"], m["customer_segment_id"]) for m in made] == [
        ("Premium Users", "SEG12345"),
        ("Frequent Buyers", "SEG67890"),
    ]
    assert len({m["ct_segment_id"] for m in made}) == 2
    premium = views.ct_segment("Premium Users", type="API Segment")
    assert premium["id"] == made[0]["ct_segment_id"]
    assert premium["customer_segment_id"] == "SEG12345"
    assert premium["members"] == [] and premium["count"] == 0


def test_create_takes_a_segments_object_too(ct: CleverTapDriver, views: ControlViews) -> None:
    """Create Segment API (CREATE_PAGE text: "each object in the segments array"):
    `{"segments": [...]}` makes the same segments as the top-level array."""
    answer = ct.post_ok(
        "/api/createSegment",
        {"segments": [{"segment_name": "Active Buyers", "customer_segment_id": "AB-1"}]},
    )
    assert answer["status"] == "success"
    assert views.ct_segment("Active Buyers")["customer_segment_id"] == "AB-1"


def test_names_unique_in_the_request_and_customer_ids_across_requests(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    """Create Segment API (CREATE_PAGE): `segment_name` must be unique within the request and
    `customer_segment_id` across all requests (required there). A request breaking either is a
    400 in CleverTap's fail envelope and makes no segment."""
    first = ct.create_segment("Premium Users", "SEG1")
    bad_request(
        ct.create_segments(
            [
                {"segment_name": "Twice", "customer_segment_id": "SEG2"},
                {"segment_name": "Twice", "customer_segment_id": "SEG3"},
            ]
        )
    )
    bad_request(ct.create_segments([{"segment_name": "Again", "customer_segment_id": "SEG1"}]))
    bad_request(ct.create_segments([{"segment_name": "No customer id"}]))
    bad_request(ct.create_segments([]))
    assert [s["id"] for s in views.ct_segments()] == [first]
    # The name alone may repeat across requests: only the customer id must be new.
    ct.create_segment("Premium Users", "SEG4")
    assert len(views.ct_segments(name="Premium Users")) == 2


def test_update_adds_by_guid_or_identity_and_a_campaign_reaches_them(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    """Update Segment API (UPDATE_PAGE): users named by `guid` or `identity` are added to a
    segment named by `ct_segment_id` or `customer_segment_id`; `targets/create.json`
    (https://developer.clevertap.com/docs/create-campaign-api) names the segment by id or name
    and reaches them, and the `Segments` profile filter matches them."""
    people(ct)
    seg = ct.create_segment("Premium Users", "SEG12345")
    answer = ct.update_segments_answer(
        bulk_entry([{"guid": ct.object_id("a")}], add(ct_segment_id=seg)),
        bulk_entry([{"identity": "b"}], add(customer_segment_id="SEG12345")),
    )
    assert answer == {"status": "success", "processed": 2, "unprocessed": []}
    assert views.ct_segment("Premium Users")["count"] == 2
    for target in (seg, "Premium Users"):
        created = ct.create_campaign(email_campaign(segment=target))
        assert audience_of(views, created["id"]) == ["a", "b"], target
    in_segment = {"name": "Segments", "operator": "equals", "value": "Premium Users"}
    where = {"common_profile_properties": {"profile_fields": [in_segment]}}
    created = ct.create_campaign(email_campaign(where=where))
    assert audience_of(views, created["id"]) == ["a", "b"]


def test_update_removes_users(ct: CleverTapDriver, views: ControlViews) -> None:
    """Update Segment API (UPDATE_PAGE, "adding or removing them from various segments"): a
    removed user leaves the segment and campaigns aimed at it; removing one who is not in it is
    no error."""
    people(ct)
    seg = ct.create_segment("Weekly", "W-1")
    # ct_segment_id as a numeric string names the segment too.
    ct.update_segments_answer(
        bulk_entry([{"identity": "a"}, {"identity": "b"}], add(ct_segment_id=str(seg)))
    )
    answer = ct.update_segments_answer(
        bulk_entry([{"identity": "a"}, {"identity": "c"}], remove(customer_segment_id="W-1"))
    )
    assert answer == {"status": "success", "processed": 2, "unprocessed": []}
    assert views.ct_segment("Weekly")["members"] == [ct.object_id("b")]
    created = ct.create_campaign(email_campaign(segment=seg))
    assert audience_of(views, created["id"]) == ["b"]


def test_identity_is_used_only_without_a_guid(ct: CleverTapDriver, views: ControlViews) -> None:
    """Update Segment API (UPDATE_PAGE: identity "checked only if guid is not present"): a user
    profile with both is the guid's user; a guid naming nobody is skipped even next to a known
    identity."""
    people(ct)
    seg = ct.create_segment("Guid first", "G-1")
    answer = ct.update_segments_answer(
        bulk_entry(
            [{"guid": ct.object_id("c"), "identity": "a"}, {"guid": "nobody", "identity": "b"}],
            add(ct_segment_id=seg),
        )
    )
    assert answer["status"] == "partial" and answer["processed"] == 1
    (skipped,) = answer["unprocessed"]
    assert skipped["path"] == "$.bulk_profiles[0].user_profiles[1]"
    assert skipped["code"] == 404 and skipped["record"] == {"guid": "nobody", "identity": "b"}
    assert views.ct_segment("Guid first")["members"] == [ct.object_id("c")]


def test_partial_processing_reports_every_skipped_entry(
    ct: CleverTapDriver, views: ControlViews, emulator: EmulatorHandle
) -> None:
    """Update Segment API (UPDATE_PAGE, partial processing: valid entries processed, invalid
    ones skipped; the platform logs them to its Error Stream): unknown users, unknown segments,
    and a segment that is not an API segment (dashboard, custom list or partner segments are
    out of its reach) are skipped, each reported in `unprocessed` and in the journal verdict;
    the rest is applied."""
    people(ct)
    seg = ct.create_segment("API one", "API-1")
    custom = ct.custom_list("A list", ("i", "c"))
    answer = ct.update_segments_answer(
        bulk_entry(
            [{"identity": "a"}, {"identity": "ghost"}, {}],
            add(ct_segment_id=seg),
            add(ct_segment_id=custom),
            add(customer_segment_id="missing"),
            add(ct_segment_id=99_999),
        )
    )
    assert answer["status"] == "partial"
    assert answer["processed"] == 1
    skipped = [(u["path"], u["code"]) for u in answer["unprocessed"]]
    assert skipped == [
        ("$.bulk_profiles[0].user_profiles[1]", 404),
        ("$.bulk_profiles[0].user_profiles[2]", 400),
        ("$.bulk_profiles[0].segments[1]", 400),
        ("$.bulk_profiles[0].segments[2]", 404),
        ("$.bulk_profiles[0].segments[3]", 404),
    ]
    assert views.ct_segment("API one")["members"] == [ct.object_id("a")]
    assert views.ct_segment("A list")["members"] == [ct.object_id("c")]  # untouched
    (entry,) = emulator.client.requests(path="/api/updateSegment")
    assert entry["status"] == 200 and entry["valid"] is True
    warnings = entry["validation"]["warnings"]
    assert [(w["path"], w["kind"]) for w in warnings] == [(p, "skipped") for p, _ in skipped]
    assert len(entry["notes"]) == 5


def test_nothing_applicable_is_status_fail(ct: CleverTapDriver) -> None:
    """Update Segment API (UPDATE_PAGE, partial processing) with no valid entry: HTTP 200,
    status fail, nothing processed, every entry reported [I]."""
    answer = ct.update_segments_answer(
        bulk_entry([{"identity": "ghost"}], add(customer_segment_id="none"))
    )
    assert answer["status"] == "fail" and answer["processed"] == 0
    assert len(answer["unprocessed"]) == 2


def test_a_malformed_update_is_a_400(ct: CleverTapDriver) -> None:
    """Update Segment API (UPDATE_PAGE: `bulk_profiles`, `user_profiles`, `segments` required):
    a body without them, or an action other than add/remove [I], is a 400 in CleverTap's fail
    envelope."""
    bad_request(ct.post("/api/updateSegment", {}))
    bad_request(ct.update_segments({"user_profiles": [{"identity": "a"}]}))
    bad_request(ct.update_segments(bulk_entry([{"identity": "a"}], {"ct_segment_id": 1})))
    bad_request(
        ct.update_segments(
            bulk_entry([{"identity": "a"}], {"ct_segment_id": 1, "action": "replace"})
        )
    )


def test_the_apis_need_the_account_headers(ct: CleverTapDriver) -> None:
    """CleverTap authentication (https://developer.clevertap.com/docs/api-overview, the Headers
    both pages refer to): a wrong passcode is a 401 "Invalid Credentials"."""
    intruder = ct.for_account(ct.account, "wrong")
    for path in ("/api/createSegment", "/api/updateSegment"):
        response = intruder.post(path, [])
        assert response.status_code == 401
        assert response.json() == ct_fail(401, "Invalid Credentials")


def test_api_segments_survive_a_state_round_trip_and_go_with_a_reset(
    ct: CleverTapDriver, views: ControlViews, emulator: EmulatorHandle
) -> None:
    """API segments (https://docs.clevertap.com/docs/api-segments) are account segments: the
    state document carries them (members, customer id) and a reset removes them; after loading,
    Update Segment still finds the segment by its customer id."""
    people(ct)
    seg = ct.create_segment("Kept", "K-1")
    ct.update_segments_answer(bulk_entry([{"identity": "b"}], add(ct_segment_id=seg)))
    document = emulator.client.state()
    emulator.client.reset()
    assert views.ct_segments() == []
    emulator.client.load_state(document)
    kept = views.ct_segment("Kept")
    assert kept["customer_segment_id"] == "K-1" and kept["type"] == "API Segment"
    ct.update_segments_answer(bulk_entry([{"identity": "c"}], add(customer_segment_id="K-1")))
    created = ct.create_campaign(email_campaign(segment=seg))
    assert audience_of(views, created["id"]) == ["b", "c"]
