"""mParticle's side of the audience output: Firehose audience messages (reference §4.1).

Pure functions: the audience flow turns an audience defined or removed into an
`audience_subscription_request`, and a run of membership changes into one
`audience_membership_change_request` with a profile per user.
"""

from __future__ import annotations

from typing import Any

from emulator.bridge.mapping import USER_ID_SOURCES

FIREHOSE_VERSION = "3.2.0"
# Events API identity names → Firehose user identity types.
USER_IDENTITY_TYPES = {
    "customer_id": "customer",
    "email": "email",
    "other": "other",
    **{f"other_id_{n}": f"other{n}" for n in range(2, 11)},
    "mobile_number": "mobile_number",
    "phone_number_2": "phone_number_2",
    "phone_number_3": "phone_number_3",
    "facebook": "facebook",
    "google": "google",
    "microsoft": "microsoft",
    "twitter": "twitter",
    "yahoo": "yahoo",
}
DEVICE_IDENTITY_TYPES = {
    "android_uuid": "android_id",
    "android_aaid": "google_advertising_id",
    "ios_idfa": "ios_advertising_id",
    "ios_idfv": "ios_vendor_id",
    "push_token": "google_cloud_messaging_token",
    "roku_aid": "roku_advertising_id",
    "roku_publisher_id": "roku_publisher_id",
    "fire_aid": "fire_advertising_id",
}


def envelope(kind: str, message_id: str, now_ms: int, account_id: int) -> dict[str, Any]:
    return {
        "type": kind,
        "id": message_id,
        "timestamp_ms": now_ms,
        "firehose_version": FIREHOSE_VERSION,
        "account": {"account_id": account_id, "account_settings": {}},
    }


def subscription(
    message_id: str, now_ms: int, account_id: int, action: str, audience: dict[str, Any]
) -> dict[str, Any]:
    """`action` is the workspace's: `add` (audience defined) or `remove` (deleted)."""
    return {
        **envelope("audience_subscription_request", message_id, now_ms, account_id),
        "audience_id": audience["id"],
        "audience_name": audience["name"],
        "audience_subscription_settings": {},
        "action": action,
    }


def user_profile(
    mpid: int, identities: dict[str, str], partner: dict[str, str], user_id: str = "customerId"
) -> dict[str, Any]:
    """A user as the message carries it (its audiences are added as changes arrive). The User ID
    picks the identity sent as `customer`, the one CleverTap maps to Identity
    (https://docs.clevertap.com/docs/mparticle-import-audience, User Identity Management)."""
    # The same identity the event output uses; None (MPID): no `customer`, so CleverTap falls
    # back to the MPID.
    chosen = USER_ID_SOURCES[user_id]
    customer = identities.get(chosen) if chosen is not None else None
    users = [{"type": "customer", "encoding": "raw", "value": customer}] if customer else []
    return {
        "mpid": str(mpid),
        "user_identities": users
        + [
            {"type": USER_IDENTITY_TYPES[k], "encoding": "raw", "value": v}
            for k, v in identities.items()
            if k in USER_IDENTITY_TYPES and k != "customer_id"
        ],
        "device_identities": [
            {"type": DEVICE_IDENTITY_TYPES[k], "encoding": "raw", "value": v}
            for k, v in identities.items()
            if k in DEVICE_IDENTITY_TYPES
        ],
        "partner_identities": [
            {"type": k, "encoding": "raw", "value": v} for k, v in partner.items()
        ],
        "audiences": [],
    }


def membership(
    message_id: str, now_ms: int, account_id: int, profiles: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        **envelope("audience_membership_change_request", message_id, now_ms, account_id),
        "user_profiles": profiles,
    }
