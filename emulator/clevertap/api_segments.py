"""CleverTap's API Segments (https://docs.clevertap.com/docs/api-segments): segments made with the
Create Segment API (https://developer.clevertap.com/docs/create-segment-api) whose members the
Update Segment API (https://developer.clevertap.com/docs/update-segment-api) adds and removes.
They are the account's segments like any other (segments.py), of type `API Segment`, with the
caller's `customer_segment_id`. Plain Python, no HTTP.

Create checks the whole request before making anything (a 400 makes no segment). Update
processes partially, as documented: each user profile and segment reference that cannot be used
is skipped and reported in `unprocessed` (the platform logs it to its Error Stream); the rest is
applied. What the pages leave unsaid is marked [I] in docs/clevertap-behaviour.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.clevertap.segments import new_segment
from emulator.core.contracts import ContractError
from emulator.core.errors import ApiError

API_SEGMENT = "API Segment"
SOURCE = "Create Segment API"
SKIPPED = "skipped"  # the journal verdict's kind for an entry Update Segment skipped
Why = tuple[int, str]  # an `unprocessed` entry's code and error


class SegmentRequestError(ApiError):
    """A Create Segment request CleverTap refuses: a 400 in its fail envelope."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def create(account: Account, body: Any, now: float) -> dict[str, Any]:
    """Make the API segments `body` lists (a top-level array, as the page's sample request, or
    `{"segments": [...]}`, as its text says; contract `clevertap/segment-create`)."""
    items: list[dict[str, Any]] = body if isinstance(body, list) else body["segments"]
    names: set[str] = set()
    ids: set[str] = set()
    taken = {s.get("customer_segment_id") for s in account.segments if s.get("type") == API_SEGMENT}
    for item in items:
        name, customer_id = item["segment_name"], item["customer_segment_id"]
        if name in names:
            raise SegmentRequestError(f"segment_name {name!r} is given twice in the request")
        if customer_id in ids:
            raise SegmentRequestError(
                f"customer_segment_id {customer_id!r} is given twice in the request"
            )
        if customer_id in taken:
            raise SegmentRequestError(
                f"customer_segment_id {customer_id!r} is already used by an API segment"
            )
        names.add(name)
        ids.add(customer_id)
    made = [
        new_segment(
            account,
            item["segment_name"],
            API_SEGMENT,
            now,
            [],
            customer_segment_id=item["customer_segment_id"],
            source=SOURCE,
        )
        for item in items
    ]
    return {
        "status": "success",
        "segments": [
            {
                "segment_name": s["name"],
                "customer_segment_id": s["customer_segment_id"],
                "ct_segment_id": s["id"],
            }
            for s in made
        ],
    }


@dataclass(slots=True)
class UpdateOutcome:
    processed: int = 0
    # The `unprocessed` entries, and the same as journal verdict warnings.
    unprocessed: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[ContractError] = field(default_factory=list)

    def skip(self, path: str, code: int, error: str, record: Any) -> None:
        self.unprocessed.append(
            {"status": "fail", "code": code, "error": error, "path": path, "record": record}
        )
        self.warnings.append(ContractError(path, error, SKIPPED))

    def answer(self) -> dict[str, Any]:
        status = "success" if not self.unprocessed else "partial" if self.processed else "fail"
        return {"status": status, "processed": self.processed, "unprocessed": self.unprocessed}


def update(account: Account, body: dict[str, Any]) -> UpdateOutcome:
    """Add the user profiles of each `bulk_profiles` entry to, or remove them from, the entry's
    API segments (contract `clevertap/segment-update`). `processed` counts the (profile,
    segment) changes applied, a profile already in (or already out of) the segment included."""
    outcome = UpdateOutcome()
    for b, entry in enumerate(body["bulk_profiles"]):
        at = f"$.bulk_profiles[{b}]"
        profiles: list[Profile] = []
        for u, user in enumerate(entry["user_profiles"]):
            found = _profile(account, user)
            if isinstance(found, Profile):
                profiles.append(found)
            else:
                outcome.skip(f"{at}.user_profiles[{u}]", *found, user)
        changes: list[tuple[dict[str, Any], str]] = []
        for s, ref in enumerate(entry["segments"]):
            segment = _segment(account, ref)
            if isinstance(segment, dict):
                changes.append((segment, ref["action"]))
            else:
                outcome.skip(f"{at}.segments[{s}]", *segment, ref)
        for segment, action in changes:
            members: list[str] = segment["members"]
            for profile in profiles:
                mine = set(profile.object_ids)
                if action == "add":
                    if not mine.intersection(members):
                        members.append(profile.guid)
                else:
                    members[:] = [m for m in members if m not in mine]
                outcome.processed += 1
    return outcome


def _profile(account: Account, user: dict[str, Any]) -> Profile | Why:
    """The profile `guid` names, else the one `identity` names (identity is looked at only
    without a guid); why there is none: 404 nobody has it, 400 neither is given."""
    for key, index in (("guid", "objectId"), ("identity", "identity")):
        if key in user:
            found = account.find(index, user[key])
            return found or (404, f"no profile with {key} {user[key]!r}")
    return 400, "neither guid nor identity is given"


def _segment(account: Account, ref: dict[str, Any]) -> dict[str, Any] | Why:
    """The API segment `ct_segment_id` (else `customer_segment_id`) names; why there is none:
    404 no such segment, 400 not an API segment or no reference given."""
    if "ct_segment_id" in ref:
        key = ref["ct_segment_id"]
        # A number (1, or 1.0, which the contract takes as an integer) or a numeric string.
        wanted = str(int(key)) if isinstance(key, float) else str(key)
        found = next((s for s in account.segments if str(s["id"]) == wanted), None)
        if found is None:
            return 404, f"no segment with ct_segment_id {key!r}"
        if found.get("type") != API_SEGMENT:
            return 400, (
                f"segment {found['id']} is a {found.get('type')} segment: "
                "the Update Segment API changes API segments only"
            )
        return found
    if "customer_segment_id" in ref:
        key = ref["customer_segment_id"]
        for segment in account.segments:
            if segment.get("type") == API_SEGMENT and segment.get("customer_segment_id") == key:
                return segment
        return 404, f"no API segment with customer_segment_id {key!r}"
    return 400, "neither ct_segment_id nor customer_segment_id is given"
