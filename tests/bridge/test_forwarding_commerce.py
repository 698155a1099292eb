"""mParticle → CleverTap event forwarding of commerce events: a purchase becomes Charged with
its Items; product actions, refunds, promotions and impressions expand into item events.

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and docs/integration-behaviour.md, never
computed with the mapping itself, so a change on either side shows.
"""

from __future__ import annotations

import pytest

from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews
from tests.drivers.bridge import (
    T0_S,
    batch,
    commerce,
    named,
    records,
)

FULL_PRODUCT = {
    "id": "sku-1",
    "name": "Shoe",
    "brand": "Acme",
    "category": "Footwear",
    "variant": "red",
    "position": 3,
    "price": 10.5,
    "quantity": 2,
    "coupon_code": "P10",
    "total_product_amount": 21.0,
    "custom_attributes": {"size": "42"},  # not forwarded: not one of the item keys
}
FULL_ITEM = {
    "Id": "sku-1",
    "Name": "Shoe",
    "Brand": "Acme",
    "Category": "Footwear",
    "Variant": "red",
    "Position": 3,
    "Item Price": 10.5,
    "Quantity": 2,
    "Coupon Code": "P10",
    "Total Product Amount": 21.0,
}
SMALL_PRODUCT = {"id": "sku-2", "name": "Sock", "price": 1.25, "quantity": 1}
SMALL_ITEM = {"Id": "sku-2", "Name": "Sock", "Item Price": 1.25, "Quantity": 1}


def test_purchase_becomes_charged_with_items(
    ct: CleverTapDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    action = {
        "action": "purchase",
        "transaction_id": "T-100",
        "affiliation": "web-store",
        "coupon_code": "SAVE5",
        "total_amount": 24.25,
        "shipping_amount": 3.0,
        "tax_amount": 1.5,
        "products": [FULL_PRODUCT, SMALL_PRODUCT],
    }
    purchase = commerce(
        currency_code="EUR", product_action=action, custom_attributes={"channel": "web"}
    )
    row = bridge.forward(batch(purchase))
    charged = {
        "Transaction Id": "T-100",
        "Affiliation": "web-store",
        "Coupon Code": "SAVE5",
        "Total Amount": 24.25,
        "Shipping Amount": 3.0,
        "Tax Amount": 1.5,
        "Currency Code": "EUR",
        "Amount": 24.25,
        "Charged ID": "T-100",
        "Items": [FULL_ITEM, SMALL_ITEM],
    }
    assert records(row) == [
        {
            "type": "event",
            "identity": "cust-1",
            "ts": T0_S,
            "evtName": "Charged",
            "evtData": charged,
        }
    ]
    assert named(views.ct_events()) == [("Charged", charged)]
    record = ct.find_profile(identity="cust-1")
    assert record is not None and record["events"]["Charged"]["count"] == 1


def test_purchase_without_products_is_a_total_event(
    views: ControlViews, bridge: BridgeDriver
) -> None:
    action = {"action": "purchase", "transaction_id": "T-0", "total_amount": 5.0, "products": []}
    bridge.forward(batch(commerce(product_action=action)))
    assert named(views.ct_events()) == [
        (
            "eCommerce - purchase - Total",
            {"Transaction Id": "T-0", "Total Amount": 5.0, "Product Count": 0},
        )
    ]


@pytest.mark.parametrize(
    "action",
    [
        "add_to_cart",
        "remove_from_cart",
        "checkout",
        "checkout_option",
        "click",
        "view_detail",
        "add_to_wishlist",
        "remove_from_wish_list",
    ],
)
def test_product_action_expands_into_item_events(
    action: str, views: ControlViews, bridge: BridgeDriver
) -> None:
    product_action = {
        "action": action,
        "checkout_step": 2,
        "checkout_options": "express",
        "product_list_source": "search",
        "products": [FULL_PRODUCT, SMALL_PRODUCT],
    }
    bridge.forward(batch(commerce(currency_code="USD", product_action=product_action)))
    totals = {
        "Checkout Step": 2,
        "Checkout Options": "express",
        "Product List Source": "search",
        "Currency Code": "USD",
    }
    assert named(views.ct_events()) == [
        (f"eCommerce - {action} - Item", {**FULL_ITEM, **totals}),
        (f"eCommerce - {action} - Item", {**SMALL_ITEM, **totals}),
    ]  # no Total event: only purchase and refund have one


def test_refund_expands_into_items_and_a_total(views: ControlViews, bridge: BridgeDriver) -> None:
    product_action = {
        "action": "refund",
        "transaction_id": "T-100",
        "total_amount": 24.25,
        "products": [FULL_PRODUCT, SMALL_PRODUCT],
    }
    bridge.forward(batch(commerce(currency_code="EUR", product_action=product_action)))
    totals = {"Transaction Id": "T-100", "Total Amount": 24.25, "Currency Code": "EUR"}
    assert named(views.ct_events()) == [
        ("eCommerce - refund - Item", {**FULL_ITEM, **totals}),
        ("eCommerce - refund - Item", {**SMALL_ITEM, **totals}),
        ("eCommerce - refund - Total", {**totals, "Product Count": 2}),
    ]
    assert "Charged" not in {e["evtName"] for e in views.ct_events()}


@pytest.mark.parametrize("action", ["view", "click"])
def test_promotion_action_expands_per_promotion(
    action: str, views: ControlViews, bridge: BridgeDriver
) -> None:
    promotions = [
        {"id": "promo-1", "name": "Summer", "creative": "banner-a", "position": "top"},
        {"id": "promo-2", "name": "Winter"},
    ]
    promotion_action = {"action": action, "promotions": promotions}
    bridge.forward(batch(commerce(promotion_action=promotion_action)))
    assert named(views.ct_events()) == [
        (
            f"eCommerce - {action} - Item",
            {"Id": "promo-1", "Name": "Summer", "Creative": "banner-a", "Position": "top"},
        ),
        (f"eCommerce - {action} - Item", {"Id": "promo-2", "Name": "Winter"}),
    ]


def test_impressions_expand_per_product(views: ControlViews, bridge: BridgeDriver) -> None:
    impressions = [
        {"product_impression_list": "Search results", "products": [FULL_PRODUCT, SMALL_PRODUCT]},
        {"products": [SMALL_PRODUCT]},
    ]
    bridge.forward(batch(commerce(product_impressions=impressions)))
    assert named(views.ct_events()) == [
        (
            "eCommerce - Impression - Item",
            {**FULL_ITEM, "Product Impression List": "Search results"},
        ),
        (
            "eCommerce - Impression - Item",
            {**SMALL_ITEM, "Product Impression List": "Search results"},
        ),
        ("eCommerce - Impression - Item", SMALL_ITEM),
    ]
