"""The real `@mparticle/web-sdk` 2.68.0 in headless Chromium with its DEFAULT configuration (no
`forceHttps: false`, no `requestConfig: false`, no URL given): it fetches its config from
`https://jssdkcdns.mparticle.com`, identifies at `https://identity.mparticle.com` and sends
batches to `https://jssdks.mparticle.com`, all reaching the emulator's TLS port through
Chromium's `--host-resolver-rules`, with only the emulator's CA trusted (its SPKI in
`--ignore-certificate-errors-spki-list`; `ignoreHTTPSErrors` off). The events reach CleverTap
through the default connection's flow.

The browser side is tests/clients/web/driver.mjs (as for tests/clients/test_mparticle_web_sdk.py).
Needs Debian's chromium, node and `npm ci`; nothing here skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.clients import test_mparticle_web_sdk as web
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.tls import TlsEmulator


@pytest.fixture
def browser(emulator: EmulatorHandle, tls: TlsEmulator, tmp_path: Path) -> Iterator[web.Browser]:
    driver = web.launch_browser(emulator.url, tmp_path, tls.chromium_env())
    try:
        yield driver
    finally:
        driver.close()


def test_the_web_sdk_with_its_default_configuration_reaches_clevertap(
    emulator: EmulatorHandle,
    browser: web.Browser,
    views: ControlViews,
    ct: CleverTapDriver,
) -> None:
    mp_views = web.Emulator(emulator, views, browser)
    key = mp_views.key
    config = {
        "isDevelopmentMode": True,
        "logLevel": "verbose",
        "identifyRequest": {
            "userIdentities": {"email": "tls@example.com", "customerid": "cust-tls"}
        },
    }
    result = browser.call("emu.init", key, config)
    assert result["httpCode"] == 200, f"{result}\n{browser.diagnostics()}"
    mpid = result["user"]["mpid"]

    browser.eval(
        "mParticle.logEvent('Clicked', mParticle.EventType.Navigation, {btn: 'home', n: 3})"
    )
    browser.eval("mParticle.logPageView('Home Page', {path: '/home'})")
    browser.call("emu.purchase", "T-TLS")
    browser.eval("mParticle.upload()")  # the default batching waits 10 s; this sends now
    mp_views.until("Clicked stored", lambda: mp_views.event_count(mpid, "Clicked") == 1)
    mp_views.until(
        "the purchase stored", lambda: mp_views.event_count(mpid, "commerce:purchase") == 1
    )

    # Every request came over HTTPS under the SDK's own default host names.
    hosts = {(e["method"], e["path"]): e["headers"]["host"] for e in mp_views.journal(limit=1000)}
    assert hosts[("GET", f"/JS/v2/{key}/config")] == "jssdkcdns.mparticle.com", hosts
    assert hosts[("POST", "/v1/identify")] == "identity.mparticle.com", hosts
    assert hosts[("POST", f"/v3/JS/{key}/events")] == "jssdks.mparticle.com", hosts
    assert set(hosts.values()) <= {
        "jssdkcdns.mparticle.com",
        "identity.mparticle.com",
        "jssdks.mparticle.com",
    }, hosts
    mp_views.assert_browser_calls_succeeded()
    calls = [line.split()[1] for line in browser.log if " -> " in line and "mparticle.com" in line]
    assert calls and all(url.startswith("https://") for url in calls), calls

    # mParticle → CleverTap: the customer id is the CleverTap identity.
    views.settle()
    record = ct.find_profile(identity="cust-tls")
    assert record is not None, f"no CleverTap profile\n{browser.diagnostics()}"
    assert record["email"] == "tls@example.com"
    counts = {name: v["count"] for name, v in record["events"].items()}
    assert counts["Clicked"] == 1 and counts["Home Page"] == 1 and counts["Charged"] == 1, counts
    seen = {e["evtName"]: e for e in views.ct_events() if e["identity"] == "cust-tls"}
    assert seen["Clicked"]["evtData"] == {"btn": "home", "n": 3}
    assert seen["Charged"]["evtData"]["Charged ID"] == "T-TLS"


def test_without_the_ca_the_browser_refuses_the_emulator(
    emulator: EmulatorHandle, tls: TlsEmulator, tmp_path: Path
) -> None:
    """The CA's key is what makes it work: with the host rules alone the config fetch and
    identify fail on the certificate, and nothing reaches the emulator."""
    env = {**tls.chromium_env(), "TRUST_SPKI": ""}
    driver = web.launch_browser(emulator.url, tmp_path, env)
    try:
        fetched = driver.eval(
            "fetch('https://jssdks.mparticle.com/v3/JS/x/events', {method: 'POST', body: '{}'})"
            ".then(r => String(r.status), e => String(e))"
        )
    finally:
        driver.close()
    assert "Failed to fetch" in fetched, fetched
    assert emulator.client.requests(platform="mparticle") == []
