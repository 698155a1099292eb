"""What mParticle tells the rest of the emulator (the event and audience outputs listen)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from emulator.core.events import Event

if TYPE_CHECKING:
    from emulator.mparticle.settings import Input
    from emulator.mparticle.users import User


@dataclass(frozen=True, slots=True)
class BatchAccepted(Event):
    """A batch a workspace stored and applied to `mpid` (its user)."""

    workspace: str
    source: Input
    batch: dict[str, Any]
    mpid: int
    received_ms: int
    historical: bool
    # The user's identities once the batch is applied (a copy): mParticle enriches a batch from
    # the user profile before an output gets it
    # (https://docs.mparticle.com/guides/platform-guide/profiles/, Profile Enrichment).
    profile_identities: dict[str, str] = field(default_factory=dict)
    # The batch's number among the workspace's stored batches (1 the first; 0 unknown).
    number: int = 0


@dataclass(frozen=True, slots=True)
class AudienceChanged(Event):
    """An audience was defined (`add`) or removed (`remove`)."""

    workspace: str
    action: Literal["add", "remove"]
    audience_id: int
    audience_name: str


@dataclass(frozen=True, slots=True)
class MembershipChanged(Event):
    """A user entered (`add`) or left (`delete`) an audience; `user` is the user now."""

    workspace: str
    audience_id: int
    audience_name: str
    action: Literal["add", "delete"]
    reason: str
    # The audience is exported once, when it is defined (later changes are not sent).
    one_time: bool
    user: User
    # The outputs the audience was connected to explicitly (the Connect step) and the User ID
    # chosen for each: output id -> User ID.
    connections: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AudienceConnected(Event):
    """An audience was connected to an audience output (the dashboard's Connect step) with a User
    ID; `members` are its members now (the output back-fills them)."""

    workspace: str
    audience_id: int
    audience_name: str
    output: str
    user_id: str
    one_time: bool
    members: tuple[User, ...]


@dataclass(frozen=True, slots=True)
class DsrStatusChanged(Event):
    """A data subject request changed status (created too): its status object goes to each
    callback URL, signed (`headers`: X-OpenDSR-Processor-Domain and X-OpenDSR-Signature over
    the JSON of `body` as `emulator.core.jsonresp.dumps` writes it)."""

    workspace: str
    subject_request_id: str
    status: str
    urls: tuple[str, ...]
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class UserErased(Event):
    """An erasure request removed the user `mpid` from the workspace (after their audience
    exits were told); `identities` are those they had."""

    workspace: str
    subject_request_id: str
    mpid: int
    identities: dict[str, str]
