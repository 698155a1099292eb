"""The PyPI client `mparticle==0.16.1` unmodified: its default host `https://s2s.mparticle.com/v2`,
only the emulator's CA trusted (`ssl_ca_cert`), and the host name resolved to the emulator's TLS
port without root (`redirect_https`, the recipe of docs/https.md). Its batches reach mParticle
and, through the default connection, CleverTap."""

from __future__ import annotations

import socket
import ssl
import warnings

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews
from tests.drivers.pypi import default_host_events_api, mparticle
from tests.drivers.tls import TlsEmulator, redirect_https

with warnings.catch_warnings():
    warnings.simplefilter("ignore", SyntaxWarning)
    from urllib3.exceptions import MaxRetryError, SSLError

pytestmark = pytest.mark.usefixtures("no_retry_deadline")


def batch(customer_id: str, event_name: str) -> mparticle.Batch:
    body = mparticle.Batch()
    body.environment = "development"
    body.user_identities = mparticle.UserIdentities()
    body.user_identities.customerid = customer_id
    body.user_identities.email = f"{customer_id}@example.com"
    body.events = [mparticle.AppEvent(event_name, "navigation", custom_attributes={"k": "v"})]
    return body


def test_the_client_with_its_default_host_reaches_the_emulator(
    emulator: EmulatorHandle, tls: TlsEmulator, views: ControlViews
) -> None:
    api = default_host_events_api(str(tls.ca_file))
    assert api.api_client.host == "https://s2s.mparticle.com/v2"
    with redirect_https(tls.tls_port):
        api.upload_events(batch("cust-py", "Opened"))
        api.bulk_upload_events([batch("cust-py", "Browsed"), batch("cust-py2", "Opened")])

    entries = emulator.client.requests(platform="mparticle", method="POST")
    (single, bulk) = sorted(entries, key=lambda e: e["seq"])
    assert (single["path"], single["status"]) == ("/v2/events", 202), single
    assert (bulk["path"], bulk["status"]) == ("/v2/bulkevents", 202), bulk
    assert single["headers"]["host"] == "s2s.mparticle.com"  # the client's own name, port 443
    names = [
        event["data"]["event_name"]
        for row in views.mp_batches()
        for event in row["batch"]["events"]
    ]
    assert sorted(names) == ["Browsed", "Opened", "Opened"]
    # Through the flow (the default connection: customer id as CleverTap's identity).
    views.settle()
    counts = {
        (e["identity"], e["evtName"]) for e in views.ct_events() if e["identity"].startswith("cust")
    }
    assert counts == {("cust-py", "Opened"), ("cust-py", "Browsed"), ("cust-py2", "Opened")}


def test_without_the_ca_the_client_refuses_the_certificate(
    emulator: EmulatorHandle, tls: TlsEmulator
) -> None:
    """The CA is what makes it work: with the client's own bundle (certifi) the handshake fails
    and nothing reaches the emulator."""
    api = default_host_events_api(None)
    with redirect_https(tls.tls_port), pytest.raises((MaxRetryError, SSLError)) as refused:
        api.upload_events(batch("cust-py", "Opened"))
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value), refused.value
    assert emulator.client.requests(platform="mparticle") == []


def test_python_ssl_with_only_the_ca_verifies_every_platform_name(tls: TlsEmulator) -> None:
    """The certificate names every host the platforms' clients use (one label under a
    wildcard, the pods under their own)."""
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    names = [
        "api.clevertap.com",
        *(f"{r}.api.clevertap.com" for r in ("eu1", "in1", "sg1", "us1", "aps3", "mec1")),
        "s2s.mparticle.com",
        *(f"s2s.{pod}.mparticle.com" for pod in ("us1", "us2", "eu1", "au1")),
        "inbound.mparticle.com",
        "identity.mparticle.com",
        "jssdks.mparticle.com",
        "jssdks.us1.mparticle.com",
        "jssdkcdns.mparticle.com",
        "nativesdks.mparticle.com",
        "api.mparticle.com",
        "sso.auth.mparticle.com",
        "opendsr.mparticle.com",
        "opengdpr.mparticle.com",
        "localhost",
    ]
    for name in names:
        with (
            socket.create_connection(("127.0.0.1", tls.tls_port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name) as wrapped,
        ):
            assert wrapped.version() in ("TLSv1.2", "TLSv1.3"), name
    with (
        socket.create_connection(("127.0.0.1", tls.tls_port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname="example.com")
