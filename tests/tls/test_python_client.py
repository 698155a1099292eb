"""The PyPI client `mparticle==0.16.1` unmodified: its default host `https://s2s.mparticle.com/v2`,
only the emulator's CA trusted (`ssl_ca_cert`), and the host name resolved to the emulator's TLS
port without root (`redirect_https`, the recipe of docs/https.md). Its batches reach mParticle
and, through the default connection, CleverTap."""

from __future__ import annotations

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
