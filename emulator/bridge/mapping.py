"""mParticle → CleverTap event forwarding: what one Events API batch becomes as `/1/upload` records.

Pure functions, no I/O: the events flow (forwarding.py) calls `map_batch` for each accepted batch
and delivers the records. The mapping is the mParticle CleverTap kits' behaviour, normalised
(https://docs.mparticle.com/integrations/clevertap/event/, and the kits' source:
github.com/mparticle-integrations/mparticle-android-integration-clevertap,
github.com/mparticle-integrations/mparticle-apple-integration-clevertap,
github.com/CleverTap/mparticle-web-integration-clevertap): the identity per the connection's User
ID setting; custom events by name with their attributes; screen views by screen name (or a fixed
`Screen View`); purchases as `Charged` with `Items`; other commerce actions, promotions and
impressions expanded into `eCommerce - <action> - Item|Total` events; user attributes and
identities as one profile record; kit-only event types skipped with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The connection's User ID setting → where the CleverTap `identity` comes from.
USER_ID_SOURCES = {
    "customerId": "customer_id",
    "email": "email",
    "other": "other",
    "other2": "other_id_2",
    "other3": "other_id_3",
    "other4": "other_id_4",
    "mpid": None,  # the MPID itself
}
# Sent by the kits on the device, never server side (the kits handle them in the app).
KIT_ONLY = frozenset(
    {
        "application_state_transition",
        "opt_out",
        "push_message",
        "push_registration",
        "session_start",
        "session_end",
    }
)
ITEM_KEYS = (
    ("id", "Id"),
    ("name", "Name"),
    ("brand", "Brand"),
    ("category", "Category"),
    ("variant", "Variant"),
    ("position", "Position"),
    ("price", "Item Price"),
    ("quantity", "Quantity"),
    ("coupon_code", "Coupon Code"),
    ("total_product_amount", "Total Product Amount"),
)
TRANSACTION_KEYS = (
    ("transaction_id", "Transaction Id"),
    ("affiliation", "Affiliation"),
    ("coupon_code", "Coupon Code"),
    ("total_amount", "Total Amount"),
    ("shipping_amount", "Shipping Amount"),
    ("tax_amount", "Tax Amount"),
    ("checkout_step", "Checkout Step"),
    ("checkout_options", "Checkout Options"),
    ("product_list_source", "Product List Source"),
    ("product_action_list", "Product Action List"),
)
PROMOTION_KEYS = (
    ("id", "Id"),
    ("name", "Name"),
    ("creative", "Creative"),
    ("position", "Position"),
)
IDENTITY_FIELDS = (
    ("email", "Email"),
    ("mobile_number", "Phone"),
    ("facebook", "FBID"),
    ("google", "GPID"),
)
# Device identities → the CleverTap ID (`objectId`) CleverTap's own SDKs give that device: Android
# `__g` + the Google Advertising ID (github.com/CleverTap/clevertap-android-sdk, DeviceInfo
# `GUID_PREFIX_GOOGLE_AD_ID`), iOS `-g` + IDFA and `-v` + IDFV (github.com/CleverTap/
# clevertap-ios-sdk, CTDeviceInfo), dashes removed. Android ID has no CleverTap prefix of its own:
# `__` (the Android SDK's prefix for an id not made from the ad id) + the Android ID is the
# emulator's choice. First found wins: one batch comes from one device.
DEVICE_CLEVERTAP_IDS = (
    ("android_advertising_id", "__g"),
    ("ios_advertising_id", "-g"),
    ("ios_idfv", "-v"),
    ("android_uuid", "__"),
)
_FOLDED = ("user_attribute_change", "user_identity_change")
_OBJECT_ID = re.compile(r"[A-Za-z0-9()!:@$_-]{1,64}\Z")  # CleverTap's objectId rule
GENDERS = {"m": "M", "male": "M", "f": "F", "female": "F", "o": "O", "other": "O", "u": "U"}


@dataclass(slots=True)
class Settings:
    """The connection settings the mapping reads."""

    user_id: str = "customerId"
    screen_view: str = "name"  # "name": event named after the screen; "fixed": `Screen View`
    # A user with no identity for the User ID but a device id: "skip", or "clevertap_id" (the
    # batch is forwarded under the device's CleverTap ID).
    device_only_user: str = "skip"


@dataclass(slots=True)
class Forwarding:
    records: list[dict[str, Any]] = field(default_factory=list)
    # What was not forwarded, and why: {"event": index or None, "event_type", "reason"}.
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # Where each record came from, in step with `records`: the event's index in the batch,
    # `"profile"` (the batch's user attributes and identities, with its change events) or
    # `"device"` (the device joining the user's profile). The inspector shows the mapping so.
    sources: list[int | str] = field(default_factory=list)
    # The change events folded into the profile record (their indexes).
    folded: list[int] = field(default_factory=list)


def identity_of(
    batch: dict[str, Any], mpid: int, settings: Settings, profile: dict[str, str] | None = None
) -> str | None:
    """The CleverTap identity for the User ID setting: the batch's own identity, else the user
    profile's (mParticle enriches a batch from the profile before an output gets it:
    https://docs.mparticle.com/guides/platform-guide/profiles/, Profile Enrichment)."""
    if settings.user_id not in USER_ID_SOURCES:
        raise ValueError(f"unknown User ID setting {settings.user_id!r}")
    source = USER_ID_SOURCES[settings.user_id]
    if source is None:
        return str(mpid)
    identities = batch.get("user_identities") or {}
    value = identities.get(source)
    if value is None and source == "customer_id":
        value = identities.get("customerid")
    if not (isinstance(value, str) and value) and profile:
        value = profile.get(source)
    return value if isinstance(value, str) and value else None


def map_batch(
    batch: dict[str, Any],
    mpid: int,
    settings: Settings,
    received_ms: int,
    profile: dict[str, str] | None = None,
) -> Forwarding:
    """The upload records one accepted (resolved) batch becomes, and what was skipped.
    `profile` is the user's identities after the batch (enrichment)."""
    out = Forwarding()
    identity = identity_of(batch, mpid, settings, profile)
    device = clevertap_id(batch)
    if identity is None and (device is None or settings.device_only_user != "clevertap_id"):
        out.skipped.append(
            {
                "event": None,
                "event_type": None,
                "reason": f"the batch has no {settings.user_id} to use as the CleverTap identity",
            }
        )
        return out
    base = {"identity": identity} if identity is not None else {"objectId": str(device)}
    batch_ts = _seconds(batch.get("timestamp_unixtime_ms"), received_ms)
    # The batch's attributes with its change events applied in order, mapped once at the end:
    # a `$lastname` change next to `$firstname` keeps the full Name.
    changes = _Changes(
        dict(batch.get("user_attributes") or {}), list(batch.get("deleted_user_attributes") or ())
    )
    records, sources = out.records, out.sources
    for index, event in enumerate(batch.get("events") or ()):
        kind = event.get("event_type") if isinstance(event, dict) else None
        before = len(records)
        try:
            reason = _map_event(event, kind, base, settings, received_ms, out, changes)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # A shape the contract let through but the mapping cannot read: the batch stays
            # accepted and the rest of it forwarded; the delivery names the event and why.
            reason = f"not mapped: {type(exc).__name__}: {exc}"
        if reason is not None:
            out.skipped.append({"event": index, "event_type": kind, "reason": reason})
        elif kind in _FOLDED:
            out.folded.append(index)
        made = len(records) - before
        if made == 1:
            sources.append(index)
        elif made:
            sources += [index] * made
    profile = _profile_data(changes.attributes, changes.deleted, batch.get("user_identities") or {})
    profile.update(changes.identities)
    if profile:
        out.records.insert(0, {"type": "profile", **base, "ts": batch_ts, "profileData": profile})
        out.sources.insert(0, "profile")
    if identity is not None and device is not None:
        # The device joins the user's profile: one identifier on top (the device's CleverTap
        # ID) and the identity in profileData, the shape CleverTap's upload takes to attach a
        # login identity to a device profile (RudderStack's CleverTap destination sends it).
        link = {"type": "profile", "objectId": device, "ts": batch_ts}
        out.records.insert(0, {**link, "profileData": {"identity": identity}})
        out.sources.insert(0, "device")
    return out


def clevertap_id(batch: dict[str, Any]) -> str | None:
    """The CleverTap ID of the device the batch came from (its `device_info`), or None."""
    info = batch.get("device_info")
    if not isinstance(info, dict):
        return None
    for key, prefix in DEVICE_CLEVERTAP_IDS:
        value = info.get(key)
        if isinstance(value, str) and value:
            candidate = prefix + value.replace("-", "").lower()
            if _OBJECT_ID.match(candidate):
                return candidate
    return None


@dataclass(slots=True)
class _Changes:
    """What a batch's change events do to its attributes and identities, in order."""

    attributes: dict[str, Any]
    deleted: list[str]
    identities: dict[str, str] = field(default_factory=dict)


def _map_event(
    event: Any,
    kind: Any,
    base: dict[str, str],
    settings: Settings,
    received_ms: int,
    out: Forwarding,
    changes: _Changes,
) -> str | None:
    """Map one event into `out.records` (or `changes`); the reason when it is not forwarded."""
    data = event.get("data") or {}
    ms = data.get("timestamp_unixtime_ms")
    ts = (ms if isinstance(ms, int) and ms.__class__ is not bool else received_ms) // 1000
    if kind == "custom_event":
        attrs = data.get("custom_attributes")
        props = dict(attrs) if isinstance(attrs, dict) else {}
        name = data["event_name"]
        out.records.append({"type": "event", **base, "ts": ts, "evtName": name, "evtData": props})
    elif kind == "screen_view":
        if settings.screen_view == "fixed":
            props = {"Screen Name": data["screen_name"], **_attrs(data)}
            out.records.append(_event(base, ts, "Screen View", props))
        else:
            out.records.append(_event(base, ts, data["screen_name"], _attrs(data)))
    elif kind == "commerce_event":
        out.records += [_event(base, ts, name, props) for name, props in _commerce(data)]
    elif kind == "user_attribute_change":
        name = data.get("user_attribute_name")
        if isinstance(name, str):
            if data.get("deleted"):
                changes.attributes.pop(name, None)
                changes.deleted.append(name)
            else:
                changes.attributes[name] = data.get("new")
                changes.deleted = [d for d in changes.deleted if d != name]
    elif kind == "user_identity_change":
        new = data.get("new") or {}
        key = dict(IDENTITY_FIELDS).get(new.get("identity_type", ""))
        if key is not None and isinstance(new.get("identity"), str):
            changes.identities[key] = new["identity"]
    elif kind in KIT_ONLY:
        return "kit-only event type: not forwarded server side"
    else:
        return "event type not forwarded to CleverTap"
    return None


def _seconds(ms: Any, received_ms: int) -> int:
    return (ms if isinstance(ms, int) and not isinstance(ms, bool) else received_ms) // 1000


def _event(base: dict[str, str], ts: int, name: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", **base, "ts": ts, "evtName": name, "evtData": props}


def _attrs(data: dict[str, Any]) -> dict[str, Any]:
    attrs = data.get("custom_attributes")
    return dict(attrs) if isinstance(attrs, dict) else {}


def _pick(source: dict[str, Any], keys: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    get = source.get
    return {to: value for frm, to in keys if (value := get(frm)) is not None}


def _commerce(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Charged for a purchase with products; expansion events for everything else."""
    out: list[tuple[str, dict[str, Any]]] = []
    currency = {"Currency Code": data["currency_code"]} if data.get("currency_code") else {}
    action = data.get("product_action") or {}
    products = action.get("products") or []
    name = action.get("action")
    if name == "purchase" and products:
        details = {**_pick(action, TRANSACTION_KEYS), **currency}
        if action.get("total_amount") is not None:
            details["Amount"] = action["total_amount"]
        if action.get("transaction_id") is not None:
            details["Charged ID"] = action["transaction_id"]
        details["Items"] = [_pick(p, ITEM_KEYS) for p in products]
        out.append(("Charged", details))
    elif name:
        totals = {**_pick(action, TRANSACTION_KEYS), **currency}
        for product in products:
            item = {**_pick(product, ITEM_KEYS), **totals}
            out.append((f"eCommerce - {name} - Item", item))
        if name in ("purchase", "refund"):
            out.append((f"eCommerce - {name} - Total", {**totals, "Product Count": len(products)}))
    promotion = data.get("promotion_action") or {}
    for promo in promotion.get("promotions") or []:
        out.append((f"eCommerce - {promotion.get('action')} - Item", _pick(promo, PROMOTION_KEYS)))
    for impression in data.get("product_impressions") or []:
        listed = impression.get("product_impression_list")
        for product in impression.get("products") or []:
            item = _pick(product, ITEM_KEYS)
            if listed is not None:
                item["Product Impression List"] = listed
            out.append(("eCommerce - Impression - Item", item))
    return out


def _profile_data(
    attributes: dict[str, Any], deleted: list[str], identities: dict[str, Any]
) -> dict[str, Any]:
    """User attributes, deletions and identities as CleverTap profile properties."""
    profile = _attributes(attributes)
    for key in deleted:
        profile[_attribute_key(key)] = {"$delete": True}
    for source, target in IDENTITY_FIELDS:
        value = identities.get(source)
        if isinstance(value, str) and value:
            profile[target] = value
    return profile


def _attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    first, last = attributes.get("$firstname"), attributes.get("$lastname")
    if first or last:
        out["Name"] = " ".join(str(part) for part in (first, last) if part)
    for key, value in attributes.items():
        if key[:1] != "$":  # a custom key, unchanged (`_attribute_key`)
            out[key] = value
            continue
        if key in ("$firstname", "$lastname"):
            continue
        if key == "$gender":
            gender = GENDERS.get(str(value).lower())
            if gender is not None:
                out["Gender"] = gender
            continue
        out[_attribute_key(key)] = value
    return out


def _attribute_key(key: str) -> str:
    """`$mobile` → Phone, another reserved `$x` → `X`; custom keys unchanged."""
    if key == "$mobile":
        return "Phone"
    if key.startswith("$") and len(key) > 1:
        return key[1].upper() + key[2:]
    return key
