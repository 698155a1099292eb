"""One mParticle workspace's state: its users, who holds each identity, the IDSync default
strategy, the batches applied to users, and audiences with their members.

Plain Python state, no HTTP (the identity types and `User` are in `users.py`, the audiences
and their members in `audience_book.py`).

The default IDSync strategy (https://docs.mparticle.com/guides/idsync/default-strategy/):
`customer_id` is the unique login identity; a known identity returns its MPID; a profile holding a
customer id is returned only to a request carrying that customer id; an unknown user gets a new
MPID from the seeded generator; login with an unseen customer id converts the current anonymous
profile (Profile Conversion); logout answers a new anonymous user; `modify` changes the identities
of an existing user and takes a unique identity away from whoever held it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from emulator.core.events import Event
from emulator.mparticle.audience_book import AudienceBook
from emulator.mparticle.users import (
    DEVICE_IDENTITIES,
    LOGIN_ID,
    PRIORITY,
    USER_IDENTITIES,
    IdentityError,
    Resolution,
    User,
    batch_identities,
    event_name,
    idsync_key,
)

IDSYNC_HISTORY = 1000
# Look-up order: PRIORITY's identities by their place, any other after them.
_RANK: dict[str, int] = {key: len(PRIORITY) for key in (*USER_IDENTITIES, *DEVICE_IDENTITIES)}
_RANK.update({key: rank for rank, key in enumerate(PRIORITY)})


def _by_priority(known: dict[str, str]) -> Iterable[str]:
    """`known`'s keys in PRIORITY's order, then the others in their own (a stable sort)."""
    if len(known) < 2:
        return known
    try:
        return sorted(known, key=_RANK.__getitem__)
    except KeyError:  # a key that is no identity type: last, as any other
        return sorted(known, key=lambda key: _RANK.get(key, len(PRIORITY)))


class Workspace(AudienceBook):
    """The users of one mParticle workspace (its audiences: `AudienceBook`)."""

    def __init__(
        self,
        workspace_id: str,
        new_mpid: Callable[[], int],
        clock: Callable[[], float],
        publish: Callable[[Event], object],
    ) -> None:
        self.id = workspace_id
        self._new_mpid = new_mpid
        self._clock = clock
        # Told each audience defined/removed and each membership change.
        self._publish = publish
        self.users: dict[int, User] = {}
        # (identity type, value) -> MPIDs holding it, most recent last (only one for the
        # unique customer id).
        self.index: dict[tuple[str, str], list[int]] = {}
        self.aliases: list[dict[str, Any]] = []  # Web SDK alias requests, as received
        self.audiences: dict[int, dict[str, Any]] = {}  # id -> {id, name, criteria, created}
        self.members: dict[int, set[int]] = {}  # audience id -> member MPIDs
        self.membership_changes: list[dict[str, Any]] = []  # add/delete, time, reason
        self.next_audience_id = 1  # never reused, as a deleted audience's history stays
        # IDSync requests that reached the workspace, oldest first: the action, what it sent,
        # the answer (or the error); the newest IDSYNC_HISTORY only.
        self.idsync: deque[dict[str, Any]] = deque(maxlen=IDSYNC_HISTORY)
        # Users whose data changed since the last `settle` (an identity can move between users).
        self._touched: set[int] = set()

    # -- users -----------------------------------------------------------------------------
    def user(self, mpid: int) -> User | None:
        return self.users.get(mpid)

    def _mint(self, reason: str, mpid: int | None = None) -> User:
        while mpid is None or mpid in self.users:
            mpid = self._new_mpid()
        now = self._clock()
        user = User(mpid, created=now, updated=now)
        user.history.append({"time": now, "change": "created", "reason": reason})
        self.users[mpid] = user
        return user

    def ensure(self, mpid: int, reason: str) -> tuple[User, bool]:
        found = self.users.get(mpid)
        return (found, False) if found is not None else (self._mint(reason, mpid), True)

    def add_identity(self, user: User, key: str, value: str, reason: str) -> None:
        """Give `user` an identity. The unique login id moves from whoever held it (they are
        left without it); any other identity may be shared by several users."""
        if key == LOGIN_ID:
            for holder in list(self.index.get((key, value), ())):
                if holder != user.mpid:
                    self.remove_identity(self.users[holder], key, f"taken by MPID {user.mpid}")
        old = user.identities.get(key)
        self._hold(key, value, user.mpid)  # also: the most recent holder, for look-ups
        self._touched.add(user.mpid)
        if old == value:
            return
        if old is not None:
            self._release(key, old, user.mpid)
        user.identities[key] = value
        user.updated = self._clock()
        user.history.append(
            {
                "time": user.updated,
                "change": "identity",
                "type": key,
                "old": old,
                "new": value,
                "reason": reason,
            }
        )

    def remove_identity(self, user: User, key: str, reason: str) -> None:
        old = user.identities.pop(key, None)
        if old is None:
            return
        self._release(key, old, user.mpid)
        self._touched.add(user.mpid)
        user.updated = self._clock()
        user.history.append(
            {
                "time": user.updated,
                "change": "identity",
                "type": key,
                "old": old,
                "new": None,
                "reason": reason,
            }
        )

    def _hold(self, key: str, value: str, mpid: int) -> None:
        holders = self.index.setdefault((key, value), [])
        if mpid in holders:
            holders.remove(mpid)
        holders.append(mpid)

    def _release(self, key: str, value: str, mpid: int) -> None:
        holders = self.index.get((key, value))
        if holders is not None and mpid in holders:
            holders.remove(mpid)
            if not holders:
                del self.index[(key, value)]

    def holder(self, key: str, value: str) -> User | None:
        """The user who most recently took an identity."""
        holders = self.index.get((key, value))
        return self.users[holders[-1]] if holders else None

    # -- IDSync ----------------------------------------------------------------------------
    def note_idsync(
        self, action: str, request: dict[str, Any], status: int, answer: Any, **extra: Any
    ) -> None:
        """Keep one IDSync request in the workspace's history: its body, the answer's status
        and body (`extra`: `mpid` of a modify, `read_only`)."""
        entry = {"time": self._clock(), "action": action, "request": request}
        self.idsync.append({**entry, **extra, "status": status, "answer": answer})

    def lookup(self, known: dict[str, str]) -> tuple[User | None, dict[str, str]]:
        """The default strategy's look-up: identities in priority order (then the rest), the most
        recent holder first; a known user answers only to its own customer id."""
        for key in _by_priority(known):
            value: str | None = known[key]  # a null from an IDSync body is skipped
            if value is None:
                continue
            for mpid in reversed(self.index.get((key, value), ())):
                user = self.users[mpid]
                if user.known and known.get(LOGIN_ID) != user.identities[LOGIN_ID]:
                    continue  # a known profile answers only to its own login id
                matched = {k: v for k, v in known.items() if user.identities.get(k) == v}
                return user, matched
        return None, {}

    def identify(self, known: dict[str, str], reason: str = "identify") -> Resolution:
        user, matched = self.lookup(known)
        created = user is None
        if user is None:
            user = self._mint(reason)
        self._absorb(user, known, reason)
        return Resolution(user, matched, created)

    def login(self, known: dict[str, str], previous: int | None) -> Resolution:
        user, matched = self.lookup(known)
        if user is not None:
            self._absorb(user, known, "login")
            user.history.append({"time": self._clock(), "change": "login"})
            return Resolution(user, matched, False)
        current = self.users.get(previous) if previous is not None else None
        if current is not None and not current.known and LOGIN_ID in known:
            # Profile Conversion: the anonymous profile becomes the known one, MPID kept.
            self._absorb(current, known, "login")
            current.history.append({"time": self._clock(), "change": "login"})
            return Resolution(current, {}, False)
        return self.identify(known, "login")

    def logout(self, known: dict[str, str]) -> Resolution:
        """A new anonymous user, carrying the device identities of the request."""
        user = self._mint("logout")
        self._absorb(user, {k: v for k, v in known.items() if k in DEVICE_IDENTITIES}, "logout")
        return Resolution(user, {}, True)

    def search(self, known: dict[str, str]) -> Resolution:
        user, matched = self.lookup(known)
        if user is None:
            raise IdentityError(404, "NOT_FOUND_ERROR", "No user matches the known identities.")
        return Resolution(user, matched, False)

    def peek(self, action: str, known: dict[str, str], previous: int | None) -> Resolution:
        """What identify, login or search would answer, with nothing changed (IDSync's
        `read_only`): the look-up's user (login: also the anonymous profile it would convert);
        where the action would create a user, 404 and no MPID minted (documented choice)."""
        user, matched = (None, {}) if action == "logout" else self.lookup(known)
        if user is None and action == "login" and previous is not None:
            current = self.users.get(previous)
            if current is not None and not current.known and LOGIN_ID in known:
                return Resolution(current, {}, False)
        if user is None:
            raise IdentityError(
                404, "NOT_FOUND_ERROR", f"read_only: {action} would create a user; none made."
            )
        return Resolution(user, matched, False)

    def modify(self, mpid: int, changes: Iterable[tuple[str, str | None, str | None]]) -> User:
        user = self.users.get(mpid)
        if user is None:
            raise IdentityError(404, "NOT_FOUND_ERROR", f"MPID {mpid} does not exist.")
        for key, old, new in changes:
            if new is None:
                if old is None or user.identities.get(key) == old:
                    self.remove_identity(user, key, "modify")
            else:
                self.add_identity(user, key, new, "modify")
        return user

    def _absorb(self, user: User, known: dict[str, str], reason: str) -> None:
        for key, value in known.items():
            self.add_identity(user, key, value, reason)

    # -- Events API ------------------------------------------------------------------------
    def resolve_batch(self, batch: dict[str, Any], mpid: int | None) -> Resolution:
        """The user a batch belongs to: its `mpid`, else IDSync's identify over its identities.

        A batch adds identity types the user lacks but never replaces one it has: IDSync owns
        identity changes, and a batch the Web SDK built before a `modify` may arrive after it
        (its explicit `user_identity_change` events still apply)."""
        known = batch_identities(batch)
        if mpid is None:
            user, matched = self.lookup(known)
            if user is None:  # identify, without its look-up again: a new user
                user = self._mint("batch")
                self._absorb(user, known, "batch")
                return Resolution(user, {}, True)
            created = False
        else:
            user, created = self.ensure(mpid, "batch mpid")
            matched = {k: v for k, v in known.items() if user.identities.get(k) == v}
        held = user.identities
        if not held.keys() >= known.keys():  # a type the user lacks (the usual batch: none)
            self._absorb(user, {k: v for k, v in known.items() if k not in held}, "batch")
        return Resolution(user, matched, created)

    def apply_batch(self, user: User, batch: dict[str, Any], received_ms: int) -> int:
        """Attributes, attribute/identity change events and event counts; answers how many events
        were stamped with the receipt time for want of their own."""
        attributes = user.attributes
        given = batch.get("user_attributes")
        if given:
            attributes.update(given)
        for key in batch.get("deleted_user_attributes") or ():
            attributes.pop(key, None)
        if isinstance(batch.get("consent_state"), dict):
            user.consent = batch["consent_state"]
        partner = batch.get("partner_identities")
        if isinstance(partner, dict):  # only a feed's batch has them (the surface checks)
            user.partner_identities.update({k: v for k, v in partner.items() if type(v) is str})
        stamped = 0
        counts, times = user.events, user.event_times
        for event in batch.get("events") or ():
            data = event.get("data")
            if not isinstance(data, dict):
                data = event["data"] = {}
            ts = data.get("timestamp_unixtime_ms")
            if not isinstance(ts, int):
                ts = data["timestamp_unixtime_ms"] = received_ms
                stamped += 1
            kind = event.get("event_type")
            # The name it is counted under (`event_name`), the two plain cases inline.
            counted = (
                data.get("event_name")
                if kind == "custom_event"
                else data.get("screen_name")
                if kind == "screen_view"
                else None
            )
            if kind == "user_attribute_change":
                name = data.get("user_attribute_name")
                if isinstance(name, str):
                    if data.get("deleted"):
                        attributes.pop(name, None)
                    else:
                        attributes[name] = data.get("new")
            elif kind == "user_identity_change":
                new = data.get("new") or {}
                key = idsync_key(str(new.get("identity_type", ""))) or new.get("identity_type")
                if key in USER_IDENTITIES and isinstance(new.get("identity"), str):
                    self.add_identity(user, key, new["identity"], "user_identity_change")
            if type(counted) is not str:
                counted = event_name(kind, data)
            summary = counts.get(counted)
            if summary is None:
                counts[counted] = [1, ts, ts]
            else:
                summary[0] += 1
                if ts < summary[1]:  # min() and max(), without the calls
                    summary[1] = ts
                if ts > summary[2]:
                    summary[2] = ts
            kept = times.get(counted)
            if kept is None:
                times[counted] = [ts]
            else:
                kept.append(ts)
        user.updated = self._clock()
        self._touched.add(user.mpid)
        return stamped

    def forget(self, user: User, reason: str) -> None:
        """Erase a user (a data subject request): the audiences they were in are told of their
        exit first (the outputs remove them), then their identities, history and user go."""
        self._leave_audiences(user, reason)
        for key in list(user.identities):
            self.remove_identity(user, key, reason)
        mpid = str(user.mpid)
        self.membership_changes = [c for c in self.membership_changes if c["mpid"] != mpid]
        self.users.pop(user.mpid, None)
        self._touched.discard(user.mpid)

    # -- state -----------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        return {
            "users": [u.export() for u in self.users.values()],
            "aliases": self.aliases,
            "audiences": list(self.audiences.values()),
            "members": {str(k): sorted(v) for k, v in self.members.items()},
            "membership_changes": self.membership_changes,
            "idsync": list(self.idsync),
            "next_audience_id": self.next_audience_id,
            # Who holds each identity, most recent last: look-ups depend on the order.
            "index": [[k, v, list(m)] for (k, v), m in self.index.items()],
        }

    def load(self, doc: dict[str, Any]) -> None:
        self.aliases = list(doc.get("aliases", []))
        self.audiences = {int(a["id"]): dict(a) for a in doc.get("audiences", [])}
        self.members = {int(k): set(v) for k, v in doc.get("members", {}).items()}
        for audience_id in self.audiences:
            self.members.setdefault(audience_id, set())
        self.membership_changes = list(doc.get("membership_changes", []))
        self.idsync.extend(doc.get("idsync", []))
        self.next_audience_id = int(doc.get("next_audience_id", max([0, *self.audiences]) + 1))
        for row in doc.get("users", []):
            user = User(
                int(row["mpid"]),
                dict(row.get("identities", {})),
                dict(row.get("attributes", {})),
                dict(row.get("consent", {})),
                row.get("created", 0.0),
                row.get("updated", 0.0),
                {k: list(v) for k, v in row.get("events", {}).items()},
                {k: list(v) for k, v in row.get("event_times", {}).items()},
                list(row.get("history", [])),
                dict(row.get("partner_identities", {})),
            )
            self.users[user.mpid] = user
        for key, value, holders in doc.get("index", []):
            self.index[(key, value)] = [int(m) for m in holders if int(m) in self.users]
        for user in self.users.values():  # documents without an index
            for key, value in user.identities.items():
                if user.mpid not in self.index.get((key, value), ()):
                    self._hold(key, value, user.mpid)

    def empty(self) -> bool:
        return not (self.users or self.aliases or self.audiences or self.idsync)
