"""mParticle → CleverTap forwarding of what the real `@mparticle/web-sdk` sends from Chromium.

The browser side (tests/clients/web/driver.mjs, the page, the `browser` and `mp_views` fixtures) is
the one tests/clients/test_mparticle_web_sdk.py uses; this file only adds the CleverTap side: with
the connection's Forward Web Requests Server Side on (the default) the web batches are forwarded
like any other; with it off, the CleverTap web kit would send them from the page, so the emulator
records each web batch as a `skipped` delivery with that reason and CleverTap gets nothing.

Needs what the Web SDK test needs (Debian's chromium, node, `npm ci`); nothing here skips.
"""

from __future__ import annotations

from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.clients import test_mparticle_web_sdk as web
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import BRIDGE_AGENT, batch
from tests.drivers.defaults import S2S
from tests.drivers.mparticle import custom_event

# The Web SDK test's fixtures, used here under the same names.
tls_pair = web.tls_pair
browser = web.browser
mp_views = web.mp_views
Browser = web.Browser
Emulator = web.Emulator

KIT_REASON = "web data with Forward Web Requests Server Side off: the kit sends it"


def plain_http_config(emulator: EmulatorHandle, email: str, **identities: str) -> dict[str, Any]:
    """The README's recipe (as in the Web SDK test): plain HTTP on the emulator's port, no config
    fetch, every event sent at once."""
    host = emulator.url.split("://", 1)[1].rstrip("/")
    return {
        "isDevelopmentMode": True,
        "logLevel": "verbose",
        "forceHttps": False,
        "requestConfig": False,
        "v3SecureServiceUrl": f"{host}/v3/JS/",
        "identityUrl": f"{host}/v1/",
        "flags": {"eventBatchingIntervalMillis": "0"},
        "identifyRequest": {"userIdentities": {"email": email, **identities}},
    }


def log_shopping(browser: Browser, mp_views: Emulator, mpid: str, transaction: str) -> None:
    """A custom event, a page view and a purchase, each seen stored on the mParticle side."""
    browser.eval(
        "mParticle.logEvent('Clicked', mParticle.EventType.Navigation, {btn: 'home', n: 3})"
    )
    mp_views.until("Clicked stored", lambda: mp_views.event_count(mpid, "Clicked") == 1)
    browser.eval("mParticle.logPageView('Home Page', {path: '/home'})")
    mp_views.until("the page view stored", lambda: mp_views.event_count(mpid, "Home Page") == 1)
    browser.call("emu.purchase", transaction)
    mp_views.until(
        "the purchase stored", lambda: mp_views.event_count(mpid, "commerce:purchase") == 1
    )


def test_web_sdk_batches_reach_clevertap_server_side(
    emulator: EmulatorHandle,
    browser: Browser,
    mp_views: Emulator,
    ct: CleverTapDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    key = mp_views.key
    result = browser.call("emu.init", key, plain_http_config(emulator, "ada@example.com"))
    assert result["httpCode"] == 200, result
    mpid = result["user"]["mpid"]
    mp_views.until("session_start stored", lambda: mp_views.event_count(mpid, "session_start") == 1)

    # Before login the user has no customer id: nothing to use as the CleverTap identity.
    browser.eval("mParticle.logEvent('Browsed', mParticle.EventType.Navigation, {page: 1})")
    mp_views.until("Browsed stored", lambda: mp_views.event_count(mpid, "Browsed") == 1)

    login = browser.call(
        "emu.identity", "login", {"email": "ada@example.com", "customerid": "cust-web"}
    )
    assert login["httpCode"] == 200 and login["user"]["mpid"] == mpid, login
    mp_views.identity_change_stored(mpid, "customer_id")
    log_shopping(browser, mp_views, mpid, "T-W1")
    # A session end after login: a kit-only event type, listed as skipped on its delivery.
    browser.eval("mParticle.endSession()")
    mp_views.until("session_end stored", lambda: mp_views.event_count(mpid, "session_end") == 1)
    views.settle()

    record = ct.find_profile(identity="cust-web")
    assert record is not None, (
        f"no CleverTap profile for the customer id\n{bridge.deliveries()}\n{browser.diagnostics()}"
    )
    assert record["email"] == "ada@example.com"
    assert record["profileData"]["Email"] == "ada@example.com"
    counts = {name: v["count"] for name, v in record["events"].items()}
    assert counts["Clicked"] == 1 and counts["Home Page"] == 1 and counts["Charged"] == 1, counts
    assert "Browsed" not in counts  # sent before login, without a customer id
    assert not {"session_start", "session_end", "application_state_transition"} & set(counts)

    seen = {e["evtName"]: e for e in views.ct_events() if e["identity"] == "cust-web"}
    assert seen["Clicked"]["evtData"] == {"btn": "home", "n": 3}
    assert seen["Home Page"]["evtData"] == {"path": "/home"}
    charged = seen["Charged"]["evtData"]
    assert (charged["Charged ID"], charged["Transaction Id"]) == ("T-W1", "T-W1"), charged
    assert (charged["Amount"], charged["Total Amount"]) == (7.0, 7.0), charged
    assert (charged["Affiliation"], charged["Tax Amount"]) == ("emu-store", 0.5), charged
    (item,) = charged["Items"]
    assert {k: item[k] for k in ("Id", "Name", "Item Price", "Quantity")} == {
        "Id": "sku-espresso",
        "Name": "Double Espresso",
        "Item Price": 3.5,
        "Quantity": 2,
    }, item

    rows = bridge.deliveries()
    assert rows and all(r["source"]["input"] == key for r in rows), rows
    assert {r["source"]["mpid"] for r in rows} == {mpid}
    assert all(r["status"] in ("delivered", "skipped") for r in rows), rows
    reasons = [s["reason"] for r in rows if r["status"] == "skipped" for s in r["skipped"]]
    assert any("customerId" in reason for reason in reasons), reasons
    kit_only = [s for r in rows for s in r["skipped"] if s["event_type"] == "session_end"]
    assert kit_only and all("kit-only" in s["reason"] for s in kit_only), kit_only
    assert bridge.uploads(), "no /1/upload reached CleverTap"
    assert all(e["status"] == 200 for e in bridge.uploads())
    assert all(e["headers"]["user-agent"] == BRIDGE_AGENT for e in bridge.uploads())
    mp_views.assert_browser_calls_succeeded()


def test_web_sdk_batches_are_left_to_the_kit_when_server_side_is_off(
    emulator: EmulatorHandle,
    browser: Browser,
    mp_views: Emulator,
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    views.configure(event_output={"forward_web_server_side": False})
    key = mp_views.key
    config = plain_http_config(emulator, "kit@example.com", customerid="cust-kit")
    result = browser.call("emu.init", key, config)
    assert result["httpCode"] == 200, result
    mpid = result["user"]["mpid"]
    mp_views.until("session_start stored", lambda: mp_views.event_count(mpid, "session_start") == 1)
    log_shopping(browser, mp_views, mpid, "T-K1")
    views.settle()

    web_batches = [b for b in mp_views.batches() if b["input"] == key]
    rows = bridge.deliveries()
    assert len(rows) == len(web_batches) >= 3, (len(rows), len(web_batches))
    for row in rows:
        assert row["status"] == "skipped", row
        assert row["source"] == {"workspace": "1000", "input": key, "mpid": mpid}, row
        assert row["skipped"] == [{"event": None, "event_type": None, "reason": KIT_REASON}]
        assert "request" not in row
    assert bridge.uploads() == []
    assert views.ct_profiles() == [] and views.ct_events() == []

    # The setting is for web data only: the same user's server-to-server batch still goes.
    mp.send(batch(custom_event("Server"), customer_id="cust-kit"))
    views.settle()
    record = ct.find_profile(identity="cust-kit")
    assert record is not None and set(record["events"]) == {"Server"}
    last = bridge.deliveries()[-1]
    assert last["status"] == "delivered" and last["source"]["input"] == S2S[0], last
    mp_views.assert_browser_calls_succeeded()
