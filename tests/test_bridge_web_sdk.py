"""mParticle → CleverTap forwarding of what the real `@mparticle/web-sdk` sends from Chromium.

The browser side (tests/web/driver.mjs, the page, the `browser` and `mp` fixtures) is the one
tests/test_mparticle_web_sdk.py uses; this file only adds the CleverTap side: with the connection's
Forward Web Requests Server Side on (the default) the web batches are forwarded like any other;
with it off, the CleverTap web kit would send them from the page, so the emulator records each web
batch as a `skipped` delivery with that reason and CleverTap gets nothing.

Needs what the Web SDK test needs (Debian's chromium, node, `npm ci`); nothing here skips.
"""

from __future__ import annotations

from typing import Any

import httpx
import test_mparticle_web_sdk as web
from test_bridge_forwarding import (
    BRIDGE_AGENT,
    S2S,
    batch,
    configure,
    ct_events,
    ct_profile,
    ct_profiles,
    custom,
    deliveries,
    settle,
    uploads,
)

from emulator.testing.plugin import EmulatorHandle

# The Web SDK test's fixtures, used here under the same names.
tls_pair = web.tls_pair
browser = web.browser
mp = web.mp
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


def log_shopping(browser: Browser, mp: Emulator, mpid: str, transaction: str) -> None:
    """A custom event, a page view and a purchase, each seen stored on the mParticle side."""
    browser.eval(
        "mParticle.logEvent('Clicked', mParticle.EventType.Navigation, {btn: 'home', n: 3})"
    )
    mp.until("Clicked stored", lambda: mp.event_count(mpid, "Clicked") == 1)
    browser.eval("mParticle.logPageView('Home Page', {path: '/home'})")
    mp.until("the page view stored", lambda: mp.event_count(mpid, "Home Page") == 1)
    browser.call("emu.purchase", transaction)
    mp.until("the purchase stored", lambda: mp.event_count(mpid, "commerce:purchase") == 1)


def test_web_sdk_batches_reach_clevertap_server_side(
    emulator: EmulatorHandle, browser: Browser, mp: Emulator
) -> None:
    key = mp.key
    result = browser.call("emu.init", key, plain_http_config(emulator, "ada@example.com"))
    assert result["httpCode"] == 200, result
    mpid = result["user"]["mpid"]
    mp.until("session_start stored", lambda: mp.event_count(mpid, "session_start") == 1)

    # Before login the user has no customer id: nothing to use as the CleverTap identity.
    browser.eval("mParticle.logEvent('Browsed', mParticle.EventType.Navigation, {page: 1})")
    mp.until("Browsed stored", lambda: mp.event_count(mpid, "Browsed") == 1)

    login = browser.call(
        "emu.identity", "login", {"email": "ada@example.com", "customerid": "cust-web"}
    )
    assert login["httpCode"] == 200 and login["user"]["mpid"] == mpid, login
    mp.identity_change_stored(mpid, "customer_id")
    log_shopping(browser, mp, mpid, "T-W1")
    # A session end after login: a kit-only event type, listed as skipped on its delivery.
    browser.eval("mParticle.endSession()")
    mp.until("session_end stored", lambda: mp.event_count(mpid, "session_end") == 1)
    settle(emulator)

    with httpx.Client(base_url=emulator.url, timeout=30) as http:
        record = ct_profile(http, "cust-web")
    assert record is not None, (
        f"no CleverTap profile for the customer id\n{deliveries(emulator)}\n{browser.diagnostics()}"
    )
    assert record["email"] == "ada@example.com"
    assert record["profileData"]["Email"] == "ada@example.com"
    counts = {name: v["count"] for name, v in record["events"].items()}
    assert counts["Clicked"] == 1 and counts["Home Page"] == 1 and counts["Charged"] == 1, counts
    assert "Browsed" not in counts  # sent before login, without a customer id
    assert not {"session_start", "session_end", "application_state_transition"} & set(counts)

    seen = {e["evtName"]: e for e in ct_events(emulator) if e["identity"] == "cust-web"}
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

    rows = deliveries(emulator)
    assert rows and all(r["source"]["input"] == key for r in rows), rows
    assert {r["source"]["mpid"] for r in rows} == {mpid}
    assert all(r["status"] in ("delivered", "skipped") for r in rows), rows
    reasons = [s["reason"] for r in rows if r["status"] == "skipped" for s in r["skipped"]]
    assert any("customerId" in reason for reason in reasons), reasons
    kit_only = [s for r in rows for s in r["skipped"] if s["event_type"] == "session_end"]
    assert kit_only and all("kit-only" in s["reason"] for s in kit_only), kit_only
    assert uploads(emulator), "no /1/upload reached CleverTap"
    assert all(e["status"] == 200 for e in uploads(emulator))
    assert all(e["headers"]["user-agent"] == BRIDGE_AGENT for e in uploads(emulator))
    mp.assert_browser_calls_succeeded()


def test_web_sdk_batches_are_left_to_the_kit_when_server_side_is_off(
    emulator: EmulatorHandle, browser: Browser, mp: Emulator
) -> None:
    configure(emulator, event_output={"forward_web_server_side": False})
    key = mp.key
    config = plain_http_config(emulator, "kit@example.com", customerid="cust-kit")
    result = browser.call("emu.init", key, config)
    assert result["httpCode"] == 200, result
    mpid = result["user"]["mpid"]
    mp.until("session_start stored", lambda: mp.event_count(mpid, "session_start") == 1)
    log_shopping(browser, mp, mpid, "T-K1")
    settle(emulator)

    web_batches = [b for b in mp.batches() if b["input"] == key]
    rows = deliveries(emulator)
    assert len(rows) == len(web_batches) >= 3, (len(rows), len(web_batches))
    for row in rows:
        assert row["status"] == "skipped", row
        assert row["source"] == {"workspace": "1000", "input": key, "mpid": mpid}, row
        assert row["skipped"] == [{"event": None, "event_type": None, "reason": KIT_REASON}]
        assert "request" not in row
    assert uploads(emulator) == []
    assert ct_profiles(emulator) == [] and ct_events(emulator) == []

    # The setting is for web data only: the same user's server-to-server batch still goes.
    with httpx.Client(base_url=emulator.url, timeout=30) as http:
        response = http.post(
            "/v2/events", json=batch(custom("Server"), customer_id="cust-kit"), auth=S2S
        )
        assert response.status_code == 202, response.text
        settle(emulator)
        record = ct_profile(http, "cust-kit")
    assert record is not None and set(record["events"]) == {"Server"}
    last = deliveries(emulator)[-1]
    assert last["status"] == "delivered" and last["source"]["input"] == S2S[0], last
    mp.assert_browser_calls_succeeded()
