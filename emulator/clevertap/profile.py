"""A CleverTap profile: its identifiers, properties, event summary and push tokens, and the
shapes the API, the control API and the state document show it in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.clevertap.records import platform_of


@dataclass(slots=True)
class Profile:
    pid: int
    object_ids: list[str]
    identities: list[str] = field(default_factory=list)
    fbid: str | None = None
    gpid: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # event name -> [count, first_seen, last_seen]
    events: dict[str, list[int]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # objectId -> token
    created: int = 0
    updated: int = 0

    @property
    def guid(self) -> str:
        return self.object_ids[0]

    def platform_info(self) -> list[dict[str, Any]]:
        info = []
        for object_id in self.object_ids:
            entry: dict[str, Any] = {"platform": platform_of(object_id), "objectId": object_id}
            token = self.tokens.get(object_id)
            if token is not None:
                entry["push_token"] = token["id"]
                entry["push_token_type"] = token["type"]
            info.append(entry)
        return info

    def record(self, *, events: bool = True) -> dict[str, Any]:
        """The profile as `profile.json` and profile downloads answer it."""
        out: dict[str, Any] = {}
        if self.identities:
            out["identity"] = self.identities[0]
        if "Email" in self.data:
            out["email"] = self.data["Email"]
        if "Phone" in self.data:
            out["phone"] = self.data["Phone"]
        if "Name" in self.data:
            out["name"] = self.data["Name"]
        out["profileData"] = dict(self.data)
        if events:
            out["events"] = {
                name: {"count": c, "first_seen": first, "last_seen": last}
                for name, (c, first, last) in self.events.items()
            }
        out["platformInfo"] = self.platform_info()
        out["identities"] = list(self.identities)
        return out

    def view(self) -> dict[str, Any]:
        """The control API's row: every identifier and the identity graph's view of it."""
        return {
            "objectId": self.guid,
            "objectIds": list(self.object_ids),
            "identities": list(self.identities),
            "email": self.data.get("Email"),
            "phone": self.data.get("Phone"),
            "FBID": self.fbid,
            "GPID": self.gpid,
            "profileData": dict(self.data),
            "events": {
                name: {"count": c, "first_seen": first, "last_seen": last}
                for name, (c, first, last) in self.events.items()
            },
            "tokens": [{"objectId": k, **v} for k, v in self.tokens.items()],
            "created": self.created,
            "updated": self.updated,
        }

    def export(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "object_ids": self.object_ids,
            "identities": self.identities,
            "fbid": self.fbid,
            "gpid": self.gpid,
            "data": self.data,
            "events": self.events,
            "tokens": self.tokens,
            "created": self.created,
            "updated": self.updated,
        }
