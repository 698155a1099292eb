"""The mParticle → CleverTap forwarding mapping (emulator/bridge/mapping.py), row by row, and
every record it makes passes CleverTap's own per-record checks (emulator/clevertap/records.py)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.bridge.mapping import Settings, map_batch
from emulator.clevertap.records import Limits, check

MPID = -4242
NOW_MS = 1_800_000_000_000
T1 = 1_799_999_000_123  # ms


def batch(*events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"user_identities": {"customerid": "c1"}, "events": list(events), **extra}


def ev(kind: str, **data: Any) -> dict[str, Any]:
    return {"event_type": kind, "data": {"timestamp_unixtime_ms": T1, **data}}


def forward(b: dict[str, Any], **settings: Any) -> list[dict[str, Any]]:
    records = map_batch(b, MPID, Settings(**settings), NOW_MS).records
    for record in records:  # CleverTap would accept every record the mapping makes
        check(record, NOW_MS // 1000, Limits())
    return records


@pytest.mark.parametrize(
    ("user_id", "identities", "expected"),
    [
        ("customerId", {"customerid": "c1"}, "c1"),
        ("customerId", {"customer_id": "c2"}, "c2"),
        ("mpid", {}, str(MPID)),
        ("email", {"email": "a@b.com"}, "a@b.com"),
        ("other", {"other": "o1"}, "o1"),
        ("other2", {"other_id_2": "o2"}, "o2"),
        ("other3", {"other_id_3": "o3"}, "o3"),
        ("other4", {"other_id_4": "o4"}, "o4"),
    ],
)
def test_each_user_id_option_picks_the_identity(
    user_id: str, identities: dict[str, str], expected: str
) -> None:
    b = {"user_identities": identities, "events": [ev("custom_event", event_name="E")]}
    records = forward(b, user_id=user_id)
    assert records[-1]["evtName"] == "E"
    assert {r["identity"] for r in records} == {expected}


def test_a_batch_without_the_chosen_identity_is_skipped_with_a_reason() -> None:
    out = map_batch(batch(ev("custom_event", event_name="E")), MPID, Settings("email"), NOW_MS)
    assert out.records == []
    assert out.skipped == [
        {
            "event": None,
            "event_type": None,
            "reason": "the batch has no email to use as the CleverTap identity",
        }
    ]


def test_custom_event_is_named_with_its_attributes_and_time_in_seconds() -> None:
    [record] = forward(batch(ev("custom_event", event_name="Played", custom_attributes={"a": 1})))
    assert record == {
        "type": "event",
        "identity": "c1",
        "ts": T1 // 1000,
        "evtName": "Played",
        "evtData": {"a": 1},
    }


def test_an_event_without_time_takes_the_receipt_time() -> None:
    untimed = {"event_type": "custom_event", "data": {"event_name": "E"}}
    [record] = forward(batch(untimed))
    assert record["ts"] == NOW_MS // 1000


@pytest.mark.parametrize(
    ("mode", "name", "props"),
    [("name", "Home", {"k": "v"}), ("fixed", "Screen View", {"Screen Name": "Home", "k": "v"})],
)
def test_screen_view(mode: str, name: str, props: dict[str, Any]) -> None:
    [record] = forward(
        batch(ev("screen_view", screen_name="Home", custom_attributes={"k": "v"})),
        screen_view=mode,
    )
    assert (record["evtName"], record["evtData"]) == (name, props)


def test_purchase_becomes_charged_with_items() -> None:
    action = {
        "action": "purchase",
        "transaction_id": "T-1",
        "total_amount": 19.98,
        "tax_amount": 1.5,
        "products": [
            {
                "id": "sku",
                "name": "Socks",
                "brand": "B",
                "category": "C",
                "variant": "V",
                "price": 9.99,
                "quantity": 2,
                "total_product_amount": 19.98,
            },
        ],
    }
    [record] = forward(batch(ev("commerce_event", product_action=action, currency_code="EUR")))
    assert record["evtName"] == "Charged"
    assert record["evtData"] == {
        "Amount": 19.98,
        "Charged ID": "T-1",
        "Currency Code": "EUR",
        "Transaction Id": "T-1",
        "Total Amount": 19.98,
        "Tax Amount": 1.5,
        "Items": [
            {
                "Id": "sku",
                "Name": "Socks",
                "Brand": "B",
                "Category": "C",
                "Variant": "V",
                "Item Price": 9.99,
                "Quantity": 2,
                "Total Product Amount": 19.98,
            },
        ],
    }


def test_other_actions_promotions_and_impressions_are_expanded() -> None:
    products = [{"id": "a", "price": 1}, {"id": "b", "price": 2}]
    records = forward(
        batch(
            ev("commerce_event", product_action={"action": "add_to_cart", "products": products}),
            ev(
                "commerce_event",
                product_action={
                    "action": "refund",
                    "transaction_id": "T",
                    "products": products[:1],
                },
            ),
            ev(
                "commerce_event",
                promotion_action={"action": "view", "promotions": [{"id": "p", "name": "Sale"}]},
            ),
            ev(
                "commerce_event",
                product_impressions=[{"product_impression_list": "L", "products": products[:1]}],
            ),
            ev(
                "commerce_event",
                product_action={"action": "purchase", "transaction_id": "T2", "total_amount": 5},
            ),
        )
    )
    assert [(r["evtName"], r["evtData"]) for r in records] == [
        ("eCommerce - add_to_cart - Item", {"Id": "a", "Item Price": 1}),
        ("eCommerce - add_to_cart - Item", {"Id": "b", "Item Price": 2}),
        ("eCommerce - refund - Item", {"Id": "a", "Item Price": 1, "Transaction Id": "T"}),
        ("eCommerce - refund - Total", {"Transaction Id": "T", "Product Count": 1}),
        ("eCommerce - view - Item", {"Id": "p", "Name": "Sale"}),
        (
            "eCommerce - Impression - Item",
            {"Id": "a", "Item Price": 1, "Product Impression List": "L"},
        ),
        # a purchase without products: the Total event, as the kits fall back to
        (
            "eCommerce - purchase - Total",
            {"Transaction Id": "T2", "Total Amount": 5, "Product Count": 0},
        ),
    ]


def test_user_attributes_and_identities_become_one_profile_record() -> None:
    b = batch(
        ev("user_attribute_change", user_attribute_name="plan", new="gold"),
        ev("user_attribute_change", user_attribute_name="old", deleted=True),
        ev("user_identity_change", new={"identity_type": "google", "identity": "g1"}, old=None),
        user_attributes={
            "$firstname": "Ada",
            "$lastname": "Lovelace",
            "$gender": "female",
            "$mobile": "+14155550100",
            "$city": "Paris",
            "tier": 3,
        },
        deleted_user_attributes=["$zip"],
        user_identities={
            "customerid": "c1",
            "email": "a@b.com",
            "mobile_number": "+14155550101",
            "facebook": "fb1",
        },
        timestamp_unixtime_ms=T1,
    )
    [record] = forward(b)
    assert record == {
        "type": "profile",
        "identity": "c1",
        "ts": T1 // 1000,
        "profileData": {
            "Name": "Ada Lovelace",
            "Gender": "F",
            "Phone": "+14155550101",  # the identity wins over the $mobile attribute
            "City": "Paris",
            "tier": 3,
            "Zip": {"$delete": True},
            "Email": "a@b.com",
            "FBID": "fb1",
            "plan": "gold",
            "old": {"$delete": True},
            "GPID": "g1",
        },
    }


@pytest.mark.parametrize(
    "kind",
    [
        "application_state_transition",
        "opt_out",
        "push_message",
        "push_registration",
        "session_start",
        "session_end",
    ],
)
def test_kit_only_types_are_skipped_with_that_reason(kind: str) -> None:
    out = map_batch(batch(ev(kind)), MPID, Settings(), NOW_MS)
    assert out.records == []
    assert out.skipped == [
        {"event": 0, "event_type": kind, "reason": "kit-only event type: not forwarded server side"}
    ]


def test_unknown_user_id_setting_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown User ID setting"):
        map_batch(batch(), MPID, Settings("phone"), NOW_MS)


@pytest.mark.parametrize(
    "data",
    [
        {"product_action": {"action": "purchase", "products": ["x"]}},
        {"product_impressions": ["x"]},
        {"promotion_action": {"action": "view", "promotions": [7]}},
    ],
    ids=["product", "impression", "promotion"],
)
def test_an_event_the_mapping_cannot_read_is_skipped_and_the_rest_forwarded(
    data: dict[str, Any],
) -> None:
    # The contract refuses these shapes at the door (400); should one get past it, the batch
    # stays accepted, its other events are forwarded and the delivery says what was not.
    mapped = map_batch(
        batch(ev("commerce_event", **data), ev("custom_event", event_name="Played")),
        MPID,
        Settings(),
        NOW_MS,
    )
    assert [r["evtName"] for r in mapped.records] == ["Played"]
    [skipped] = mapped.skipped
    assert (skipped["event"], skipped["event_type"]) == (0, "commerce_event")
    assert skipped["reason"].startswith("not mapped: AttributeError")
