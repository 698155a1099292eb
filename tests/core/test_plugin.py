"""The pytest plugin: the `emulator` fixture, its reset between tests and its credentials.

The tests named `test_1_...` and `test_2_...` are pairs: the first leaves something behind, the
second (run after it, in file order) checks the fixture cleaned it up.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from emulator.config import DEFAULT_ACCOUNT, DEFAULT_WORKSPACE, default_tenants
from emulator.testing import EmulatorClient
from emulator.testing.plugin import EmulatorHandle
from tests.drivers.mparticle import tiny_batch

pytest_plugins = ["pytester"]

EVENT = {"type": "event", "identity": "user-1", "evtName": "Charged"}


def default_input(kind: str) -> dict[str, Any]:
    return next(i for i in DEFAULT_WORKSPACE["inputs"] if i["kind"] == kind)


def test_1_writes_to_the_emulator(emulator: EmulatorHandle, http: httpx.Client) -> None:
    response = http.post(
        f"{emulator.url}/1/upload", headers=emulator.clevertap_headers, json={"d": [EVENT]}
    )
    assert response.status_code == 200
    response = http.post(
        f"{emulator.url}/v2/events",
        auth=emulator.mparticle_auth,
        json=tiny_batch(),
    )
    assert response.status_code == 202
    emulator.client.add_fault(platform="clevertap", path="/1/never", status=500)
    emulator.client.freeze_clock(1_700_000_000)
    assert emulator.client.count() == 2


def test_2_the_next_test_starts_empty(emulator: EmulatorHandle) -> None:
    assert emulator.client.count() == 0
    assert emulator.client.requests() == []
    control = emulator.client.http
    assert control.get("/clevertap/EMU-TEST-0001/events").json()["total"] == 0
    assert control.get("/clevertap/EMU-TEST-0001/profiles").json()["total"] == 0
    assert control.get("/mparticle/1000/batches").json()["total"] == 0
    assert control.get("/faults").json()["faults"] == []
    assert emulator.client.clock()["frozen"] is False


LEAKED = {"kind": "clevertap_account", "id": "PLUGIN-LEAK", "passcode": "p", "region": "eu1"}


def test_1_adds_a_tenant(emulator: EmulatorHandle) -> None:
    emulator.client.add_tenant(LEAKED)
    assert LEAKED in emulator.client.tenants()


def test_2_the_next_test_starts_with_the_configured_tenants(emulator: EmulatorHandle) -> None:
    """A tenant one test adds must not leak into the next (it would answer 409 there when
    added again, or authenticate where the configuration says it does not exist)."""
    try:
        assert emulator.client.tenants() == default_tenants()
    finally:
        emulator.client.http.delete(f"/tenants/{LEAKED['id']}")


def test_handle_exposes_the_default_credentials(emulator: EmulatorHandle) -> None:
    assert emulator.clevertap["id"] == DEFAULT_ACCOUNT["id"]
    assert emulator.clevertap["passcode"] == DEFAULT_ACCOUNT["passcode"]
    assert emulator.clevertap["region"] == DEFAULT_ACCOUNT["region"]
    assert emulator.clevertap_headers == {
        "X-CleverTap-Account-Id": DEFAULT_ACCOUNT["id"],
        "X-CleverTap-Passcode": DEFAULT_ACCOUNT["passcode"],
        "Content-Type": "application/json",
    }
    s2s, web, feed = default_input("s2s"), default_input("web"), default_input("feed")
    assert emulator.mparticle == {
        "workspace": DEFAULT_WORKSPACE["id"],
        "s2s_key": s2s["key"],
        "s2s_secret": s2s["secret"],
        "web_key": web["key"],
        "feed_key": feed["key"],
        "feed_secret": feed["secret"],
    }
    assert emulator.mparticle_auth == (s2s["key"], s2s["secret"])
    token = base64.b64encode(f"{s2s['key']}:{s2s['secret']}".encode()).decode()
    assert emulator.mparticle_headers == {
        "Authorization": f"Basic {token}",
        "Content-Type": "application/json",
    }


def test_default_credentials_are_accepted(emulator: EmulatorHandle, http: httpx.Client) -> None:
    ct = http.post(
        f"{emulator.url}/1/upload", headers=emulator.clevertap_headers, json={"d": [EVENT]}
    )
    assert ct.status_code == 200
    mp = http.post(
        f"{emulator.url}/v2/events",
        headers=emulator.mparticle_headers,
        json=tiny_batch(),
    )
    assert mp.status_code == 202
    feed = http.post(
        f"{emulator.url}/s2s/v2/events",
        auth=(emulator.mparticle["feed_key"], emulator.mparticle["feed_secret"]),
        json={"events": []},
    )
    assert feed.status_code == 202
    tenants = [e["tenant"] for e in emulator.client.wait_for(count=3)]
    assert tenants == [DEFAULT_ACCOUNT["id"], DEFAULT_WORKSPACE["id"], DEFAULT_WORKSPACE["id"]]


def test_handle_url_and_client(emulator: EmulatorHandle, emulator_server: str) -> None:
    assert emulator.url == emulator_server
    assert emulator.url.startswith("http://127.0.0.1:")
    assert isinstance(emulator.client, EmulatorClient)
    assert emulator.client.base_url == emulator.url
    assert emulator.client.health()["status"] == "ok"


INNER_TEST = """
import httpx


def test_inner(emulator):
    response = httpx.post(
        emulator.url + "/1/upload",
        headers=emulator.clevertap_headers,
        json={"d": [{"type": "event", "evtName": "from-inner-session"}]},
    )
    assert response.status_code == 200
    [entry] = emulator.client.wait_for(platform="clevertap")
    assert entry["body"]["d"][0]["evtName"] == "from-inner-session"
"""


def test_the_plugin_is_registered_through_its_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_plugin_uses_a_running_emulator_from_the_environment(
    emulator: EmulatorHandle, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTMP_EMULATOR_URL", emulator.url + "/")
    # The URL check runs first: each inner test resets the emulator, the last one leaves its
    # request in the journal.
    url_test = f"def test_url(emulator):\n    assert emulator.url == {emulator.url!r}\n"
    pytester.makepyfile(test_inner=url_test + INNER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    # The inner session's request landed in this session's emulator.
    [entry] = emulator.client.requests(platform="clevertap")
    assert entry["body"]["d"][0]["evtName"] == "from-inner-session"


WORKER_TEST = """
import httpx


def test_worker(emulator):
    worker = emulator.clevertap["id"].rsplit("-", 1)[1]
    record = {"type": "event", "identity": "u1", "evtName": "from-" + worker, "evtData": {}}
    response = httpx.post(
        emulator.url + "/1/upload", headers=emulator.clevertap_headers, json={"d": [record]}
    )
    assert response.status_code == 200, response.text
    batch = {"events": [], "environment": "development", "user_identities": {"customerid": "c"}}
    response = httpx.post(emulator.url + "/v2/events", auth=emulator.mparticle_auth, json=batch)
    assert response.status_code == 202, response.text
    [entry] = emulator.client.wait_for(tenant=emulator.clevertap["id"], origin="client")
    assert entry["body"]["d"][0]["evtName"] == "from-" + worker
"""


def test_xdist_workers_on_a_shared_emulator_get_tenants_of_their_own(
    emulator: EmulatorHandle,
    http: httpx.Client,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `CTMP_EMULATOR_URL` and pytest-xdist, each worker resets only its own tenants: the
    second worker's reset leaves the first one's data (and this session's) alone."""
    mine = {"type": "event", "identity": "u1", "evtName": "outer", "evtData": {}}
    uploaded = http.post("/1/upload", json={"d": [mine]}, headers=emulator.clevertap_headers)
    assert uploaded.status_code == 200
    monkeypatch.setenv("CTMP_EMULATOR_URL", emulator.url)
    pytester.makepyfile(test_inner=WORKER_TEST)
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    for worker in ("gw0", "gw1"):
        [entry] = emulator.client.requests(tenant=f"{DEFAULT_ACCOUNT['id']}-{worker}")
        assert entry["body"]["d"][0]["evtName"] == f"from-{worker}"
    [outer] = emulator.client.requests(tenant=DEFAULT_ACCOUNT["id"])
    assert outer["body"]["d"][0]["evtName"] == "outer"
    workspaces = {t["id"] for t in emulator.client.tenants() if t["kind"] == "mparticle_workspace"}
    assert workspaces == {DEFAULT_WORKSPACE["id"], "1001", "1002"}


XDIST_TESTS = """
import time

import httpx
import pytest


@pytest.mark.parametrize("n", range(4))
def test_each_test_starts_from_its_own_empty_tenants(emulator, n):
    account = emulator.clevertap["id"]
    assert emulator.client.requests(tenant=account) == []
    record = {"type": "event", "identity": f"u{n}", "evtName": f"e{n}", "evtData": {}}
    response = httpx.post(
        emulator.url + "/1/upload", headers=emulator.clevertap_headers, json={"d": [record]}
    )
    assert response.status_code == 200, response.text
    time.sleep(0.2)  # the other worker's test resets meanwhile
    [entry] = emulator.client.requests(tenant=account)
    assert entry["body"]["d"][0]["evtName"] == f"e{n}"
"""


def test_real_xdist_workers_do_not_reset_each_other(
    emulator: EmulatorHandle, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12's reproduction: `-n 2` against one `CTMP_EMULATOR_URL` failed 4 of 4 tests."""
    monkeypatch.setenv("CTMP_EMULATOR_URL", emulator.url)
    pytester.makepyfile(test_inner=XDIST_TESTS)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
