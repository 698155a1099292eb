"""mParticle's Profile API: OAuth client-credentials tokens and user profiles by MPID or identity.

Per https://docs.mparticle.com/developers/apis/profile-api/: `POST /oauth/token` answers a
bearer token that lasts 8 hours (on the emulator clock);
`GET /userprofile/v1/{org}/{account}/{workspace}/{mpid}?fields=` and
`POST /userprofile/v1/resolve/{org}/{account}/{workspace}?fields=` answer the profile with the
requested field groups. Identities are listed in the Profile API's own type names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.core.errors import ApiError
from emulator.mparticle.users import DEVICE_IDENTITIES, User

TOKEN_SECONDS = 8 * 3600
FIELDS = (
    "device_identities",
    "user_identities",
    "user_attributes",
    "audience_memberships",
    "attribution",
)
# Device identities under the Profile API's names.
DEVICE_TYPES = {
    "ios_idfa": "ios_advertising_id",
    "ios_idfv": "ios_vendor_id",
    "android_aaid": "google_advertising_id",
    "android_uuid": "android_id",
    "push_token": "push_token",
    "roku_aid": "roku_advertising_id",
    "roku_publisher_id": "roku_publisher_id",
    "fire_aid": "fire_advertising_id",
    "amp_id": "amp_id",
    "device_application_stamp": "device_application_stamp",
}


@dataclass(slots=True)
class Token:
    workspace: str
    expires: float
    client_id: str = ""  # who it was issued to (a data plan's `created_by`)


class ProfileError(ApiError):
    """A Profile API request refused: `code` is the Profile API's (`VALIDATION_ERROR`, ...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message, code=code)


def parse_fields(raw: str | None) -> list[str]:
    if not raw:
        raise ProfileError(400, "VALIDATION_ERROR", f"fields is required: {', '.join(FIELDS)}")
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    if not fields:
        raise ProfileError(400, "VALIDATION_ERROR", f"fields names none of: {', '.join(FIELDS)}")
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        raise ProfileError(400, "VALIDATION_ERROR", f"unknown fields: {', '.join(unknown)}")
    return fields


def profile(user: User, fields: list[str], memberships: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mpid": user.mpid,
        "created_timestamp_ms": int(user.created * 1000),
        "last_stored_timestamp_ms": int(user.updated * 1000),
        "is_opted_out": False,
        "limit_ad_tracking": None,
    }
    if "device_identities" in fields:
        out["device_identities"] = [
            {"type": DEVICE_TYPES.get(k, k), "encoding": "none", "value": v}
            for k, v in user.identities.items()
            if k in DEVICE_IDENTITIES
        ]
    if "user_identities" in fields:
        out["user_identities"] = [
            {"type": k, "encoding": "none", "value": v}
            for k, v in user.identities.items()
            if k not in DEVICE_IDENTITIES
        ]
    if "user_attributes" in fields:
        out["account_userattributes"] = None
        out["user_attributes"] = dict(user.attributes)
    if "audience_memberships" in fields:
        out["audience_memberships"] = memberships
    if "attribution" in fields:
        out["attribution"] = []
    return out
