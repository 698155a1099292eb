"""What the CleverTap and mParticle surfaces answer: auth, errors, limits, in each platform's
own envelope."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from emulator.testing.defaults import basic_auth
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.clevertap import ct_fail
from tests.drivers.mparticle import mp_errors

EVENT = {"type": "event", "identity": "user-1", "evtName": "Charged"}
PROFILE = {"type": "profile", "identity": "user-1", "profileData": {"Name": "Ada"}}
BATCH = {
    "events": [
        {
            "event_type": "custom_event",
            "data": {"event_name": "Played", "custom_event_type": "other"},
        }
    ]
}


def stored(views: ControlViews) -> tuple[int, int]:
    """How many events and profiles the default account holds."""
    return views.ct_page("events")["total"], views.ct_page("profiles")["total"]


# -- CleverTap -------------------------------------------------------------------------------


def test_clevertap_upload_succeeds_and_stores_the_records(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    response = ct.post("/1/upload", {"d": [EVENT, PROFILE]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "success", "processed": 2, "unprocessed": []}
    [event] = views.ct_page("events")["events"]
    assert (event["identity"], event["evtName"], event["evtData"]) == ("user-1", "Charged", {})
    [profile] = views.ct_page("profiles")["profiles"]
    assert profile["identities"] == ["user-1"]
    assert profile["profileData"]["Name"] == "Ada"
    assert profile["events"]["Charged"]["count"] == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-CleverTap-Account-Id": "NO-SUCH-ACCOUNT", "X-CleverTap-Passcode": "emu-passcode"},
        {"X-CleverTap-Passcode": "emu-passcode"},
        {"X-CleverTap-Account-Id": "", "X-CleverTap-Passcode": "emu-passcode"},
    ],
    ids=["unknown", "missing", "empty"],
)
def test_clevertap_unknown_account_is_401(
    headers: dict[str, str], ct: CleverTapDriver, views: ControlViews
) -> None:
    response = ct.post("/1/upload", {"d": [EVENT]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == ct_fail(401, "Account ID is not valid")
    assert stored(views) == (0, 0)


@pytest.mark.parametrize(
    "passcode",
    ["wrong", "", None, "EMU-PASSCODE", "emu-passcode-and-more", "emu-passcod"],
    ids=["wrong", "empty", "missing", "case", "longer", "prefix"],
)
def test_clevertap_wrong_or_missing_passcode_is_401(
    passcode: str | None, ct: CleverTapDriver, views: ControlViews
) -> None:
    headers = {"X-CleverTap-Account-Id": "EMU-TEST-0001"}
    if passcode is not None:
        headers["X-CleverTap-Passcode"] = passcode
    response = ct.post("/1/upload", {"d": [EVENT]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == ct_fail(401, "Invalid Credentials")
    assert stored(views) == (0, 0)


@pytest.mark.parametrize(
    ("account_header", "passcode_header"),
    [
        ("x-clevertap-account-id", "x-clevertap-passcode"),
        ("X-CLEVERTAP-ACCOUNT-ID", "X-CLEVERTAP-PASSCODE"),
        ("x-CleverTap-account-ID", "X-cLEVERtAP-pASSCODE"),
    ],
)
def test_clevertap_header_names_in_any_case(
    account_header: str, passcode_header: str, ct: CleverTapDriver
) -> None:
    headers = {account_header: "EMU-TEST-0001", passcode_header: "emu-passcode"}
    assert ct.post("/1/upload", {"d": [EVENT]}, headers=headers).status_code == 200


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"d": [', b"\xff\xfe"])
def test_clevertap_malformed_json_is_400(content: bytes, ct: CleverTapDriver) -> None:
    response = ct.post("/1/upload", content=content)
    assert response.status_code == 400
    assert response.json() == ct_fail(400, "Malformed request")


def test_clevertap_auth_is_checked_before_the_body(ct: CleverTapDriver) -> None:
    headers = {"X-CleverTap-Account-Id": "EMU-TEST-0001", "X-CleverTap-Passcode": "nope"}
    response = ct.post("/1/upload", headers=headers, content=b"{not json")
    assert response.json() == ct_fail(401, "Invalid Credentials")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "$"),
        ({"d": []}, "$.d"),
        ({"d": [EVENT] * 1001}, "$.d"),
        ([EVENT], "$"),
        ({"d": "nope"}, "$.d"),
    ],
    ids=["no-d", "empty", "over-1000", "not-an-object", "d-not-an-array"],
)
def test_clevertap_invalid_upload_is_400_naming_the_path(
    body: Any, path: str, ct: CleverTapDriver, views: ControlViews
) -> None:
    response = ct.post("/1/upload", body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "fail" and answer["code"] == 400
    assert answer["error"].startswith(f"{path}: ")
    assert stored(views) == (0, 0)


def test_clevertap_record_of_an_unknown_type_is_refused_on_its_own(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    response = ct.post("/1/upload", {"d": [EVENT, {"type": "nope"}]})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["processed"]) == ("partial", 1)
    [refused] = answer["unprocessed"]
    assert refused["code"] == 524
    assert refused["error"].endswith("Skipped record number : 2")
    assert stored(views) == (1, 1)


def test_clevertap_accepts_1000_records(ct: CleverTapDriver, views: ControlViews) -> None:
    response = ct.post("/1/upload", {"d": [EVENT] * 1000})
    assert response.json() == {"status": "success", "processed": 1000, "unprocessed": []}
    assert stored(views) == (1000, 1)


def test_clevertap_region_host_must_match_the_account(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    # The default account lives in eu1.
    for host in ("us1.api.clevertap.com", "in1.api.clevertap.com", "US1.API.CLEVERTAP.COM:443"):
        headers = {**ct.headers, "Host": host}
        response = ct.post("/1/upload", {"d": [EVENT]}, headers=headers)
        assert response.status_code == 401, host
        assert response.json() == ct_fail(401, "Account ID is not valid")
    for host in ("eu1.api.clevertap.com", "EU1.api.clevertap.com:443", "api.clevertap.com"):
        headers = {**ct.headers, "Host": host}
        assert ct.post("/1/upload", {"d": [EVENT]}, headers=headers).status_code == 200, host
    assert stored(views) == (3, 1)


def test_clevertap_region_host_of_a_us1_account(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    account = {"kind": "clevertap_account", "id": "US-ACCT", "passcode": "us-pass", "region": "us1"}
    emulator.client.add_tenant(account)
    try:
        headers = {"X-CleverTap-Account-Id": "US-ACCT", "X-CleverTap-Passcode": "us-pass"}
        expected = {
            "us1.api.clevertap.com": 200,
            "eu1.api.clevertap.com": 401,
            "api.clevertap.com": 401,  # the bare host is Europe's
            "localhost:8787": 200,  # any other host reaches every account
        }
        for host, status in expected.items():
            assert (
                ct.post("/1/upload", {"d": [EVENT]}, headers={**headers, "Host": host}).status_code
                == status
            ), host
    finally:
        emulator.client.http.delete("/tenants/US-ACCT")


def test_clevertap_unknown_path_under_1_is_a_clevertap_404(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    response = ct.get("/1/no-such-thing.json")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "fail" and body["code"] == 404
    assert "/1/no-such-thing.json" in body["error"]
    [entry] = emulator.client.requests()
    assert entry["platform"] == "clevertap"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_clevertap_wrong_method_is_a_clevertap_405(method: str, ct: CleverTapDriver) -> None:
    response = ct.request(method, "/1/upload")
    assert response.status_code == 405
    body = response.json()
    assert body["status"] == "fail" and body["code"] == 405
    assert response.headers["allow"] == "POST"


def test_clevertap_dry_run_validates_but_stores_nothing(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    response = ct.post("/1/upload", {"d": [EVENT, PROFILE]}, params={"dryRun": "1"})
    assert response.json() == {"status": "success", "processed": 2, "unprocessed": []}
    assert stored(views) == (0, 0)
    [entry] = emulator.client.requests()
    assert entry["query"] == {"dryRun": "1"}
    assert entry["valid"] is True
    # A dry run still checks each record, and the envelope.
    bad = ct.post("/1/upload", {"d": [{"type": "nope"}]}, params={"dryRun": "1"})
    assert bad.status_code == 200
    assert bad.json()["status"] == "fail"
    assert [u["code"] for u in bad.json()["unprocessed"]] == [524]
    assert ct.post("/1/upload", {"d": []}, params={"dryRun": "1"}).status_code == 400
    assert stored(views) == (0, 0)
    assert ct.post("/1/upload", {"d": [EVENT]}, params={"dryRun": "0"}).status_code == 200
    assert stored(views) == (1, 1)


# -- mParticle -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v2/events",
        "/s2s/v2/events",
        "/v2/bulkevents",
        "/s2s/v2/bulkevents",
        "/v2/bulkevents/historical",
        "/s2s/v2/bulkevents/historical",
    ],
)
def test_mparticle_accepts_with_202_and_stores(
    emulator: EmulatorHandle, path: str, mp: MParticleDriver, views: ControlViews
) -> None:
    body: Any = [BATCH, BATCH] if "bulk" in path else BATCH
    response = mp.post(body, path=path)
    assert response.status_code == 202
    assert response.content == b""
    stored = views.mp_page("batches")
    assert [b["batch"] for b in stored["batches"]] == (body if isinstance(body, list) else [body])
    assert {b["historical"] for b in stored["batches"]} == {path.endswith("/historical")}
    assert {b["input"] for b in stored["batches"]} == {emulator.mparticle["s2s_key"]}


def test_mparticle_missing_auth_is_401(mp: MParticleDriver, views: ControlViews) -> None:
    response = mp.post(BATCH, headers={})
    mp_errors(response, 401, "UNAUTHORIZED")
    assert views.mp_page("batches")["total"] == 0


def test_mparticle_non_basic_auth_is_401(mp: MParticleDriver) -> None:
    response = mp.post(BATCH, headers={"Authorization": "Bearer emu-s2s-key"})
    mp_errors(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "headers",
    [
        basic_auth("emu-s2s-key", "wrong"),
        basic_auth("emu-s2s-key", ""),
        basic_auth("unknown-key", "emu-s2s-secret"),
        basic_auth("emu-s2s-secret", "emu-s2s-key"),
        {"Authorization": "Basic not-base64!!"},
        {"Authorization": "Basic " + base64.b64encode(b"emu-s2s-key").decode()},
    ],
    ids=["wrong-secret", "empty-secret", "unknown-key", "swapped", "not-base64", "no-colon"],
)
def test_mparticle_wrong_credentials_are_403(
    headers: dict[str, str], mp: MParticleDriver, views: ControlViews
) -> None:
    mp_errors(mp.post(BATCH, headers=headers), 403, "FORBIDDEN")
    assert views.mp_page("batches")["total"] == 0


@pytest.mark.parametrize("secret", ["", "anything", "emu-s2s-secret"])
def test_mparticle_web_key_with_basic_is_403(
    emulator: EmulatorHandle, secret: str, mp: MParticleDriver
) -> None:
    headers = basic_auth(emulator.mparticle["web_key"], secret)
    mp_errors(mp.post(BATCH, headers=headers), 403, "FORBIDDEN")


def test_mparticle_feed_key_and_secret_authenticate(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    headers = basic_auth(emulator.mparticle["feed_key"], emulator.mparticle["feed_secret"])
    assert mp.post(BATCH, path="/s2s/v2/events", headers=headers).status_code == 202
    [stored] = views.mp_page("batches")["batches"]
    assert stored["input"] == emulator.mparticle["feed_key"]
    [entry] = emulator.client.requests()
    assert entry["tenant"] == emulator.mparticle["workspace"]


def test_mparticle_bulk_of_100_is_accepted_and_101_rejected(
    mp: MParticleDriver, views: ControlViews
) -> None:
    assert mp.post([BATCH] * 100, path="/v2/bulkevents").status_code == 202
    assert views.mp_page("batches")["total"] == 100
    errors = mp_errors(mp.post([BATCH] * 101, path="/v2/bulkevents"), 400, "BAD_REQUEST")
    assert errors[0]["message"].startswith("$: ")
    assert views.mp_page("batches")["total"] == 100


@pytest.mark.parametrize("body", [[], {"events": []}, "text"], ids=["empty", "object", "string"])
def test_mparticle_bulk_must_be_a_non_empty_array(body: Any, mp: MParticleDriver) -> None:
    mp_errors(mp.post(body, path="/v2/bulkevents"), 400, "BAD_REQUEST")


def test_mparticle_request_over_256_kb_is_413(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    attributes = {f"attr_{i}": "v" * 1000 for i in range(270)}
    body = json.dumps({"user_attributes": attributes}).encode()
    assert len(body) > 256 * 1024
    response = mp.post(content=body)
    mp_errors(response, 413, "REQUEST_ENTITY_TOO_LARGE")
    assert views.mp_page("batches")["total"] == 0
    [entry] = emulator.client.requests()
    assert entry["status"] == 413
    assert entry["body_size"] == len(body)


def test_mparticle_batch_over_128_kb_in_a_bulk_is_413(
    mp: MParticleDriver, views: ControlViews
) -> None:
    big = {"user_attributes": {f"a{i}": "v" * 1000 for i in range(140)}}
    response = mp.post([BATCH, big], path="/v2/bulkevents")
    mp_errors(response, 413, "REQUEST_ENTITY_TOO_LARGE")
    assert views.mp_page("batches")["total"] == 0


@pytest.mark.parametrize("content", [b"{not json", b"", b"[{]"])
def test_mparticle_invalid_json_is_400(content: bytes, mp: MParticleDriver) -> None:
    mp_errors(mp.post(content=content), 400, "BAD_REQUEST")


def test_mparticle_auth_is_checked_before_the_body(mp: MParticleDriver) -> None:
    mp_errors(mp.post(headers={}, content=b"{not json"), 401, "UNAUTHORIZED")


def test_mparticle_unknown_path_and_wrong_method_use_the_mparticle_envelope(
    mp: MParticleDriver,
) -> None:
    mp_errors(mp.http.get("/v2/nothing"), 404, "NOT_FOUND")
    mp_errors(mp.http.post("/s2s/v1/identify", json={}), 404, "NOT_FOUND")
    response = mp.http.get("/v2/events", auth=mp.auth)
    mp_errors(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
