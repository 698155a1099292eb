"""The real `@mparticle/web-sdk` 2.68.0 in headless Chromium against the emulator.

`tests/clients/web/driver.mjs` (Node, playwright-core) serves `tests/clients/web/index.html` with
the SDK's browser build on its own 127.0.0.1 port, so every call the SDK makes to the emulator is
cross-origin and goes through Chromium's CORS checks (preflights included). It also puts a TLS front
before the emulator for the URLs the SDK always builds with `https://` (config, Alias, audiences,
and all of them when `forceHttps` stays on). The test sends it one step at a time and, after each,
checks through the control API what the emulator stored.

Needs Debian's chromium (`/usr/bin/chromium`, or `CHROMIUM_PATH`), openssl, node and `npm ci`;
anything missing fails the test, nothing here skips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews
from tests.drivers.browser import Browser, launch_browser

STATE_TIMEOUT = 10.0  # how long the emulator's views may take to show a step's effect


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (Chromium is told to accept it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not on PATH (apt-get install openssl)", pytrace=False)
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
def browser(
    emulator: EmulatorHandle, tls_pair: tuple[Path, Path], tmp_path: Path
) -> Iterator[Browser]:
    cert, key = tls_pair
    driver = launch_browser(emulator.url, tmp_path, {"TLS_CERT": str(cert), "TLS_KEY": str(key)})
    try:
        yield driver
    finally:
        driver.close()


# ---- the emulator's side, through the control API ----------------------------------------------


class Emulator:
    """The emulator's side of the Web SDK tests: the mParticle views (through the shared
    `ControlViews`), the journal, and waits that print the browser's diagnostics on a timeout."""

    def __init__(self, handle: EmulatorHandle, views: ControlViews, browser: Browser) -> None:
        self.client = handle.client
        self.views = views
        self.workspace = handle.mparticle["workspace"]
        self.key = handle.mparticle["web_key"]
        self.browser = browser

    def users(self) -> list[dict[str, Any]]:
        return self.views.mp_users(self.workspace)

    def user(self, mpid: str) -> dict[str, Any]:
        found = [u for u in self.users() if u["mpid"] == mpid]
        assert found, f"no user {mpid} in the users view: {self.users()}"
        return found[0]

    def batches(self) -> list[dict[str, Any]]:
        return self.views.mp_batches(self.workspace)

    def aliases(self) -> list[dict[str, Any]]:
        return self.views.mp_page("aliases", self.workspace)["aliases"]  # type: ignore[no-any-return]

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        return self.client.requests(platform="mparticle", **filters)

    def last_seq(self) -> int:
        return int(self.views.journal(limit=1)["journal"]["last_seq"])

    def wait_request(self, path: str, since: int, method: str = "POST") -> dict[str, Any]:
        """The first request to `path` after `since` (server-side long-poll)."""
        try:
            entries = self.client.wait_for(
                1,
                timeout=STATE_TIMEOUT,
                platform="mparticle",
                path=path,
                method=method,
                since=since,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.browser.diagnostics()}") from None
        return entries[0]

    def until(self, what: str, probe: Callable[[], Any]) -> Any:
        """Poll `probe` until it answers something truthy; fail with its last answer."""
        deadline = time.monotonic() + STATE_TIMEOUT
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = probe()
            except (AssertionError, KeyError, IndexError) as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(0.05)
        raise AssertionError(
            f"the emulator never showed {what} within {STATE_TIMEOUT} s; last: {last!r}\n"
            f"{self.browser.diagnostics()}"
        )

    def event_count(self, mpid: str, name: str) -> int:
        return int(self.user(mpid)["events"].get(name, {}).get("count", 0))

    def identity_change_stored(self, mpid: str, identity_type: str) -> Any:
        """Wait for the SDK's `user_identity_change` batch for `identity_type` to be stored."""
        return self.until(
            f"the {identity_type} change event",
            lambda: [
                e
                for e in self.batch_events(mpid, "user_identity_change")
                if e["data"]["new"]["identity_type"] == identity_type
            ],
        )

    def batch_events(self, mpid: str, event_type: str) -> list[dict[str, Any]]:
        """Events of `event_type` in the batches resolved to `mpid`, as received."""
        return [
            event
            for row in self.batches()
            if str(row["resolved"]["mpid"]) == mpid
            for event in row["batch"].get("events") or ()
            if event.get("event_type") == event_type
        ]

    def assert_browser_calls_succeeded(self, *expected: tuple[str, int]) -> None:
        """Every request the SDK made got a 2xx (a 400 would make it re-send batches forever),
        but for the `(path, status)` answers the test asked for."""
        bad = [
            f"{e['method']} {e['path']} -> {e['status']}"
            for e in self.journal(limit=10000)
            if not 200 <= e["status"] < 300 and (e["path"], e["status"]) not in expected
        ]
        assert not bad, f"the emulator refused SDK requests: {bad}\n{self.browser.diagnostics()}"
        failed = [line for line in self.browser.log if " FAILED " in line]
        assert not failed, f"requests failed in the browser: {failed}\n{self.browser.diagnostics()}"


@pytest.fixture
def mp_views(emulator: EmulatorHandle, views: ControlViews, browser: Browser) -> Emulator:
    return Emulator(emulator, views, browser)


def _host(url: str) -> str:
    return url.split("://", 1)[1].rstrip("/")


# ---- the tests ----------------------------------------------------------------------------------


def test_web_sdk_plain_http_session(
    emulator: EmulatorHandle, browser: Browser, mp_views: Emulator
) -> None:
    """README's recipe: forceHttps off, no config fetch; events and IDSync over plain HTTP on the
    emulator's own port, Alias and audiences over the TLS front (the SDK hard-wires https)."""
    host = _host(emulator.url)
    tls = f"127.0.0.1:{browser.tls_port}"
    key = mp_views.key
    events_path = f"/v3/JS/{key}/events"
    config = {
        "isDevelopmentMode": True,
        "logLevel": "verbose",
        "forceHttps": False,
        "requestConfig": False,
        "v3SecureServiceUrl": f"{host}/v3/JS/",
        "identityUrl": f"{host}/v1/",
        "aliasUrl": f"{tls}/v1/identity/",
        "userAudienceUrl": f"{tls}/v1/",
        "flags": {"eventBatchingIntervalMillis": "0", "audienceAPI": "True"},
        "identifyRequest": {"userIdentities": {"email": "ada@example.com"}},
    }

    # identify: a new MPID for the email, the SDK's current user is that MPID.
    since = mp_views.last_seq()
    result = browser.call("emu.init", key, config)
    assert result["httpCode"] == 200, result
    mpid = result["user"]["mpid"]
    assert mpid and mpid != "0", result
    assert browser.call("emu.currentUser")["mpid"] == mpid
    identify = mp_views.wait_request("/v1/identify", since)
    assert identify["status"] == 200
    users = mp_views.users()
    assert [u["mpid"] for u in users if u["user_identities"].get("email") == "ada@example.com"] == [
        mpid
    ], users
    device_stamp = mp_views.user(mpid)["device_identities"].get("device_application_stamp")
    assert device_stamp, mp_views.user(mpid)
    # The start-up events (session start, application state transition) land on that user.
    mp_views.wait_request(events_path, since)
    mp_views.until(
        "session_start on the user", lambda: mp_views.event_count(mpid, "session_start") == 1
    )
    assert all(b["batch"].get("mp_deviceid") == device_stamp for b in mp_views.batches())

    # logEvent: a custom event with attributes.
    since = mp_views.last_seq()
    browser.eval(
        "mParticle.logEvent('Clicked', mParticle.EventType.Navigation, {btn: 'home', n: 3})"
    )
    entry = mp_views.wait_request(events_path, since)
    assert entry["status"] == 202, entry
    mp_views.until("Clicked counted once", lambda: mp_views.event_count(mpid, "Clicked") == 1)
    (clicked,) = [
        e
        for e in mp_views.batch_events(mpid, "custom_event")
        if e["data"]["event_name"] == "Clicked"
    ]
    assert clicked["data"]["custom_event_type"] == "navigation"
    assert clicked["data"]["custom_attributes"] == {"btn": "home", "n": 3}

    # logPageView: a screen_view named after the page.
    since = mp_views.last_seq()
    browser.eval("mParticle.logPageView('Home Page', {path: '/home'})")
    mp_views.wait_request(events_path, since)
    mp_views.until("the page view counted", lambda: mp_views.event_count(mpid, "Home Page") == 1)
    (screen,) = mp_views.batch_events(mpid, "screen_view")
    assert screen["data"]["screen_name"] == "Home Page"
    assert screen["data"]["custom_attributes"] == {"path": "/home"}

    # A purchase: a commerce_event with the product action.
    since = mp_views.last_seq()
    browser.call("emu.purchase", "T-1001")
    mp_views.wait_request(events_path, since)
    mp_views.until(
        "the purchase counted", lambda: mp_views.event_count(mpid, "commerce:purchase") == 1
    )
    (purchase,) = mp_views.batch_events(mpid, "commerce_event")
    action = purchase["data"]["product_action"]
    assert action["action"] == "purchase"
    assert action["transaction_id"] == "T-1001"
    assert action["total_amount"] == 7.0
    assert action["tax_amount"] == 0.5
    assert [(p["id"], p["name"], p["price"], p["quantity"]) for p in action["products"]] == [
        ("sku-espresso", "Double Espresso", 3.5, 2)
    ]

    # setUserAttribute: on the user, in the batch and as a user_attribute_change event.
    since = mp_views.last_seq()
    browser.eval("mParticle.Identity.getCurrentUser().setUserAttribute('plan', 'pro')")
    mp_views.wait_request(events_path, since)
    mp_views.until(
        "the user attribute", lambda: mp_views.user(mpid)["user_attributes"].get("plan") == "pro"
    )
    assert mp_views.batches()[-1]["batch"]["user_attributes"] == {"plan": "pro"}
    assert mp_views.event_count(mpid, "user_attribute_change") == 1

    # login with a customer id: the default strategy converts the anonymous profile (same MPID).
    since = mp_views.last_seq()
    login = browser.call(
        "emu.identity", "login", {"email": "ada@example.com", "customerid": "cust-ada"}
    )
    assert login["httpCode"] == 200, login
    assert login["user"]["mpid"] == mpid, login
    assert login["user"]["isLoggedIn"] is True, login
    current = browser.call("emu.currentUser")
    assert current["mpid"] == mpid and current["isLoggedIn"] is True, current
    assert mp_views.wait_request("/v1/login", since)["status"] == 200
    known = mp_views.user(mpid)
    assert known["user_identities"] == {"email": "ada@example.com", "customer_id": "cust-ada"}
    assert len(mp_views.users()) == 1, mp_views.users()
    mp_views.identity_change_stored(mpid, "customer_id")

    # search (x-mp-key, never creates a user): the customer id finds the user, an unknown email
    # answers 404 NOT_FOUND_ERROR.
    since = mp_views.last_seq()
    search = "new Promise(r => mParticle.Identity.search(%s, %s, r))"
    found = browser.eval(search % (json.dumps(key), json.dumps({"customerid": "cust-ada"})))
    assert found["httpCode"] == 200 and found["body"]["mpid"] == mpid, found
    missing = browser.eval(search % (json.dumps(key), json.dumps({"email": "nobody@example.com"})))
    assert missing["httpCode"] == 404, missing
    assert missing["body"]["Errors"][0]["code"] == "NOT_FOUND_ERROR", missing
    assert [
        e["status"] for e in mp_views.journal(path="/v1/search", method="POST", since=since)
    ] == [
        200,
        404,
    ]
    assert len(mp_views.users()) == 1, mp_views.users()

    # Events after login still count on the same user.
    since = mp_views.last_seq()
    browser.eval("mParticle.logEvent('Clicked', mParticle.EventType.Navigation, {btn: 'cart'})")
    mp_views.wait_request(events_path, since)
    mp_views.until("Clicked counted twice", lambda: mp_views.event_count(mpid, "Clicked") == 2)

    # logout: a new anonymous MPID carrying the same device, not logged in.
    since = mp_views.last_seq()
    logout = browser.call("emu.identity", "logout", None)
    assert logout["httpCode"] == 200, logout
    anonymous = logout["user"]["mpid"]
    assert anonymous not in (mpid, "0"), logout
    assert logout["user"]["isLoggedIn"] is False, logout
    assert browser.call("emu.currentUser")["mpid"] == anonymous
    assert mp_views.wait_request("/v1/logout", since)["status"] == 200
    fresh = mp_views.user(anonymous)
    assert fresh["user_identities"] == {}, fresh
    assert fresh["device_identities"].get("device_application_stamp") == device_stamp, fresh
    assert mp_views.user(mpid)["user_identities"]["customer_id"] == "cust-ada"

    since = mp_views.last_seq()
    browser.eval("mParticle.logEvent('Browsed', mParticle.EventType.Other)")
    mp_views.wait_request(events_path, since)
    mp_views.until(
        "Browsed on the new user", lambda: mp_views.event_count(anonymous, "Browsed") == 1
    )
    assert mp_views.event_count(mpid, "Browsed") == 0
    assert str(mp_views.batches()[-1]["resolved"]["mpid"]) == anonymous

    # Alias the anonymous user to the known one (https only in the SDK: through the TLS front).
    since = mp_views.last_seq()
    alias = browser.call("emu.alias", anonymous, mpid)
    assert alias["httpCode"] == 202, alias
    assert mp_views.wait_request(f"/v1/identity/{key}/Alias", since)["status"] == 202
    (row,) = mp_views.aliases()
    assert (str(row["source_mpid"]), str(row["destination_mpid"])) == (anonymous, mpid), row

    # Audience memberships of the current user (feature flag audienceAPI, https only).
    since = mp_views.last_seq()
    audiences = browser.eval(
        "new Promise((resolve, reject) => {"
        " setTimeout(() => reject(new Error('no audience callback')), 10000);"
        " mParticle.Identity.getCurrentUser().getUserAudiences(resolve); })"
    )
    assert audiences == {"currentAudienceMemberships": []}, audiences
    audience = mp_views.wait_request(f"/v1/{key}/audience", since, method="GET")
    assert audience["status"] == 200

    # Refusals carry CORS headers too, so a page can read them: a server-to-server key is not a
    # web key, and the events path answers 401 for it.
    refused = browser.eval(
        f"fetch('http://{host}/v3/JS/{emulator.mparticle['s2s_key']}/events',"
        " {method: 'POST', headers: {'Content-Type': 'text/plain;charset=UTF-8'},"
        " body: JSON.stringify({mpid: '1', environment: 'development', events: []})})"
        ".then(r => r.status, e => String(e))"
    )
    assert refused == 401, refused
    assert (
        mp_views.journal(path=f"/v3/JS/{emulator.mparticle['s2s_key']}/events")[0]["status"] == 401
    )

    # Every batch the SDK sent was resolved to the MPID it carried.
    for row in mp_views.batches():
        assert str(row["resolved"]["mpid"]) == str(row["batch"]["mpid"]), row
    mp_views.assert_browser_calls_succeeded(
        (f"/v3/JS/{emulator.mparticle['s2s_key']}/events", 401), ("/v1/search", 404)
    )
    # Cross-origin for real: the browser sent preflights for IDSync and Alias (x-mp-key, JSON).
    assert mp_views.journal(method="OPTIONS", path="/v1/identify"), (
        "no preflight reached the emulator"
    )
    assert mp_views.journal(method="OPTIONS", path=f"/v1/identity/{key}/Alias")


def test_web_sdk_domain_layout(
    emulator: EmulatorHandle, browser: Browser, mp_views: Emulator
) -> None:
    """The `domain` (CNAME) option: every URL under one host, https throughout (the TLS front),
    the config fetched from /tags/JS/v2/ first (requestConfig on, the default)."""
    key = mp_views.key
    domain = f"127.0.0.1:{browser.tls_port}"
    events_path = f"/webevents/v3/JS/{key}/events"
    config = {
        "isDevelopmentMode": True,
        "logLevel": "verbose",
        "domain": domain,
        "flags": {"eventBatchingIntervalMillis": "0"},
        "identifyRequest": {"userIdentities": {"email": "grace@example.com"}},
    }

    since = mp_views.last_seq()
    result = browser.call("emu.init", key, config)
    assert result["httpCode"] == 200, result
    mpid = result["user"]["mpid"]
    assert browser.call("emu.currentUser")["mpid"] == mpid
    configured = mp_views.wait_request(f"/tags/JS/v2/{key}/config", since, method="GET")
    assert configured["status"] == 200
    assert mp_views.wait_request("/identity/v1/identify", since)["status"] == 200
    assert [u["mpid"] for u in mp_views.users() if u["user_identities"].get("email")] == [mpid]

    since = mp_views.last_seq()
    browser.eval("mParticle.logEvent('Searched', mParticle.EventType.Search, {q: 'shoes'})")
    mp_views.wait_request(events_path, since)
    mp_views.until("Searched on the user", lambda: mp_views.event_count(mpid, "Searched") == 1)

    # A returning visitor (a new session): the page loads again, the SDK identifies with the same
    # email, its stored device stamp and previous MPID, and gets the same MPID back; no new user.
    browser.eval("mParticle.endSession()")  # else the SDK skips identify for the live session
    mp_views.until("the session end", lambda: mp_views.event_count(mpid, "session_end") == 1)
    browser.reload()
    since = mp_views.last_seq()
    again = browser.call("emu.init", key, config)
    assert again["httpCode"] == 200 and again["user"]["mpid"] == mpid, again
    identify = mp_views.wait_request("/identity/v1/identify", since)
    assert identify["body"]["previous_mpid"] == mpid, identify["body"]
    assert len(mp_views.users()) == 1, mp_views.users()
    since = mp_views.last_seq()
    browser.eval("mParticle.logEvent('Searched', mParticle.EventType.Search, {q: 'boots'})")
    mp_views.wait_request(events_path, since)
    mp_views.until(
        "Searched twice on the user", lambda: mp_views.event_count(mpid, "Searched") == 2
    )

    since = mp_views.last_seq()
    login = browser.call(
        "emu.identity", "login", {"email": "grace@example.com", "customerid": "cust-grace"}
    )
    assert login["httpCode"] == 200 and login["user"]["mpid"] == mpid, login
    assert login["user"]["isLoggedIn"] is True, login
    assert mp_views.wait_request("/identity/v1/login", since)["status"] == 200
    assert mp_views.user(mpid)["user_identities"]["customer_id"] == "cust-grace"
    # The SDK reports the login in a batch of its own; let it land before the identities change
    # again (a batch stored later would carry the identities it was made with).
    mp_views.identity_change_stored(mpid, "customer_id")

    # modify: the SDK sends one change per identity it is given, to /identity/v1/{mpid}/modify.
    since = mp_views.last_seq()
    modify = browser.call(
        "emu.identity", "modify", {"email": "grace@navy.example", "customerid": "cust-grace"}
    )
    assert modify["httpCode"] == 200, modify
    modified = mp_views.wait_request(f"/identity/v1/{mpid}/modify", since)
    assert modified["status"] == 200
    assert mp_views.user(mpid)["user_identities"] == {
        "email": "grace@navy.example",
        "customer_id": "cust-grace",
    }
    mp_views.until(
        "the email change event",
        lambda: [
            e
            for e in mp_views.batch_events(mpid, "user_identity_change")
            if e["data"]["new"]["identity"] == "grace@navy.example"
        ],
    )
    assert mp_views.user(mpid)["user_identities"]["email"] == "grace@navy.example"

    since = mp_views.last_seq()
    browser.eval("mParticle.Identity.getCurrentUser().setUserAttribute('rank', 'admiral')")
    mp_views.wait_request(events_path, since)
    mp_views.until(
        "the attribute", lambda: mp_views.user(mpid)["user_attributes"].get("rank") == "admiral"
    )

    since = mp_views.last_seq()
    logout = browser.call("emu.identity", "logout", None)
    anonymous = logout["user"]["mpid"]
    assert logout["httpCode"] == 200 and anonymous != mpid, logout
    assert mp_views.wait_request("/identity/v1/logout", since)["status"] == 200

    since = mp_views.last_seq()
    alias = browser.call("emu.alias", anonymous, mpid)
    assert alias["httpCode"] == 202, alias
    assert mp_views.wait_request(f"/webevents/v1/identity/{key}/Alias", since)["status"] == 202
    (row,) = mp_views.aliases()
    assert (str(row["source_mpid"]), str(row["destination_mpid"])) == (anonymous, mpid), row

    # Nothing went to the default layout's paths, and every call succeeded.
    paths = {e["path"] for e in mp_views.journal(limit=10000)}
    prefixes = ("/webevents/", "/identity/v1/", "/tags/JS/v2/")
    assert all(p.startswith(prefixes) for p in paths), sorted(paths)
    mp_views.assert_browser_calls_succeeded()
