"""Recording round trips with the official clients: a session of each client is recorded on the
session's emulator (`POST /_emulator/scenarios/record` ... `/stop`), the scenario is written to a
file, held to the scenario contract, and replayed unchanged on a fresh in-process emulator (its
own seed, so every generated id differs) where it must pass.

The clients are driven as their own tests drive them: the npm suites' runner with a session file
each (tests/clients/node/*-session.test.mjs), the PyPI client through tests/drivers/pypi.py, and
the Web SDK in Chromium through the Web SDK test's `browser` fixture (tests/clients/web/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import Scenario, load
from emulator.scenarios.replay import replay
from emulator.testing.plugin import EmulatorHandle
from tests.clients import test_bridge_web_sdk as bridge_web
from tests.clients import test_mparticle_web_sdk as web
from tests.clients.test_mparticle_python_client import small_batch
from tests.drivers.pypi import events_api

if TYPE_CHECKING:
    from tests.conftest import RunNodeSuite

# The Web SDK test's fixtures, used here under the same names.
tls_pair = web.tls_pair
browser = web.browser
mp_views = web.mp_views

Recorded = Callable[[str], Scenario]


@pytest.fixture
def recording(
    emulator: EmulatorHandle, ctl: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Recorded]:
    """Starts a recording; `stop(name)` stops it, writes `<name>.yaml`, checks that it satisfies
    the contract and holds no secret, replays it and answers it (the replay must pass)."""
    started = ctl.post("/scenarios/record", json={"name": "recorded session"})
    assert started.status_code == 201, started.text

    def stop(name: str) -> Scenario:
        stopped = ctl.post("/scenarios/record/stop")
        assert stopped.status_code == 200, stopped.text
        assert stopped.headers["content-type"].startswith("application/yaml")
        for secret in ("emu-passcode", "emu-s2s-secret", "emu-web-secret"):
            assert secret not in stopped.text
        path = tmp_path / f"{name}.yaml"
        path.write_text(stopped.text, encoding="utf-8")
        scenario = load(path, ContractRegistry())
        capsys.readouterr()
        assert replay([str(path)], None) == 0, capsys.readouterr().out + stopped.text
        return scenario

    yield stop
    if ctl.get("/scenarios/record").json()["recording"]:
        ctl.post("/scenarios/record/stop")


def _requests(scenario: Scenario) -> list[dict[str, object]]:
    return [step["request"] for step in scenario.steps if "request" in step]


def test_clevertap_npm_session_replays(
    emulator: EmulatorHandle, run_node_suite: RunNodeSuite, recording: Recorded
) -> None:
    run_node_suite(emulator.url, "clevertap-session.test.mjs", "clevertap", "1.3.0")
    scenario = recording("clevertap")
    requests = _requests(scenario)
    assert {r["as"] for r in requests} == {"clevertap/EMU-TEST-0001"}
    assert all("headers" not in r for r in requests)  # credentials and transport headers gone
    text = scenario.file.read_text()
    # The CleverTap ID answered by the first profile read is sent back by the second.
    assert "$capture: objectid" in text and "${objectid}" in text


def test_mparticle_npm_session_replays_with_its_deliveries(
    emulator: EmulatorHandle, run_node_suite: RunNodeSuite, recording: Recorded
) -> None:
    run_node_suite(emulator.url, "mparticle-session.test.mjs", "mparticle", "1.0.8")
    scenario = recording("mparticle-npm")
    assert [(r["path"], r["as"]) for r in _requests(scenario)] == [
        ("/v2/events", "mparticle/1000/emu-s2s-key"),
        ("/v2/bulkevents", "mparticle/1000/emu-s2s-key"),
    ]
    # The flows' own requests to CleverTap are not steps: their deliveries are checked instead.
    assert scenario.steps[-2:] == [
        {"settle": {}},
        {
            "expect_state": {
                "view": "/bridge/default/deliveries",
                "expect": {
                    "total": 3,
                    "deliveries": [
                        {"flow": "events", "status": "delivered", "attempts": {"$len": 1}}
                    ]
                    * 3,
                },
            }
        },
    ]


@pytest.mark.usefixtures("no_retry_deadline")
def test_pypi_mparticle_session_replays(emulator: EmulatorHandle, recording: Recorded) -> None:
    api = events_api(emulator.url)
    for customer in ("rec-1", "rec-2"):
        assert api.upload_events(small_batch(customer, "Clicked"))[1] == 202
    scenario = recording("mparticle-pypi")
    assert [r["body"] for r in _requests(scenario)][1] == {
        "environment": "development",
        "user_identities": {"customerid": "rec-2"},
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "Clicked", "custom_event_type": "navigation"},
            }
        ],
    }


def test_web_sdk_session_replays(
    emulator: EmulatorHandle, browser: web.Browser, mp_views: web.Emulator, recording: Recorded
) -> None:
    config = bridge_web.plain_http_config(emulator, "rec@example.com")
    result = browser.call("emu.init", mp_views.key, config)
    assert result["httpCode"] == 200, result
    mpid = result["user"]["mpid"]
    browser.eval("mParticle.logEvent('Clicked', mParticle.EventType.Navigation, {btn: 'home'})")
    mp_views.until("Clicked stored", lambda: mp_views.event_count(mpid, "Clicked") == 1)
    scenario = recording("web-sdk")
    text = scenario.file.read_text()
    # The MPID IDSync answered is captured and sent back in the batches.
    assert "$capture: mpid" in text and "${mpid}" in text
    assert mpid not in text
