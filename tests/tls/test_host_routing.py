"""Routing by Host: a platform's host name reaches that platform's operations only, on the
plain port and the TLS port alike, and never the control API or the inspector, whatever
`--allowed-hosts` says (core/hosts.py, core/security.py; docs/https.md)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.clevertap import event_record, ok
from tests.drivers.mparticle import custom_event, mp_batch, mp_errors
from tests.drivers.tls import TlsEmulator

PLATFORM_HOSTS = (
    "s2s.mparticle.com",
    "jssdks.mparticle.com",
    "api.mparticle.com",
    "eu1.api.clevertap.com",
    "api.clevertap.com",
    "S2S.MParticle.com.:443",
)
BATCH = mp_batch(custom_event("Opened"), customer_id="c1")
CONTROL_PATHS = ("/_emulator/health", "/_emulator/state", "/_emulator/ui", "/", "/_emulator/x")


@pytest.fixture(params=["http", "https"])
def client(
    request: pytest.FixtureRequest, http: httpx.Client, tls: TlsEmulator
) -> Iterator[httpx.Client]:
    """The plain loopback port, then the TLS port (trusting only the CA)."""
    if request.param == "http":
        yield http
        return
    with tls.https() as https:
        yield https


def test_a_platform_host_never_reaches_the_control_api(
    emulator: EmulatorHandle, client: httpx.Client
) -> None:
    for host in PLATFORM_HOSTS:
        for path in CONTROL_PATHS:
            answer = client.get(path, headers={"Host": host})
            assert answer.status_code == 421, (host, path, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "host_not_allowed", error
            assert "platform operations only" in error["message"], error
            assert "emu-passcode" not in answer.text
    # A write with the token's JSON type too: refused before anything runs.
    reset = client.post("/_emulator/reset", json={}, headers={"Host": "s2s.mparticle.com"})
    assert reset.status_code == 421, reset.text
    # Loopback names still reach it, on either port.
    assert client.get("/_emulator/health", headers={"Host": "localhost"}).status_code == 200


def test_a_platform_host_reaches_its_own_operations(
    emulator: EmulatorHandle, client: httpx.Client, views: ControlViews
) -> None:
    ct = CleverTapDriver(client)
    mp = MParticleDriver(client)
    ok(
        ct.post(
            "/1/upload",
            {"d": [event_record("u1", "Charged")]},
            headers={**ct.headers, "Host": "eu1.api.clevertap.com"},
        )
    )
    sent = mp.post(BATCH, auth=mp.auth, headers={"Host": "s2s.mparticle.com"})
    assert sent.status_code == 202, sent.text
    identify = mp.http.post(
        "/v1/identify",
        json={"known_identities": {"email": "a@example.com"}, "environment": "development"},
        headers={**mp.web, "Host": "identity.mparticle.com"},
    )
    assert identify.status_code == 200, identify.text
    config = client.get(
        f"/JS/v2/{emulator.mparticle['web_key']}/config",
        params={"env": "1"},
        headers={"Host": "jssdkcdns.mparticle.com"},
    )
    assert config.status_code == 200, config.text
    assert len(views.mp_batches()) == 1
    views.settle()  # the batch also reaches CleverTap through the default connection
    assert {(e["identity"], e["evtName"]) for e in views.ct_events()} == {
        ("u1", "Charged"),
        ("c1", "Opened"),
    }


def test_another_platforms_path_is_the_hosts_own_404(
    emulator: EmulatorHandle, client: httpx.Client, views: ControlViews
) -> None:
    """What the real host answers for a path it does not serve: its platform's 404, and
    nothing stored on the other platform."""
    ct = CleverTapDriver(client)
    mp = MParticleDriver(client)
    upload = ct.post(
        "/1/upload",
        {"d": [event_record("u1", "Charged")]},
        headers={**ct.headers, "Host": "s2s.mparticle.com"},
    )
    mp_errors(upload, 404, "NOT_FOUND")
    events = mp.post(BATCH, auth=mp.auth, headers={"Host": "eu1.api.clevertap.com"})
    assert events.status_code == 404, events.text
    assert events.json() == {
        "status": "fail",
        "error": "Resource not found: /v2/events",
        "code": 404,
    }
    for host, platform in (
        ("api.clevertap.com", "clevertap"),
        ("jssdks.mparticle.com", "mparticle"),
    ):
        nothing = client.get("/no/such/path", headers={"Host": host})
        assert nothing.status_code == 404, nothing.text
        entry = max(emulator.client.requests(path="/no/such/path"), key=lambda e: e["seq"])
        assert entry["platform"] == platform, entry
    assert views.ct_events() == []
    assert views.mp_batches() == []
    journal = {(e["path"], e["platform"], e["status"]) for e in emulator.client.requests()}
    assert {("/1/upload", "mparticle", 404), ("/v2/events", "clevertap", 404)} <= journal


def test_host_lookup_is_exact_about_names_and_bounded() -> None:
    """`.api.clevertap.com` names the domain and every subdomain, nothing that merely ends
    alike; the cache of raw Host values stays bounded whatever clients send."""
    from emulator.core import hosts as core_hosts

    class Stub:
        def __init__(self, *names: str) -> None:
            self.hosts = names

    ct, mp = Stub(".api.clevertap.com"), Stub(".mparticle.com")
    table = core_hosts.PlatformHosts([ct, mp])  # type: ignore[list-item]
    assert table.of_header(b"api.clevertap.com") is ct
    assert table.of_header(b"EU1.API.CLEVERTAP.COM:443") is ct
    assert table.of_header(b"s2s.eu1.mparticle.com.") is mp
    for other in (b"evilapi.clevertap.com", b"clevertap.com", b"mparticle.com.evil.test", b"[::1]"):
        assert table.of_header(other) is None, other
    for n in range(3 * core_hosts._CACHE_LIMIT):
        table.of_header(b"h%d.example" % n)
    assert len(table._seen) <= core_hosts._CACHE_LIMIT
