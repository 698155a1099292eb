"""Recording a scenario: the control API (`/_emulator/scenarios/record`, start, ask, stop as YAML
or JSON), what a recording keeps and leaves out, and `ctmp-emulator record` stopped by SIGINT.
Each recorded scenario must satisfy the scenario contract and replay green on a fresh emulator
(another seed, so every generated id differs)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import Scenario, load
from emulator.scenarios.replay import replay
from emulator.testing.plugin import EmulatorHandle
from tests.conftest import EXIT_TIMEOUT, MODULE_COMMAND, STARTUP_TIMEOUT, _read_line
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.defaults import ACCOUNT

RECORD = "/scenarios/record"
PROFILE = {"type": "profile", "identity": "rec-1", "profileData": {"Name": "Rec"}}


def _replayed(text: str, path: Path, contracts: ContractRegistry) -> Scenario:
    """`text` written to `path`, loaded (the contract holds) and replayed green."""
    path.write_text(text, encoding="utf-8")
    scenario = load(path, contracts)
    assert replay([str(path)], None) == 0, text
    return scenario


def _requests(scenario: Scenario) -> list[dict[str, Any]]:
    return [step["request"] for step in scenario.steps if "request" in step]


def test_start_ask_and_stop(ctl: httpx.Client, ct: CleverTapDriver, tmp_path: Path) -> None:
    assert ctl.get(RECORD).json() == {"recording": False}
    started = ctl.post(RECORD, json={"name": "upload", "description": "one profile"})
    assert started.status_code == 201, started.text
    assert started.json()["recording"] is True
    again = ctl.post(RECORD, json={"name": "another"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    ct.upload_ok(PROFILE)
    ctl.get("/clevertap/EMU-TEST-0001/profiles")  # control requests are not recorded
    status = ctl.get(RECORD).json()
    assert (status["recording"], status["name"], status["requests"]) == (True, "upload", 1)
    stopped = ctl.post(RECORD + "/stop", params={"format": "json"})
    assert stopped.status_code == 200
    document = stopped.json()
    assert ctl.get(RECORD).json() == {"recording": False}
    assert ctl.post(RECORD + "/stop").status_code == 409
    assert document["name"] == "upload" and document["description"] == "one profile"
    assert "tenants" not in document  # the defaults serve
    assert document["clock"]["frozen"] is True
    assert document["steps"] == [
        {
            "request": {
                "platform": "clevertap",
                "method": "POST",
                "path": "/1/upload",
                "as": f"clevertap/{ACCOUNT}",
                "body": {"d": [PROFILE]},
                "expect": {
                    "status": 200,
                    "body": {"status": "success", "processed": 1, "unprocessed": []},
                },
            }
        }
    ]


def test_the_yaml_answer_is_the_same_scenario(
    ctl: httpx.Client, ct: CleverTapDriver, tmp_path: Path, contracts: ContractRegistry
) -> None:
    ctl.post(RECORD, json={"name": "yaml"})
    ct.upload_ok(PROFILE)
    stopped = ctl.post(RECORD + "/stop")
    assert stopped.headers["content-type"].startswith("application/yaml")
    scenario = _replayed(stopped.text, tmp_path / "yaml.yaml", contracts)
    assert scenario.document == yaml.safe_load(stopped.text)
    assert _requests(scenario)[0]["as"] == f"clevertap/{ACCOUNT}"


def test_a_start_body_is_held_to_its_contract(ctl: httpx.Client) -> None:
    for body in ({}, {"name": ""}, {"name": "x", "tenants": []}, {"name": "x", "seed": 1}):
        refused = ctl.post(RECORD, json=body)
        assert refused.status_code == 400, body
        assert refused.json()["error"]["code"] == "invalid_request"
    assert ctl.get(RECORD).json() == {"recording": False}


def test_an_mpid_answered_then_sent_back_is_captured(
    ctl: httpx.Client, mp: MParticleDriver, tmp_path: Path, contracts: ContractRegistry
) -> None:
    ctl.post(RECORD, json={"name": "login"})
    anonymous = mp.identify(email="rec@example.com")["mpid"]
    assert mp.login(anonymous, email="rec@example.com", customerid="rec-1")["mpid"] == anonymous
    scenario = _replayed(ctl.post(RECORD + "/stop").text, tmp_path / "login.yaml", contracts)
    identify, login = _requests(scenario)
    assert identify["headers"] == {"x-mp-key": "emu-web-key"}
    assert identify["expect"]["body"]["mpid"] == {"$regex": "-?[0-9]+", "$capture": "mpid"}
    assert login["body"]["previous_mpid"] == "${mpid}"
    assert login["expect"]["body"]["mpid"] == "${mpid}"
    assert anonymous not in scenario.file.read_text()


def test_a_body_that_is_not_json_is_sent_as_written(
    ctl: httpx.Client, ct: CleverTapDriver, tmp_path: Path, contracts: ContractRegistry
) -> None:
    ctl.post(RECORD, json={"name": "not json"})
    headers = {**ct.headers, "Content-Type": "application/json"}
    broken = ct.post("/1/upload", content=b'{"d": [', headers=headers)
    assert broken.status_code == 400
    scenario = _replayed(ctl.post(RECORD + "/stop").text, tmp_path / "text.yaml", contracts)
    (request,) = _requests(scenario)
    assert request["body_text"] == '{"d": ['
    assert request["headers"] == {"content-type": "application/json"}
    assert request["as"] == f"clevertap/{ACCOUNT}"
    assert request["expect"]["status"] == 400


def test_refused_credentials_stay_refused_and_secrets_are_never_written(
    ctl: httpx.Client,
    ct: CleverTapDriver,
    mp: MParticleDriver,
    tmp_path: Path,
    contracts: ContractRegistry,
) -> None:
    ctl.post(RECORD, json={"name": "refused"})
    assert ct.for_account(ACCOUNT, "wrong").send(PROFILE).status_code == 401
    assert mp.post({"events": []}, auth=("emu-s2s-key", "wrong")).status_code == 403
    text = ctl.post(RECORD + "/stop").text
    assert "emu-passcode" not in text and "wrong" not in text
    clevertap, mparticle = _requests(_replayed(text, tmp_path / "refused.yaml", contracts))
    assert "as" not in clevertap and "as" not in mparticle
    assert clevertap["headers"]["X-CleverTap-Passcode"] == "not-the-recorded-secret"
    assert mparticle["expect"]["status"] == 403


def test_a_recording_limited_to_tenants_writes_their_documents(
    ctl: httpx.Client,
    views: ControlViews,
    ct: CleverTapDriver,
    mp: MParticleDriver,
    tmp_path: Path,
    contracts: ContractRegistry,
) -> None:
    views.add_tenant(
        {"kind": "clevertap_account", "id": "REC-2", "passcode": "p2", "region": "eu1"}
    )
    ctl.post(RECORD, json={"name": "one account", "tenants": ["REC-2"]})
    ct.for_account("REC-2", "p2").upload_ok(PROFILE)
    ct.upload_ok(PROFILE)  # another account's: left out
    mp.identify(email="rec@example.com")  # another tenant's: left out
    scenario = _replayed(ctl.post(RECORD + "/stop").text, tmp_path / "one.yaml", contracts)
    assert [r["as"] for r in _requests(scenario)] == ["clevertap/REC-2"]
    assert [t["id"] for t in scenario.document["tenants"]] == ["REC-2"]


def test_forwarded_batches_are_settled_and_their_deliveries_checked(
    ctl: httpx.Client,
    mp: MParticleDriver,
    views: ControlViews,
    tmp_path: Path,
    contracts: ContractRegistry,
) -> None:
    ctl.post(RECORD, json={"name": "forwarding"})
    batch = {
        "user_identities": {"customerid": "rec-1"},
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "Viewed", "custom_event_type": "navigation"},
            }
        ],
    }
    mp.send(batch)
    views.settle()
    mp.send(batch)
    views.settle()
    scenario = _replayed(ctl.post(RECORD + "/stop").text, tmp_path / "fwd.yaml", contracts)
    kinds = [next(iter(step)) for step in scenario.steps]
    # The bridge's own uploads to CleverTap are not requests: a settle stands where they ran.
    assert kinds == ["request", "settle", "request", "settle", "expect_state"]
    assert scenario.steps[-1]["expect_state"]["expect"]["total"] == 2


def test_the_record_command_writes_the_scenario_on_sigint(
    emulator: EmulatorHandle, ct: CleverTapDriver, tmp_path: Path, contracts: ContractRegistry
) -> None:
    out = tmp_path / "cli.yaml"
    command = [*MODULE_COMMAND, "record", "--url", emulator.url, "--out", str(out), "--name", "cli"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = _read_line(proc, STARTUP_TIMEOUT)
        assert line.startswith("recording 'cli' on "), line
        ct.upload_ok(PROFILE)
        proc.send_signal(signal.SIGINT)
        rest, errors = proc.communicate(timeout=EXIT_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, errors
    assert rest.decode() == f"wrote {out}\n"
    assert emulator.client.http.get(RECORD).json() == {"recording": False}
    scenario = load(out, contracts)
    assert scenario.name == "cli"
    assert replay([str(out)], None) == 0


def test_the_record_command_fails_when_a_recording_runs(
    emulator: EmulatorHandle, ctl: httpx.Client, tmp_path: Path
) -> None:
    ctl.post(RECORD, json={"name": "busy"})
    done = subprocess.run(
        [*MODULE_COMMAND, "record", "--url", emulator.url, "--out", str(tmp_path / "x.yaml")],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )
    ctl.post(RECORD + "/stop")
    assert done.returncode == 1
    assert "cannot start recording: 409" in done.stderr
    assert not (tmp_path / "x.yaml").exists()


@pytest.fixture(autouse=True)
def _no_recording_left(ctl: httpx.Client) -> Any:
    yield
    if ctl.get(RECORD).json()["recording"]:
        ctl.post(RECORD + "/stop")
