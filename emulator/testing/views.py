"""Typed reads of the platforms' state through the control API: `client.clevertap` and
`client.mparticle` on an `EmulatorClient`.

    client.clevertap.profile(identity="user-1")["profileData"]
    client.clevertap.events(event_name="Signed Up")
    client.mparticle.user(identity="user-1")["mpid"]

Each list reads every page of its view. The one-row lookups (`profile`, `segment`, `user`,
`audience`) raise `LookupError` naming what they found when there is not exactly one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from emulator.testing.types import (
    Audience,
    CleverTapCampaign,
    CleverTapEvent,
    CleverTapProfile,
    CleverTapSegment,
    Membership,
    MParticleUser,
    StoredBatch,
)

if TYPE_CHECKING:
    from emulator.testing.client import EmulatorClient

T = TypeVar("T")


def _one(rows: list[T], what: str) -> T:
    if len(rows) != 1:
        raise LookupError(f"{len(rows)} {what} (want exactly one): {rows!r}"[:2000])
    return rows[0]


class CleverTapViews:
    """One CleverTap account's stored state (`/_emulator/clevertap/{account}/...`); `account`
    defaults to the client's (the emulator's default account, `EMU-TEST-0001`)."""

    def __init__(self, client: EmulatorClient) -> None:
        self._client = client

    def _rows(self, account: str | None, view: str, **filters: Any) -> list[Any]:
        return self._client.rows(
            f"/clevertap/{account or self._client.account}/{view}", view.split("/")[-1], **filters
        )

    def profiles(
        self,
        *,
        identity: str | None = None,
        email: str | None = None,
        object_id: str | None = None,
        account: str | None = None,
    ) -> list[CleverTapProfile]:
        """Profiles with every CleverTap ID, identity, property and event summary."""
        return self._rows(account, "profiles", identity=identity, email=email, objectId=object_id)

    def profile(
        self,
        *,
        identity: str | None = None,
        email: str | None = None,
        object_id: str | None = None,
        account: str | None = None,
    ) -> CleverTapProfile:
        """The one profile with this identity, email or CleverTap ID (any of its IDs)."""
        if object_id is not None and identity is None and email is None:
            path = f"/clevertap/{account or self._client.account}/profiles/{object_id}"
            response = self._client.http.get(path)
            if response.status_code == 404:
                raise LookupError(f"no profile with CleverTap ID {object_id!r}")
            return cast(CleverTapProfile, self._client.check(response))
        filters = {"identity": identity, "email": email, "objectId": object_id}
        found = self.profiles(identity=identity, email=email, object_id=object_id, account=account)
        return _one(found, f"profiles match { ({k: v for k, v in filters.items() if v}) }")

    def events(
        self,
        *,
        event_name: str | None = None,
        identity: str | None = None,
        email: str | None = None,
        object_id: str | None = None,
        account: str | None = None,
    ) -> list[CleverTapEvent]:
        """Events as stored, oldest first."""
        return self._rows(
            account,
            "events",
            event_name=event_name,
            identity=identity,
            email=email,
            objectId=object_id,
        )

    def segments(
        self, *, name: str | None = None, type: str | None = None, account: str | None = None
    ) -> list[CleverTapSegment]:
        """Segments with their members' CleverTap IDs (`type`: `Custom List`,
        `Partner - mParticle`)."""
        return self._rows(account, "segments", name=name, type=type)

    def segment(self, name: str, *, account: str | None = None) -> CleverTapSegment:
        """The one segment named `name`."""
        found = [s for s in self.segments(name=name, account=account) if s.get("name") == name]
        return _one(found, f"segments named {name!r}")

    def segment_members(self, name: str, *, account: str | None = None) -> list[CleverTapProfile]:
        """The profiles of the segment named `name`, in the segment's order."""
        members = self.segment(name, account=account).get("members", [])
        return [self.profile(object_id=guid, account=account) for guid in members]

    def campaigns(
        self, *, name: str | None = None, status: str | None = None, account: str | None = None
    ) -> list[CleverTapCampaign]:
        """Captured campaigns (never sent) with their status, estimates and resolved audience."""
        return self._rows(account, "campaigns", name=name, status=status)


class MParticleViews:
    """One mParticle workspace's stored state (`/_emulator/mparticle/{workspace}/...`);
    `workspace` defaults to the client's (the emulator's default workspace, `1000`)."""

    def __init__(self, client: EmulatorClient) -> None:
        self._client = client

    def _rows(self, workspace: str | None, view: str, **filters: Any) -> list[Any]:
        return self._client.rows(
            f"/mparticle/{workspace or self._client.workspace}/{view}", view, **filters
        )

    def users(
        self,
        *,
        mpid: str | int | None = None,
        identity: str | None = None,
        workspace: str | None = None,
    ) -> list[MParticleUser]:
        """Users (`identity`: any identity value: customer id, email, device id, ...)."""
        return self._rows(workspace, "users", mpid=mpid, identity=identity)

    def user(
        self,
        mpid: str | int | None = None,
        *,
        identity: str | None = None,
        workspace: str | None = None,
    ) -> MParticleUser:
        """The one user with this MPID or identity value."""
        found = self.users(mpid=mpid, identity=identity, workspace=workspace)
        return _one(found, f"users match mpid={mpid!r} identity={identity!r}")

    def batches(self, *, workspace: str | None = None) -> list[StoredBatch]:
        """Batches the workspace accepted, as received and as resolved, oldest first."""
        return self._rows(workspace, "batches")

    def audiences(self, *, workspace: str | None = None) -> list[Audience]:
        """Audiences with their criteria and members' MPIDs."""
        return self._rows(workspace, "audiences")

    def audience(self, name: str, *, workspace: str | None = None) -> Audience:
        """The one audience named `name`."""
        found = [a for a in self.audiences(workspace=workspace) if a.get("name") == name]
        return _one(found, f"audiences named {name!r}")

    def define_audience(
        self, name: str, criteria: dict[str, Any], *, workspace: str | None = None, **extra: Any
    ) -> Audience:
        """Define an audience (docs/mparticle-behaviour.md has the criteria language)."""
        return cast(
            Audience,
            self._client.call(
                "POST",
                f"/mparticle/{workspace or self._client.workspace}/audiences",
                json={"name": name, "criteria": criteria, **extra},
            ),
        )

    def memberships(
        self,
        *,
        audience_id: int | None = None,
        mpid: str | int | None = None,
        workspace: str | None = None,
    ) -> list[Membership]:
        """Audience membership changes (add, delete), oldest first, each with its reason."""
        return self._rows(workspace, "memberships", audience_id=audience_id, mpid=mpid)
