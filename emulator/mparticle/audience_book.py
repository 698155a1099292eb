"""A workspace's audiences and their members (`AudienceBook`, which `Workspace` is): defining,
connecting and removing audiences, re-evaluating membership when a user's data or the clock
changes, and telling `publish` of each change as a typed event (`AudienceChanged`,
`AudienceConnected`, `MembershipChanged`): the audience output to CleverTap listens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.core.events import Event
from emulator.mparticle import audiences
from emulator.mparticle.events import AudienceChanged, AudienceConnected, MembershipChanged
from emulator.mparticle.users import User


class AudienceBook:
    """The audience half of `Workspace` (emulator/mparticle/models.py), which sets these."""

    id: str
    users: dict[int, User]
    audiences: dict[int, dict[str, Any]]  # id -> {id, name, criteria, created, export, ...}
    members: dict[int, set[int]]  # audience id -> member MPIDs
    membership_changes: list[dict[str, Any]]
    next_audience_id: int
    _touched: set[int]
    _clock: Callable[[], float]
    _publish: Callable[[Event], object]

    def add_audience(
        self,
        name: str,
        criteria: dict[str, Any],
        audience_id: int | None,
        export: str = "recurring",
    ) -> dict[str, Any]:
        audience_id = audience_id or self.next_audience_id
        self.next_audience_id = max(self.next_audience_id, audience_id + 1)
        audience = {
            "id": audience_id,
            "name": name,
            "criteria": criteria,
            "created": self._clock(),
            "export": export,
        }
        self.audiences[audience_id] = audience
        self.members[audience_id] = set()
        self._publish(AudienceChanged(self.id, "add", audience_id, name))
        for user in self.users.values():
            self._evaluate(audience, user, "audience defined")
        return audience

    def remove_audience(self, audience_id: int) -> bool:
        self.members.pop(audience_id, None)
        audience = self.audiences.pop(audience_id, None)
        if audience is not None:
            self._publish(AudienceChanged(self.id, "remove", audience_id, audience["name"]))
        return audience is not None

    def connect_audience(self, audience_id: int, output: str, user_id: str) -> dict[str, Any]:
        """Connect the audience to an output with a User ID (CleverTap's "Import Audience from
        mParticle" steps 2-4, https://docs.clevertap.com/docs/mparticle-import-audience); the
        output is told the members it has now."""
        audience = self.audiences[audience_id]
        audience.setdefault("connections", {})[output] = user_id
        members = tuple(self.users[m] for m in sorted(self.members[audience_id]))
        self._publish(
            AudienceConnected(
                self.id,
                audience_id,
                audience["name"],
                output,
                user_id,
                audience.get("export") == "one_time",
                members,
            )
        )
        return audience

    def touch(self, user: User) -> None:
        """The user's data changed outside a batch (an alias): `settle` re-evaluates them."""
        self._touched.add(user.mpid)

    def settle(self, trigger: str) -> None:
        """Re-evaluate every audience for the users whose data changed (the one a request was
        about, and anyone an identity was taken from)."""
        if not self.audiences:  # nothing to re-evaluate
            self._touched.clear()
            return
        touched, self._touched = self._touched, set()
        for mpid in sorted(touched):
            user = self.users.get(mpid)
            if user is not None:
                for audience in self.audiences.values():
                    self._evaluate(audience, user, trigger)

    def refresh(self, trigger: str = "clock") -> None:
        """Re-evaluate the audiences whose membership the clock alone can change."""
        timed = [a for a in self.audiences.values() if audiences.windowed(a["criteria"])]
        for audience in timed:
            for user in self.users.values():
                self._evaluate(audience, user, trigger)

    def _evaluate(self, audience: dict[str, Any], user: User, trigger: str) -> None:
        now = self._clock()
        inside = audiences.matches(audience["criteria"], user, int(now * 1000))
        members = self.members[audience["id"]]
        if inside == (user.mpid in members):
            return
        if inside:
            members.add(user.mpid)
        else:
            members.discard(user.mpid)
        verb = "now" if inside else "no longer"
        criteria = audience["criteria"]
        # The trigger, the criterion, then what the user's data said (the attribute's value,
        # the event's count and last time) at this moment.
        facts = "; ".join(dict.fromkeys(audiences.evidence(criteria, user, int(now * 1000))))
        change = {
            "audience_id": audience["id"],
            "audience_name": audience["name"],
            "mpid": str(user.mpid),
            "action": "add" if inside else "delete",
            "time": now,
            "reason": f"{trigger}: {verb} {audiences.describe(criteria)} [{facts}]",
        }
        self.membership_changes.append(change)
        self._publish(
            MembershipChanged(
                workspace=self.id,
                audience_id=audience["id"],
                audience_name=audience["name"],
                action="add" if inside else "delete",
                reason=change["reason"],
                one_time=audience.get("export") == "one_time",
                user=user,
                connections=dict(audience.get("connections") or {}),
            )
        )

    def memberships(self, user: User) -> list[dict[str, Any]]:
        return [
            {
                "audience_id": audience_id,
                "audience_name": self.audiences[audience_id]["name"],
                "expiration_timestamp_ms": None,
            }
            for audience_id, members in self.members.items()
            if user.mpid in members
        ]

    def _leave_audiences(self, user: User, reason: str) -> None:
        """The user leaves every audience they are in (an erasure): each output is told."""
        for audience_id, members in self.members.items():
            if user.mpid in members:
                members.discard(user.mpid)
                audience = self.audiences[audience_id]
                self._publish(
                    MembershipChanged(
                        workspace=self.id,
                        audience_id=audience_id,
                        audience_name=audience["name"],
                        action="delete",
                        reason=reason,
                        one_time=audience.get("export") == "one_time",
                        user=user,
                        connections=dict(audience.get("connections") or {}),
                    )
                )
