"""One CleverTap account's data: profiles, their identifiers, events, merges, segments, campaigns.

Plain Python state, no HTTP (moto's split of `models` from `responses`). A profile has an internal
number (`pid`) that never changes; CleverTap IDs, identities and other identifiers index it.
Events keep the pid they were raised on; a merge leaves an alias from the absorbed pid to the
survivor, so events follow the profile they now belong to without being rewritten (the
profile is profile.py, the event columns eventlog.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from emulator.clevertap.eventlog import Events
from emulator.clevertap.profile import Profile
from emulator.clevertap.profile_ops import Trimmed, first_out, operate, room
from emulator.clevertap.records import Accepted
from emulator.clevertap.values import MAX_MULTI_VALUES, Rejected

MAX_EVENT_NAMES = 512
LiveHook = Callable[["Account", Profile, str, int, dict[str, Any]], None]
MAX_PROFILE_PROPERTIES = 256
# Profile properties that are identifiers rather than data.
IDENTITY_KEYS = ("identity", "Identity")


class Account:
    """The data of one CleverTap account."""

    def __init__(
        self,
        new_guid: Callable[[], str],
        clock: Callable[[], float],
        on_live_event: LiveHook | None = None,
    ) -> None:
        self._new_guid = new_guid
        self._clock = clock
        # Called for each stored event while a live campaign or a journey runs (clevertap/live.py,
        # journeys.py).
        self._on_live_event = on_live_event
        self.next_pid = 1
        self.profiles: dict[int, Profile] = {}
        self.by_object: dict[str, int] = {}
        self.by_identity: dict[str, int] = {}
        self.by_fbid: dict[str, int] = {}
        self.by_gpid: dict[str, int] = {}
        self._indexes = {
            "identity": self.by_identity,
            "objectId": self.by_object,
            "FBID": self.by_fbid,
            "GPID": self.by_gpid,
        }
        self.alias: dict[int, int] = {}  # absorbed pid -> pid it merged into
        self.events = Events()
        self.event_names: dict[str, int] = {}
        self.merges: list[dict[str, Any]] = []
        self.segments: list[dict[str, Any]] = []
        self.campaigns: list[dict[str, Any]] = []
        self.live: list[dict[str, Any]] = []  # the campaigns waiting for a trigger event
        self.exports: list[dict[str, Any]] = []  # mParticle exports (clevertap/exports.py)
        self.sends: list[dict[str, Any]] = []  # sends to user ids (clevertap/sends.py)
        self.journeys: list[dict[str, Any]] = []  # journeys (clevertap/journeys.py)

    def empty(self) -> bool:
        """Nothing stored yet (a read made the account): left out of state exports."""
        return not (
            self.profiles
            or self.events.pids
            or self.merges
            or self.segments
            or self.campaigns
            or self.exports
            or self.sends
            or self.journeys
        )

    def clock(self) -> float:
        return self._clock()

    def next_segment_id(self) -> int:
        highest: int = max([0, *(seg["id"] for seg in self.segments)])
        return highest + 1

    # -- lookups ---------------------------------------------------------------------------
    def resolve(self, pid: int) -> Profile | None:
        """The live profile a pid now belongs to (following merges), or None if deleted."""
        while pid not in self.profiles:
            nxt = self.alias.get(pid)
            if nxt is None:
                return None
            pid = nxt
        return self.profiles[pid]

    def find(self, key: str, value: str) -> Profile | None:
        """The profile an identifier names; for an email or phone (which several profiles may
        share), the one updated last."""
        if key in ("email", "phone"):
            found = self.with_contact(key, value, identities=False)
            return max(found, key=lambda p: p.updated) if found else None
        pid = self._indexes[key].get(value)
        return None if pid is None else self.profiles.get(pid)

    def find_first(self, key: str, values: list[str]) -> Profile | None:
        """A profile by the first of `values` that names one; an email may also be an
        identity."""
        for value in dict.fromkeys(values):
            found = self.find(key, value)
            if found is None and key == "email":
                found = self.find("identity", value)
            if found is not None:
                return found
        return None

    def find_all(self, key: str, value: str) -> list[Profile]:
        if key in ("email", "phone"):
            return self.with_contact(key, value, identities=False)
        found = self.find(key, value)
        return [] if found is None else [found]

    # -- upload ----------------------------------------------------------------------------
    def check_event_name(self, name: str, dry_names: set[str] | None = None) -> None:
        """512 for an event name beyond the account's 512; `dry_names` are the new names a dry
        run has seen so far (it stores none)."""
        if name in self.event_names or (dry_names is not None and name in dry_names):
            return
        if len(self.event_names) + len(dry_names or ()) >= MAX_EVENT_NAMES:
            raise Rejected(
                512, f"Invalid event structure. The account already has {MAX_EVENT_NAMES} events"
            )
        if dry_names is not None:
            dry_names.add(name)

    def apply(
        self, rec: Accepted, now: int, max_properties: int = MAX_PROFILE_PROPERTIES
    ) -> Trimmed:
        """Apply one accepted record: find or create its profile, then the event/profile/token.
        Answers what a limit trimmed: multi-value properties past 100 items, custom properties
        past the profile's `max_properties`."""
        ids = rec.ids
        key, value = ids[0]
        pid = self._indexes[key].get(value)
        profile = None if pid is None else self.profiles.get(pid)
        if profile is None:
            profile = self._create(key, value, now)
        if len(ids) > 1:
            for other_key, other_value in ids[1:]:
                profile = self._attach(
                    profile, other_key, other_value, f"{other_key} {other_value}"
                )
        profile.updated = now
        kind = rec.kind
        trimmed: Trimmed = []
        if kind == "event":
            self._event(profile, rec.name, rec.ts, rec.data)
        elif kind == "profile":
            self._profile_data(profile, rec.data, trimmed, max_properties)
        else:  # a token, kept under the CleverTap ID it was registered for
            profile.tokens[rec.name] = rec.data
        return trimmed

    def apply_event(
        self, identity: str, ts: int, name: str, data: dict[str, Any], now: int
    ) -> None:
        """`apply` for the commonest record: an event named by an identity alone."""
        pid = self.by_identity.get(identity)
        profile = None if pid is None else self.profiles.get(pid)
        if profile is None:
            profile = self._create("identity", identity, now)
        profile.updated = now
        self._event(profile, name, ts, data)

    def has_room(self, identity: str, data: dict[str, Any], max_properties: int) -> bool:
        """No count can go over `max_properties` when `data` is applied to `identity`'s
        profile (cheap: the keys it has plus the ones sent), so `apply_profile` may take it."""
        pid = self.by_identity.get(identity)
        profile = None if pid is None else self.profiles.get(pid)
        return profile is None or len(profile.data) + len(data) <= max_properties

    def apply_profile(self, identity: str, data: dict[str, Any], now: int) -> None:
        """`apply` for the commonest profile record: plain properties for an identity alone."""
        pid = self.by_identity.get(identity)
        profile = None if pid is None else self.profiles.get(pid)
        if profile is None:
            profile = self._create("identity", identity, now)
        profile.updated = now
        profile.data.update(data)

    def _event(self, profile: Profile, name: str, ts: int, data: dict[str, Any]) -> None:
        names = self.event_names
        names[name] = names.get(name, 0) + 1
        summary = profile.events.get(name)
        if summary is None:
            profile.events[name] = [1, ts, ts]
        else:
            summary[0] += 1
            if ts < summary[1]:
                summary[1] = ts
            if ts > summary[2]:
                summary[2] = ts
        self.events.append(profile.pid, name, ts, data)
        if (self.live or self.journeys) and self._on_live_event is not None:
            self._on_live_event(self, profile, name, ts, data)

    def _create(self, key: str, value: str, now: int) -> Profile:
        pid = self.next_pid
        self.next_pid += 1
        if key == "objectId":
            profile = Profile(pid, [value], created=now, updated=now)
        else:
            profile = Profile(pid, [self._new_guid()], created=now, updated=now)
        self.profiles[pid] = profile
        self.by_object[profile.guid] = pid
        if key == "identity":
            profile.identities.append(value)
            self.by_identity[value] = pid
        elif key == "FBID":
            profile.fbid = value
            self.by_fbid[value] = pid
        elif key == "GPID":
            profile.gpid = value
            self.by_gpid[value] = pid
        return profile

    def _attach(self, profile: Profile, key: str, value: str, reason: str) -> Profile:
        """Add an identifier to `profile`; if another profile holds it, merge them. Answers the
        profile that carries on (for an identity, the one that already had it)."""
        owner = self.find(key, value)
        if owner is profile:
            return profile
        if owner is not None:
            if key == "objectId":
                return self.merge(owner, profile, reason)  # the record's profile survives
            return self.merge(profile, owner, reason)  # the identity's owner survives
        if key == "identity":
            profile.identities.append(value)
            self.by_identity[value] = profile.pid
        elif key == "objectId":
            profile.object_ids.append(value)
            self.by_object[value] = profile.pid
        elif key == "FBID":
            if profile.fbid:
                self.by_fbid.pop(profile.fbid, None)
            profile.fbid = value
            self.by_fbid[value] = profile.pid
        elif key == "GPID":
            if profile.gpid:
                self.by_gpid.pop(profile.gpid, None)
            profile.gpid = value
            self.by_gpid[value] = profile.pid
        return profile

    def _profile_data(
        self,
        profile: Profile,
        data: dict[str, Any],
        trimmed: Trimmed | None = None,
        max_properties: int = MAX_PROFILE_PROPERTIES,
    ) -> Profile:
        named = [data[k] for k in IDENTITY_KEYS if k in data]
        for identity in named:
            profile = self._attach(profile, "identity", identity, f"identity {identity}")
        props = profile.data
        if len(props) + len(data) > max_properties:  # else no count can be over
            data = room(props, data, max_properties, trimmed)
        for key, value in data.items():
            if type(value) is dict:
                ((op, operand),) = value.items()
                operate(props, key, op, operand)
            else:
                props[key] = value
            values = props.get(key)
            if type(values) is list and len(values) > MAX_MULTI_VALUES:
                props[key] = first_out(key, values, trimmed)
        if named:  # identities are identifiers, not properties
            for key in IDENTITY_KEYS:
                props.pop(key, None)
        return profile

    # -- merges ----------------------------------------------------------------------------
    def merge(self, absorbed: Profile, into: Profile, reason: str) -> Profile:
        """Fold `absorbed` into `into`; record the merge; answer `into`."""
        self.merges.append(
            {
                "seq": len(self.merges) + 1,
                "type": "merge",
                "time": self._clock(),
                "into": into.guid,
                "from": absorbed.guid,
                "objectIds": list(absorbed.object_ids),
                "identities": list(absorbed.identities),
                "reason": reason,
            }
        )
        pid = into.pid
        for object_id in absorbed.object_ids:
            into.object_ids.append(object_id)
            self.by_object[object_id] = pid
        for identity in absorbed.identities:
            into.identities.append(identity)
            self.by_identity[identity] = pid
        if absorbed.fbid and not into.fbid:
            into.fbid = absorbed.fbid
            self.by_fbid[absorbed.fbid] = pid
        if absorbed.gpid and not into.gpid:
            into.gpid = absorbed.gpid
            self.by_gpid[absorbed.gpid] = pid
        for key, value in absorbed.data.items():
            into.data.setdefault(key, value)
        for name, (count, first, last) in absorbed.events.items():
            summary = into.events.get(name)
            if summary is None:
                into.events[name] = [count, first, last]
            else:
                summary[0] += count
                summary[1] = min(summary[1], first)
                summary[2] = max(summary[2], last)
        for object_id, token in absorbed.tokens.items():
            into.tokens.setdefault(object_id, token)
        into.created = min(into.created, absorbed.created)
        self.alias[absorbed.pid] = pid
        del self.profiles[absorbed.pid]
        return into

    def demerge(self, identity: str) -> bool:
        """Undo the merge that joined `identity` to other identities: the side that was absorbed
        (its identities and CleverTap IDs) leaves for a new profile, whichever side `identity` was
        on. Without such a merge, `identity` leaves alone with a new CleverTap ID. Events stay
        where they are, as CleverTap warns. False when there is nothing to split."""
        profile = self.find("identity", identity)
        if profile is None or len(profile.identities) < 2:
            return False
        identities, object_ids = [identity], []
        for merge in reversed(self.merges):
            if merge["type"] != "merge" or merge.get("demerged"):
                continue
            absorbed = [i for i in merge["identities"] if i in profile.identities]
            if not absorbed or len(absorbed) == len(profile.identities):
                continue
            if identity in absorbed or merge["into"] in profile.object_ids:
                merge["demerged"] = True
                identities = absorbed
                object_ids = [o for o in merge["objectIds"] if o in profile.object_ids]
                break
        if len(object_ids) >= len(profile.object_ids):
            object_ids = []  # the survivor keeps at least its own CleverTap ID
        now = int(self._clock())
        pid = self.next_pid
        self.next_pid += 1
        split = Profile(pid, object_ids or [self._new_guid()], created=now, updated=now)
        self.profiles[pid] = split
        for object_id in split.object_ids:
            if object_id in profile.object_ids:
                profile.object_ids.remove(object_id)
            self.by_object[object_id] = pid
        for moving in identities:
            profile.identities.remove(moving)
            split.identities.append(moving)
            self.by_identity[moving] = pid
        for object_id in list(profile.tokens):
            if object_id in split.object_ids:
                split.tokens[object_id] = profile.tokens.pop(object_id)
        self.merges.append(
            {
                "seq": len(self.merges) + 1,
                "type": "demerge",
                "time": self._clock(),
                "into": split.guid,
                "from": profile.guid,
                "objectIds": list(split.object_ids),
                "identities": list(identities),
                "reason": f"demerge {identity}",
            }
        )
        return True

    # -- management ------------------------------------------------------------------------
    def delete(self, profile: Profile) -> None:
        pid = profile.pid
        del self.profiles[pid]
        for index in self._all_indexes():
            for key in [k for k, v in index.items() if v == pid]:
                del index[key]
        gone = {pid} | {a for a in self.alias if self.resolve(a) is None}
        self.events = self.events.without(gone)
        for a in list(self.alias):
            if a in gone:
                del self.alias[a]
        self.event_names = {}
        for name in self.events.names():
            self.event_names[name] = self.event_names.get(name, 0) + 1

    def _all_indexes(self) -> tuple[dict[str, int], ...]:
        return (
            self.by_object,
            self.by_identity,
            self.by_fbid,
            self.by_gpid,
        )

    def with_contact(self, kind: str, value: str, *, identities: bool = True) -> list[Profile]:
        """Profiles holding an email (any case) or phone, as a property or (optionally) as an
        identity."""
        found = []
        wanted = value.lower() if kind == "email" else value
        prop = "Email" if kind == "email" else "Phone"
        for profile in self.profiles.values():
            held = profile.data.get(prop)
            if isinstance(held, str) and kind == "email":
                held = held.lower()
            if held == wanted or (identities and value in profile.identities):
                found.append(profile)
        return found

    def disassociate_phone(self, phone: str) -> int:
        """Detach a phone used as identity (or Phone) from its profiles; answers how many."""
        hits = 0
        for profile in self.with_contact("phone", phone):
            if phone in profile.identities:
                profile.identities.remove(phone)
                self.by_identity.pop(phone, None)
            if profile.data.get("Phone") == phone:
                del profile.data["Phone"]
            hits += 1
        return hits

    # -- events ----------------------------------------------------------------------------
    def iter_events(self) -> Iterator[tuple[Profile, str, int, dict[str, Any]]]:
        for pid, name, ts, data in self.events.rows():
            profile = self.resolve(pid)
            if profile is not None:
                yield profile, name, ts, data

    # -- state -----------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        # Sends and journeys only when there are some: documents made before them stay as
        # they were (fixtures/states/seed.json).
        later = {k: v for k, v in (("sends", self.sends), ("journeys", self.journeys)) if v}
        return {
            "next_pid": self.next_pid,
            "profiles": [p.export() for p in self.profiles.values()],
            "alias": [[a, b] for a, b in self.alias.items()],
            "events": self.events.export(),
            "merges": self.merges,
            "segments": self.segments,
            "campaigns": self.campaigns,
            "exports": self.exports,
            **later,
        }

    def load(self, doc: dict[str, Any]) -> None:
        self.next_pid = doc.get("next_pid", 1)
        for row in doc.get("profiles", []):
            profile = Profile(
                row["pid"],
                list(row["object_ids"]),
                list(row.get("identities", [])),
                row.get("fbid"),
                row.get("gpid"),
                dict(row.get("data", {})),
                {k: list(v) for k, v in row.get("events", {}).items()},
                dict(row.get("tokens", {})),
                row.get("created", 0),
                row.get("updated", 0),
            )
            self.profiles[profile.pid] = profile
            for object_id in profile.object_ids:
                self.by_object[object_id] = profile.pid
            for identity in profile.identities:
                self.by_identity[identity] = profile.pid
            if profile.fbid:
                self.by_fbid[profile.fbid] = profile.pid
            if profile.gpid:
                self.by_gpid[profile.gpid] = profile.pid
            self.next_pid = max(self.next_pid, profile.pid + 1)
        self.alias = {int(a): int(b) for a, b in doc.get("alias", [])}
        self.events = Events.load(doc.get("events", []))
        self.event_names = self.events.name_counts()
        self.merges = list(doc.get("merges", []))
        self.segments = list(doc.get("segments", []))
        self.campaigns = list(doc.get("campaigns", []))
        self.live = [c for c in self.campaigns if c.get("live") and not c["stopped"]]
        self.exports = list(doc.get("exports", []))
        self.sends = list(doc.get("sends", []))
        self.journeys = list(doc.get("journeys", []))
