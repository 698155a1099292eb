"""What the CleverTap and mParticle surfaces answer: auth, errors, limits, in each platform's
own envelope."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

HTTP = httpx.Client(timeout=30)

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


def ct_fail(status: int, message: str) -> dict[str, Any]:
    return {"status": "fail", "error": message, "code": status}


def upload(emulator: Any, body: Any = None, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("headers", emulator.clevertap_headers)
    if "content" not in kwargs:
        kwargs["json"] = body if body is not None else {"d": [EVENT]}
    return HTTP.post(f"{emulator.url}/1/upload", **kwargs)


def ct_view(emulator: Any, view: str) -> dict[str, Any]:
    return emulator.client.http.get(f"/clevertap/EMU-TEST-0001/{view}").json()  # type: ignore[no-any-return]


def stored(emulator: Any) -> tuple[int, int]:
    """How many events and profiles the default account holds."""
    return ct_view(emulator, "events")["total"], ct_view(emulator, "profiles")["total"]


def batches(emulator: Any) -> dict[str, Any]:
    return emulator.client.http.get("/mparticle/1000/batches").json()  # type: ignore[no-any-return]


def basic(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def mp_post(
    emulator: Any,
    path: str = "/v2/events",
    body: Any = BATCH,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    headers = headers if headers is not None else emulator.mparticle_headers
    if content is not None:
        return HTTP.post(f"{emulator.url}{path}", headers=headers, content=content)
    return HTTP.post(f"{emulator.url}{path}", headers=headers, json=body)


def mp_error(response: httpx.Response, status: int, code: str) -> list[dict[str, str]]:
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert errors and all(e["code"] == code and e["message"] for e in errors)
    assert set(response.json()) == {"errors"}
    return errors  # type: ignore[no-any-return]


# -- CleverTap -------------------------------------------------------------------------------


def test_clevertap_upload_succeeds_and_stores_the_records(emulator: Any) -> None:
    response = upload(emulator, {"d": [EVENT, PROFILE]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "success", "processed": 2, "unprocessed": []}
    [event] = ct_view(emulator, "events")["events"]
    assert (event["identity"], event["evtName"], event["evtData"]) == ("user-1", "Charged", {})
    [profile] = ct_view(emulator, "profiles")["profiles"]
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
def test_clevertap_unknown_account_is_401(emulator: Any, headers: dict[str, str]) -> None:
    response = upload(emulator, headers=headers)
    assert response.status_code == 401
    assert response.json() == ct_fail(401, "Account ID is not valid")
    assert stored(emulator) == (0, 0)


@pytest.mark.parametrize(
    "passcode",
    ["wrong", "", None, "EMU-PASSCODE", "emu-passcode-and-more", "emu-passcod"],
    ids=["wrong", "empty", "missing", "case", "longer", "prefix"],
)
def test_clevertap_wrong_or_missing_passcode_is_401(emulator: Any, passcode: str | None) -> None:
    headers = {"X-CleverTap-Account-Id": "EMU-TEST-0001"}
    if passcode is not None:
        headers["X-CleverTap-Passcode"] = passcode
    response = upload(emulator, headers=headers)
    assert response.status_code == 401
    assert response.json() == ct_fail(401, "Invalid Credentials")
    assert stored(emulator) == (0, 0)


@pytest.mark.parametrize(
    ("account_header", "passcode_header"),
    [
        ("x-clevertap-account-id", "x-clevertap-passcode"),
        ("X-CLEVERTAP-ACCOUNT-ID", "X-CLEVERTAP-PASSCODE"),
        ("x-CleverTap-account-ID", "X-cLEVERtAP-pASSCODE"),
    ],
)
def test_clevertap_header_names_in_any_case(
    emulator: Any, account_header: str, passcode_header: str
) -> None:
    headers = {account_header: "EMU-TEST-0001", passcode_header: "emu-passcode"}
    assert upload(emulator, headers=headers).status_code == 200


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"d": [', b"\xff\xfe"])
def test_clevertap_malformed_json_is_400(emulator: Any, content: bytes) -> None:
    response = upload(emulator, content=content)
    assert response.status_code == 400
    assert response.json() == ct_fail(400, "Malformed request")


def test_clevertap_auth_is_checked_before_the_body(emulator: Any) -> None:
    headers = {"X-CleverTap-Account-Id": "EMU-TEST-0001", "X-CleverTap-Passcode": "nope"}
    response = upload(emulator, headers=headers, content=b"{not json")
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
    emulator: Any, body: Any, path: str
) -> None:
    response = upload(emulator, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "fail" and answer["code"] == 400
    assert answer["error"].startswith(f"{path}: ")
    assert stored(emulator) == (0, 0)


def test_clevertap_record_of_an_unknown_type_is_refused_on_its_own(emulator: Any) -> None:
    response = upload(emulator, {"d": [EVENT, {"type": "nope"}]})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["processed"]) == ("partial", 1)
    [refused] = answer["unprocessed"]
    assert refused["code"] == 524
    assert refused["error"].endswith("Skipped record number : 2")
    assert stored(emulator) == (1, 1)


def test_clevertap_accepts_1000_records(emulator: Any) -> None:
    response = upload(emulator, {"d": [EVENT] * 1000})
    assert response.json() == {"status": "success", "processed": 1000, "unprocessed": []}
    assert stored(emulator) == (1000, 1)


def test_clevertap_region_host_must_match_the_account(emulator: Any) -> None:
    # The default account lives in eu1.
    for host in ("us1.api.clevertap.com", "in1.api.clevertap.com", "US1.API.CLEVERTAP.COM:443"):
        headers = {**emulator.clevertap_headers, "Host": host}
        response = upload(emulator, headers=headers)
        assert response.status_code == 401, host
        assert response.json() == ct_fail(401, "Account ID is not valid")
    for host in ("eu1.api.clevertap.com", "EU1.api.clevertap.com:443", "api.clevertap.com"):
        headers = {**emulator.clevertap_headers, "Host": host}
        assert upload(emulator, headers=headers).status_code == 200, host
    assert stored(emulator) == (3, 1)


def test_clevertap_region_host_of_a_us1_account(emulator: Any) -> None:
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
            assert upload(emulator, headers={**headers, "Host": host}).status_code == status, host
    finally:
        emulator.client.http.delete("/tenants/US-ACCT")


def test_clevertap_unknown_path_under_1_is_a_clevertap_404(emulator: Any) -> None:
    response = HTTP.get(f"{emulator.url}/1/no-such-thing.json", headers=emulator.clevertap_headers)
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "fail" and body["code"] == 404
    assert "/1/no-such-thing.json" in body["error"]
    [entry] = emulator.client.requests()
    assert entry["platform"] == "clevertap"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_clevertap_wrong_method_is_a_clevertap_405(emulator: Any, method: str) -> None:
    response = HTTP.request(method, f"{emulator.url}/1/upload", headers=emulator.clevertap_headers)
    assert response.status_code == 405
    body = response.json()
    assert body["status"] == "fail" and body["code"] == 405
    assert response.headers["allow"] == "POST"


def test_clevertap_dry_run_validates_but_stores_nothing(emulator: Any) -> None:
    response = upload(emulator, {"d": [EVENT, PROFILE]}, params={"dryRun": "1"})
    assert response.json() == {"status": "success", "processed": 2, "unprocessed": []}
    assert stored(emulator) == (0, 0)
    [entry] = emulator.client.requests()
    assert entry["query"] == {"dryRun": "1"}
    assert entry["valid"] is True
    # A dry run still checks each record, and the envelope.
    bad = upload(emulator, {"d": [{"type": "nope"}]}, params={"dryRun": "1"})
    assert bad.status_code == 200
    assert bad.json()["status"] == "fail"
    assert [u["code"] for u in bad.json()["unprocessed"]] == [524]
    assert upload(emulator, {"d": []}, params={"dryRun": "1"}).status_code == 400
    assert stored(emulator) == (0, 0)
    assert upload(emulator, {"d": [EVENT]}, params={"dryRun": "0"}).status_code == 200
    assert stored(emulator) == (1, 1)


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
def test_mparticle_accepts_with_202_and_stores(emulator: Any, path: str) -> None:
    body: Any = [BATCH, BATCH] if "bulk" in path else BATCH
    response = mp_post(emulator, path, body)
    assert response.status_code == 202
    assert response.content == b""
    stored = batches(emulator)
    assert [b["batch"] for b in stored["batches"]] == (body if isinstance(body, list) else [body])
    assert {b["historical"] for b in stored["batches"]} == {path.endswith("/historical")}
    assert {b["input"] for b in stored["batches"]} == {emulator.mparticle["s2s_key"]}


def test_mparticle_missing_auth_is_401(emulator: Any) -> None:
    response = mp_post(emulator, headers={})
    mp_error(response, 401, "UNAUTHORIZED")
    assert batches(emulator)["total"] == 0


def test_mparticle_non_basic_auth_is_401(emulator: Any) -> None:
    response = mp_post(emulator, headers={"Authorization": "Bearer emu-s2s-key"})
    mp_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "headers",
    [
        basic("emu-s2s-key", "wrong"),
        basic("emu-s2s-key", ""),
        basic("unknown-key", "emu-s2s-secret"),
        basic("emu-s2s-secret", "emu-s2s-key"),
        {"Authorization": "Basic not-base64!!"},
        {"Authorization": "Basic " + base64.b64encode(b"emu-s2s-key").decode()},
    ],
    ids=["wrong-secret", "empty-secret", "unknown-key", "swapped", "not-base64", "no-colon"],
)
def test_mparticle_wrong_credentials_are_403(emulator: Any, headers: dict[str, str]) -> None:
    mp_error(mp_post(emulator, headers=headers), 403, "FORBIDDEN")
    assert batches(emulator)["total"] == 0


@pytest.mark.parametrize("secret", ["", "anything", "emu-s2s-secret"])
def test_mparticle_web_key_with_basic_is_403(emulator: Any, secret: str) -> None:
    headers = basic(emulator.mparticle["web_key"], secret)
    mp_error(mp_post(emulator, headers=headers), 403, "FORBIDDEN")


def test_mparticle_feed_key_and_secret_authenticate(emulator: Any) -> None:
    headers = basic(emulator.mparticle["feed_key"], emulator.mparticle["feed_secret"])
    assert mp_post(emulator, "/s2s/v2/events", headers=headers).status_code == 202
    [stored] = batches(emulator)["batches"]
    assert stored["input"] == emulator.mparticle["feed_key"]
    [entry] = emulator.client.requests()
    assert entry["tenant"] == emulator.mparticle["workspace"]


def test_mparticle_bulk_of_100_is_accepted_and_101_rejected(emulator: Any) -> None:
    assert mp_post(emulator, "/v2/bulkevents", [BATCH] * 100).status_code == 202
    assert batches(emulator)["total"] == 100
    errors = mp_error(mp_post(emulator, "/v2/bulkevents", [BATCH] * 101), 400, "BAD_REQUEST")
    assert errors[0]["message"].startswith("$: ")
    assert batches(emulator)["total"] == 100


@pytest.mark.parametrize("body", [[], {"events": []}, "text"], ids=["empty", "object", "string"])
def test_mparticle_bulk_must_be_a_non_empty_array(emulator: Any, body: Any) -> None:
    mp_error(mp_post(emulator, "/v2/bulkevents", body), 400, "BAD_REQUEST")


def test_mparticle_request_over_256_kb_is_413(emulator: Any) -> None:
    attributes = {f"attr_{i}": "v" * 1000 for i in range(270)}
    body = json.dumps({"user_attributes": attributes}).encode()
    assert len(body) > 256 * 1024
    response = mp_post(emulator, content=body)
    mp_error(response, 413, "REQUEST_ENTITY_TOO_LARGE")
    assert batches(emulator)["total"] == 0
    [entry] = emulator.client.requests()
    assert entry["status"] == 413
    assert entry["body_size"] == len(body)


def test_mparticle_batch_over_128_kb_in_a_bulk_is_413(emulator: Any) -> None:
    big = {"user_attributes": {f"a{i}": "v" * 1000 for i in range(140)}}
    response = mp_post(emulator, "/v2/bulkevents", [BATCH, big])
    mp_error(response, 413, "REQUEST_ENTITY_TOO_LARGE")
    assert batches(emulator)["total"] == 0


@pytest.mark.parametrize("content", [b"{not json", b"", b"[{]"])
def test_mparticle_invalid_json_is_400(emulator: Any, content: bytes) -> None:
    mp_error(mp_post(emulator, content=content), 400, "BAD_REQUEST")


def test_mparticle_auth_is_checked_before_the_body(emulator: Any) -> None:
    mp_error(mp_post(emulator, headers={}, content=b"{not json"), 401, "UNAUTHORIZED")


def test_mparticle_unknown_path_and_wrong_method_use_the_mparticle_envelope(
    emulator: Any,
) -> None:
    mp_error(HTTP.get(f"{emulator.url}/v2/nothing"), 404, "NOT_FOUND")
    mp_error(HTTP.post(f"{emulator.url}/s2s/v1/identify", json={}), 404, "NOT_FOUND")
    response = HTTP.get(f"{emulator.url}/v2/events", headers=emulator.mparticle_headers)
    mp_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
