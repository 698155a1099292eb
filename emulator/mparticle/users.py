"""mParticle users and their identities: the identity types, the clients' spellings of them,
and the `User` record a workspace keeps.

Identities are kept under the Events API's names (`customer_id`, `email`, `other_id_2`, ...) for
user identities and IDSync's names (`ios_idfa`, `device_application_stamp`, ...) for device
identities; `idsync_key` and `batch_identities` translate the clients' spellings (`customerid`,
`other2`, `mp_deviceid`, ...). Plain Python, no HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.core.errors import ApiError

LOGIN_ID = "customer_id"
USER_IDENTITIES = (
    "customer_id",
    "email",
    "other",
    "other_id_2",
    "other_id_3",
    "other_id_4",
    "other_id_5",
    "other_id_6",
    "other_id_7",
    "other_id_8",
    "other_id_9",
    "other_id_10",
    "mobile_number",
    "phone_number_2",
    "phone_number_3",
    "facebook",
    "facebook_custom_audience_id",
    "google",
    "microsoft",
    "twitter",
    "yahoo",
    "alias",
)
DEVICE_IDENTITIES = (
    "ios_idfa",
    "ios_idfv",
    "android_aaid",
    "android_uuid",
    "push_token",
    "roku_aid",
    "roku_publisher_id",
    "fire_aid",
    "amp_id",
    "device_application_stamp",
)
# Look-up order of the default strategy: the highest-priority identifier that matches wins.
PRIORITY = (
    "customer_id",
    "mobile_number",
    "email",
    "other",
    "facebook",
    "google",
    "twitter",
    "microsoft",
    "yahoo",
    "ios_idfa",
    "ios_idfv",
    "android_aaid",
    "android_uuid",
    "roku_aid",
    "roku_publisher_id",
    "fire_aid",
    "amp_id",
    "device_application_stamp",
)
_OTHER_N = re.compile(r"other([2-9]|10)\Z")
_IDSYNC_ALIASES = {
    "customerid": "customer_id",
    "facebookcustomaudienceid": "facebook_custom_audience_id",
}
_USER_IDENTITY_SET = frozenset(USER_IDENTITIES)
# Events API batch fields that carry device identities.
_DEVICE_INFO = {
    "ios_advertising_id": "ios_idfa",
    "ios_idfv": "ios_idfv",
    "android_advertising_id": "android_aaid",
    "android_uuid": "android_uuid",
    "push_token": "push_token",
    "roku_advertising_id": "roku_aid",
    "roku_publisher_id": "roku_publisher_id",
    "fire_advertising_id": "fire_aid",
    "amp_id": "amp_id",
}


def idsync_key(key: str) -> str | None:
    """An IDSync `known_identities` / `identity_type` key under the emulator's name, or None."""
    key = _IDSYNC_ALIASES.get(key, key)
    if match := _OTHER_N.match(key):
        return f"other_id_{match.group(1)}"
    return key if key in USER_IDENTITIES or key in DEVICE_IDENTITIES else None


def batch_identities(batch: dict[str, Any]) -> dict[str, str]:
    """The identities an Events API batch names (user identities, device info, mp_deviceid)."""
    found: dict[str, str] = {}
    for key, value in (batch.get("user_identities") or {}).items():
        name = "customer_id" if key == "customerid" else key
        if name in _USER_IDENTITY_SET and isinstance(value, str) and value:
            found[name] = value
    device = batch.get("device_info")
    if device:  # server-to-server batches seldom carry one
        for key, name in _DEVICE_INFO.items():
            value = device.get(key)
            if isinstance(value, str) and value:
                found[name] = value
    stamp = batch.get("mp_deviceid")
    if isinstance(stamp, str) and stamp:
        found["device_application_stamp"] = stamp
    return found


class IdentityError(ApiError):
    """A request IDSync refuses: `code` is what the Web SDK reads (LOOKUP_ERROR, ...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message, code=code)


@dataclass(slots=True)
class User:
    mpid: int
    identities: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0
    # event name -> [count, first_ms, last_ms]
    events: dict[str, list[int]] = field(default_factory=dict)
    # event name -> every time it happened (ms): audiences count events within a window
    event_times: dict[str, list[int]] = field(default_factory=dict)
    # What happened to this MPID, oldest first: created, identities added/removed, logins.
    history: list[dict[str, Any]] = field(default_factory=list)
    # Partner identities a feed gave (`CleverTap_User_ID`): sent with audience memberships.
    partner_identities: dict[str, str] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return LOGIN_ID in self.identities

    def view(self) -> dict[str, Any]:
        return {
            "mpid": str(self.mpid),
            "user_identities": {k: v for k, v in self.identities.items() if k in USER_IDENTITIES},
            "device_identities": {
                k: v for k, v in self.identities.items() if k in DEVICE_IDENTITIES
            },
            "partner_identities": dict(self.partner_identities),
            "user_attributes": dict(self.attributes),
            "consent_state": dict(self.consent),
            "events": {
                name: {"count": c, "first_ms": first, "last_ms": last}
                for name, (c, first, last) in self.events.items()
            },
            "created": self.created,
            "updated": self.updated,
            "history": list(self.history),
        }

    def export(self) -> dict[str, Any]:
        return {
            "mpid": self.mpid,
            "identities": self.identities,
            "attributes": self.attributes,
            "consent": self.consent,
            "created": self.created,
            "updated": self.updated,
            "events": self.events,
            "event_times": self.event_times,
            "history": self.history,
            "partner_identities": self.partner_identities,
        }


@dataclass(slots=True)
class Resolution:
    """Which user an identity request or a batch resolved to, and how."""

    user: User
    matched: dict[str, str]
    created: bool


def event_name(kind: Any, data: dict[str, Any]) -> str:
    """The name an event is counted under: custom events and screens by their own name, commerce
    events by their action, everything else by its type."""
    if kind == "custom_event" and isinstance(data.get("event_name"), str):
        return str(data["event_name"])
    if kind == "screen_view" and isinstance(data.get("screen_name"), str):
        return str(data["screen_name"])
    if kind == "commerce_event":
        action = (data.get("product_action") or {}).get("action") or (
            data.get("promotion_action") or {}
        ).get("action")
        return f"commerce:{action or 'impression'}"
    return str(kind)


def parse_mpid(value: Any) -> int | None:
    """An MPID sent as a JSON number or a numeric string (the Web SDK), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        mpid = value
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value):
        mpid = int(value)
    else:
        return None
    return mpid if mpid != 0 and -(2**63) <= mpid < 2**63 else None
