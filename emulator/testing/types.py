"""The shapes the control API's views answer, as `TypedDict`s: what `EmulatorClient`'s helpers
return (`emulator/testing/views.py`). They are the views' JSON as it comes, typed for readers
and for `mypy --strict`; a key a later version adds is still there at run time."""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class EventSummary(TypedDict):
    """A CleverTap profile's summary of one event name (times in epoch seconds)."""

    count: int
    first_seen: int
    last_seen: int


class CleverTapProfile(TypedDict):
    """`GET /_emulator/clevertap/{account}/profiles` row."""

    objectId: str
    objectIds: list[str]
    identities: list[str]
    email: str | None
    phone: str | None
    FBID: str | None
    GPID: str | None
    profileData: dict[str, Any]
    events: dict[str, EventSummary]
    tokens: list[dict[str, Any]]
    created: int
    updated: int


class CleverTapEvent(TypedDict):
    """`GET /_emulator/clevertap/{account}/events` row, oldest first (`ts` in epoch seconds)."""

    objectId: str
    identity: str | None
    evtName: str
    ts: int
    evtData: dict[str, Any]


class CleverTapSegment(TypedDict, total=False):
    """`GET /_emulator/clevertap/{account}/segments` row: `members` are CleverTap IDs.
    `Partner - mParticle` segments also name their `partner` and `partner_segment_id`."""

    id: int
    name: str
    type: str
    created: float
    members: list[str]
    count: int
    partner: str
    partner_segment_id: int


class CleverTapCampaign(TypedDict, total=False):
    """`GET /_emulator/clevertap/{account}/campaigns` row: a captured `targets/create.json`."""

    id: int
    name: str
    target_mode: str
    status: str
    scheduled_on: int
    created: float
    stopped: bool
    estimates: dict[str, int]
    audience: list[str]
    request: dict[str, Any]


class MParticleUser(TypedDict):
    """`GET /_emulator/mparticle/{workspace}/users` row (MPIDs are decimal strings)."""

    mpid: str
    user_identities: dict[str, str]
    device_identities: dict[str, str]
    partner_identities: dict[str, str]
    user_attributes: dict[str, Any]
    consent_state: dict[str, Any]
    events: dict[str, dict[str, int]]
    created: float
    updated: float
    history: list[dict[str, Any]]
    audience_memberships: list[dict[str, Any]]


class Audience(TypedDict, total=False):
    """`GET /_emulator/mparticle/{workspace}/audiences` row: `members` are MPIDs."""

    id: int
    name: str
    criteria: dict[str, Any]
    created: float
    export: str
    members: list[str]


class Membership(TypedDict):
    """`GET /_emulator/mparticle/{workspace}/memberships` row: one add or delete, with why."""

    audience_id: int
    audience_name: str
    mpid: str
    action: Literal["add", "delete"]
    time: float
    reason: str


class StoredBatch(TypedDict, total=False):
    """`GET /_emulator/mparticle/{workspace}/batches` row: the batch as received and resolved."""

    received: float
    input: str
    historical: bool
    batch: dict[str, Any]
    resolved: dict[str, Any]
    journal: dict[str, Any]
    mpid: str


class Delivery(TypedDict, total=False):
    """`GET /_emulator/bridge/{connection}/deliveries` row: one request a flow made, with every
    attempt and the answer, and what it skipped and why."""

    id: str
    connection: str
    flow: str
    status: str
    created: float
    batch: int
    source: dict[str, Any]
    skipped: list[Any]
    request: dict[str, Any]
    attempts: list[dict[str, Any]]
    response: dict[str, Any] | None


class Settled(TypedDict):
    """`POST /_emulator/bridge/settle`'s answer."""

    settled: bool
    pending: int
