"""Output credentials: the event output and the audience output each carry their own Configuration
Name, Account ID, Passcode, Account Token and Region (mParticle's CleverTap event settings,
https://docs.mparticle.com/integrations/clevertap/event/; CleverTap's audience output setup,
https://docs.clevertap.com/docs/mparticle-import-audience), and deliveries use them: a wrong
passcode or region is CleverTap's 401 in the delivery (not retried: CleverTap answers the same
again), never a silent success. Region picks the Host `{region}.api.clevertap.com`
(https://developer.clevertap.com/docs/common-api-components); left out, each setting is the
connected account's, and an account's region defaults to eu1 ("not applicable for most
accounts").
"""

from __future__ import annotations

from typing import Any

from tests.drivers import BridgeDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import accepted, attempt_statuses, batch
from tests.drivers.clevertap import ct_fail
from tests.drivers.defaults import ACCOUNT, PASSCODE
from tests.drivers.mparticle import custom_event


def failed_with_401(row: dict[str, Any], message: str) -> None:
    assert row["status"] == "failed", row
    assert attempt_statuses(row) == [401], row
    assert row["response"] == {"status": 401, "body": ct_fail(401, message)}, row


def test_a_wrong_event_output_passcode_fails_the_delivery_with_401(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"passcode": "not-the-passcode"})
    mp.send(batch(custom_event("Lost")))
    views.settle()
    failed_with_401(bridge.only_delivery(), "Invalid Credentials")
    assert views.ct_profiles() == []


def test_a_wrong_event_output_region_fails_the_delivery_with_401(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"region": "us1"})  # the account is in eu1
    mp.send(batch(custom_event("Lost")))
    views.settle()
    failed_with_401(bridge.only_delivery(), "Account ID is not valid")
    (entry,) = views.journal(platform="clevertap", path="/1/upload")["requests"]
    assert entry["status"] == 401


def test_the_output_account_id_and_passcode_choose_where_data_lands(
    views: ControlViews, bridge: BridgeDriver
) -> None:
    views.add_tenant({"kind": "clevertap_account", "id": "CT-OTHER", "passcode": "other-pass"})
    views.configure(
        event_output={
            "configuration_name": "CleverTap Other",
            "account_id": "CT-OTHER",
            "passcode": "other-pass",
            "account_token": "other-token",
            "region": "eu1",
        }
    )
    bridge.forward(batch(custom_event("Elsewhere")))
    assert views.ct_profiles() == []
    (profile,) = views.ct_profiles("CT-OTHER")
    assert profile["identities"] == ["cust-1"]


def test_an_account_without_region_is_eu1_and_its_connection_delivers(
    mp: MParticleDriver, views: ControlViews
) -> None:
    tenant = views.add_tenant({"kind": "clevertap_account", "id": "CT-NOREGION", "passcode": "p"})
    assert "region" not in tenant or tenant["region"] == "eu1"
    views.add_tenant(
        {
            "kind": "connection",
            "id": "no-region",
            "workspace": "1000",
            "account": "CT-NOREGION",
            "audience_output": {"enabled": False},
            "feed": {"enabled": False},
        }
    )
    mp.send(batch(custom_event("Here")))
    views.settle()
    (row,) = views.deliveries("no-region", flow="events")
    accepted(row)
    (profile,) = views.ct_profiles("CT-NOREGION")
    assert profile["events"]["Here"]["count"] == 1
    # The same account addressed as us1 is refused.
    views.configure("no-region", event_output={"region": "us1"})
    mp.send(batch(custom_event("There")))
    views.settle()
    failed_with_401(views.deliveries("no-region", flow="events")[-1], "Account ID is not valid")


def test_the_audience_output_uses_its_own_credentials(views: ControlViews) -> None:
    views.configure(event_output={"enabled": False}, audience_output={"passcode": "wrong"})
    views.define_audience("Everyone", {"identity": "customer_id"})
    views.settle()
    (row,) = views.deliveries(flow="audiences")
    failed_with_401(row, "Invalid Credentials")
    # The event output's credentials are its own: the right passcode there still works.
    views.configure(
        event_output={"enabled": True},
        audience_output={"passcode": PASSCODE, "account_id": ACCOUNT},
    )
    views.define_audience("Everyone else", {"identity": "email"})
    views.settle()
    assert views.deliveries(flow="audiences")[-1]["status"] == "delivered"
