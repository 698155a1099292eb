"""Every row of docs/error-shapes.md: the status, body and headers each API answers on its error
paths, including a fault rule without a message (the platform's own text for the status)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, MParticleDriver
from tests.drivers.clevertap import ct_fail, ct_headers, event_record
from tests.drivers.dsr import DsrDriver, dsr_request
from tests.drivers.mparticle import WEB_ORIGIN, tiny_batch

TABLE = Path(__file__).resolve().parents[2] / "docs" / "error-shapes.md"
Send = Callable[[CleverTapDriver, MParticleDriver], httpx.Response]


def upload(ct: CleverTapDriver, mp: MParticleDriver) -> httpx.Response:
    return ct.send(event_record("user-1", "Charged"))


def events(ct: CleverTapDriver, mp: MParticleDriver) -> httpx.Response:
    return mp.post(tiny_batch())


def identify(ct: CleverTapDriver, mp: MParticleDriver) -> httpx.Response:
    return mp.idsync(
        "identify", {"email": "a@example.com"}, headers={**mp.web, "Origin": WEB_ORIGIN}
    )


def profile(ct: CleverTapDriver, mp: MParticleDriver) -> httpx.Response:
    return mp.profile_get("1", mp.token())


def token(ct: CleverTapDriver, mp: MParticleDriver) -> httpx.Response:
    return mp.oauth()


def web_events(ct: CleverTapDriver, mp: MParticleDriver) -> httpx.Response:
    return mp.post_web(tiny_batch())


def ev_errors(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


def idsync_errors(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "Errors": [{"code": code, "message": message}],
        "ErrorCode": code,
        "StatusCode": status,
        "RequestId": None,
    }


@dataclass(frozen=True)
class Row:
    id: str
    send: Send
    status: int
    body: Any
    # header → value; None: the header must be absent
    headers: Mapping[str, str | None] = field(default_factory=dict)
    # a fault rule (no message) added before sending; `path` as a glob
    fault: dict[str, Any] | None = None


Headers = dict[str, str | None]
JSON: Headers = {"content-type": "application/json"}
CT_NO_RETRY: Headers = {**JSON, "retry-after": None}
CORS: Headers = {"access-control-allow-origin": WEB_ORIGIN}
MP_429: Headers = {"retry-after": "7", "x-mp-rate-limit-exceeded": "app"}


def ct_fault(status: int, **extra: Any) -> dict[str, Any]:
    return {"platform": "clevertap", "path": "/1/upload", "status": status, **extra}


def dsr_errors(status: int, domain: str, reason: str, message: str) -> dict[str, Any]:
    """OpenDSR's error body (https://docs.mparticle.com/developers/apis/dsr-api/v3/)."""
    error = {"domain": domain, "reason": reason, "message": message}
    return {"code": status, "message": message, "errors": [error]}


def mp_fault(path: str, status: int, **extra: Any) -> dict[str, Any]:
    return {"platform": "mparticle", "path": path, "status": status, **extra}


ROWS = [
    # -- CleverTap server API ----------------------------------------------------------------
    Row(
        "ct-401-account",
        lambda ct, mp: ct.send(headers=ct_headers("NO-SUCH-ACCOUNT")),
        401,
        ct_fail(401, "Account ID is not valid"),
        CT_NO_RETRY,
    ),
    Row(
        "ct-401-passcode",
        lambda ct, mp: ct.send(headers=ct_headers(passcode="wrong")),
        401,
        ct_fail(401, "Invalid Credentials"),
        CT_NO_RETRY,
    ),
    Row(
        "ct-400-malformed",
        lambda ct, mp: ct.post("/1/upload", content=b"{"),
        400,
        ct_fail(400, "Malformed request"),
        JSON,
    ),
    Row(
        "ct-404",
        lambda ct, mp: ct.get("/1/no-such-api.json"),
        404,
        ct_fail(404, "Resource not found: /1/no-such-api.json"),
        JSON,
    ),
    Row(
        "ct-405",
        lambda ct, mp: ct.request("DELETE", "/1/upload"),
        405,
        ct_fail(405, "Method DELETE not allowed"),
        {**JSON, "allow": "POST"},
    ),
    Row("ct-fault-400", upload, 400, ct_fail(400, "Malformed request"), JSON, ct_fault(400)),
    Row("ct-fault-401", upload, 401, ct_fail(401, "Invalid Credentials"), JSON, ct_fault(401)),
    Row(
        "ct-fault-429",
        upload,
        429,
        ct_fail(429, "Too many concurrent requests"),
        CT_NO_RETRY,
        ct_fault(429),
    ),
    Row(
        "ct-fault-429-retry-after",
        upload,
        429,
        ct_fail(429, "Too many concurrent requests"),
        {"retry-after": "7"},
        ct_fault(429, retry_after=7),
    ),
    Row("ct-fault-500", upload, 500, ct_fail(500, "Internal Server Error"), JSON, ct_fault(500)),
    Row("ct-fault-503", upload, 503, ct_fail(503, "Service Unavailable"), JSON, ct_fault(503)),
    # -- mParticle Events API ----------------------------------------------------------------
    Row(
        "ev-401",
        lambda ct, mp: mp.post(tiny_batch(), headers={}),
        401,
        ev_errors("UNAUTHORIZED", "Authorization header is missing."),
        JSON,
    ),
    Row(
        "ev-403",
        lambda ct, mp: mp.post(tiny_batch(), auth=("emu-s2s-key", "wrong")),
        403,
        ev_errors("FORBIDDEN", "The API key and secret are not valid."),
        JSON,
    ),
    Row(
        "ev-400-malformed",
        lambda ct, mp: mp.post(content=b"{"),
        400,
        ev_errors("BAD_REQUEST", "Request body is not valid JSON."),
        JSON,
    ),
    Row(
        "ev-fault-401",
        events,
        401,
        ev_errors("UNAUTHORIZED", "Unauthorized"),
        JSON,
        mp_fault("/v2/events", 401),
    ),
    Row(
        "ev-fault-429",
        events,
        429,
        ev_errors("TOO_MANY_REQUESTS", "Too Many Requests"),
        {**JSON, **MP_429},
        mp_fault("/v2/events", 429, retry_after=7),
    ),
    Row(
        "ev-fault-503",
        events,
        503,
        ev_errors("SERVER_ERROR", "Service Unavailable"),
        {**JSON, "retry-after": None},
        mp_fault("/v2/events", 503),
    ),
    # -- IDSync --------------------------------------------------------------------------------
    Row(
        "idsync-401",
        lambda ct, mp: mp.idsync(
            "identify", {"email": "a@example.com"}, headers={"x-mp-key": "no"}
        ),
        401,
        idsync_errors(401, "UNAUTHORIZED", "Unknown API key 'no'."),
        JSON,
    ),
    Row(
        "idsync-fault-401",
        identify,
        401,
        idsync_errors(401, "UNAUTHORIZED", "Unauthorized"),
        {**JSON, **CORS},
        mp_fault("/v1/identify", 401),
    ),
    Row(
        "idsync-fault-429",
        identify,
        429,
        idsync_errors(429, "TOO_MANY_REQUESTS", "Too Many Requests"),
        {**JSON, **CORS, "retry-after": "7"},
        mp_fault("/v1/identify", 429, retry_after=7),
    ),
    # -- Profile API and its OAuth -------------------------------------------------------------
    Row(
        "profile-401",
        lambda ct, mp: mp.profile_get("1", None),
        401,
        ev_errors("UNAUTHORIZED", "A valid bearer token is needed."),
        JSON,
    ),
    Row(
        "profile-fault-429",
        profile,
        429,
        ev_errors("TOO_MANY_REQUESTS", "Too Many Requests"),
        {**JSON, "retry-after": "7"},
        mp_fault("/userprofile/*", 429, retry_after=7),
    ),
    Row(
        "dsr-401",
        lambda ct, mp: DsrDriver(mp.http).submit(3, dsr_request(3), auth=("nobody", "x")),
        401,
        dsr_errors(401, "Authentication", "Unauthorized", "The API key and secret are not valid."),
        JSON,
    ),
    Row(
        "dsr-fault-429",
        lambda ct, mp: DsrDriver(mp.http).submit(3, dsr_request(3)),
        429,
        dsr_errors(429, "RateLimit", "TooManyRequests", "Too Many Requests"),
        {**JSON, "retry-after": "7"},
        mp_fault("/v3/requests", 429, retry_after=7),
    ),
    Row(
        "oauth-401",
        lambda ct, mp: mp.oauth(client_secret="wrong"),
        401,
        {"error": "access_denied", "error_description": "Unauthorized"},
        JSON,
    ),
    Row(
        "oauth-fault-401",
        token,
        401,
        {"error": "access_denied", "error_description": "Unauthorized"},
        JSON,
        mp_fault("/oauth/token", 401),
    ),
    Row(
        "oauth-fault-429",
        token,
        429,
        {"error": "temporarily_unavailable", "error_description": "Too Many Requests"},
        {**JSON, "retry-after": "7"},
        mp_fault("/oauth/token", 429, retry_after=7),
    ),
    # -- Data Planning API ---------------------------------------------------------------------
    Row(
        "plans-401",
        lambda ct, mp: mp.plans_request("GET", access=None),
        401,
        ev_errors("UNAUTHORIZED", "A valid bearer token is needed."),
        JSON,
    ),
    Row(
        "plans-404",
        lambda ct, mp: mp.plans_request("GET", "/nope", access=mp.token()),
        404,
        ev_errors("NOT_FOUND", "The specified plan ID nope in workspace 1000 was not found."),
        JSON,
    ),
    # -- Web SDK -------------------------------------------------------------------------------
    Row(
        "websdk-401",
        lambda ct, mp: mp.post_web(tiny_batch(), key="no-such-key"),
        401,
        ev_errors("UNAUTHORIZED", "Unknown web API key."),
        {**JSON, **CORS},
    ),
    Row(
        "websdk-fault-429",
        web_events,
        429,
        ev_errors("TOO_MANY_REQUESTS", "Too Many Requests"),
        {**JSON, **CORS, **MP_429},
        mp_fault("/v3/JS/*/events", 429, retry_after=7),
    ),
    # -- Platform API audiences, S2S alias, CleverTap's Custom List upload ---------------------
    Row(
        "platform-401",
        lambda ct, mp: mp.platform("GET", "/audiences", mp.token(), account=None),
        401,
        ev_errors("UNAUTHORIZED", "The accountId query parameter is required."),
        JSON,
    ),
    Row(
        "alias-400",
        lambda ct, mp: mp.alias(
            source_mpid="7", destination_mpid="7", start_unixtime_ms=0, end_unixtime_ms=0
        ),
        400,
        ev_errors("BAD_REQUEST", "source_mpid and destination_mpid must be different MPIDs."),
        JSON,
    ),
    Row(
        "customlist-403",
        lambda ct, mp: ct.put_custom_list("/custom_list_uploads/unknown", [("i", "a")]),
        403,
        {"status": "fail", "error": "The upload URL is not valid or has expired.", "code": 403},
        JSON,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_error_shape(
    row: Row, emulator: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver
) -> None:
    if row.fault is not None:
        emulator.client.add_fault(**row.fault, times=1)
    response = row.send(ct, mp)
    assert response.status_code == row.status, response.text
    assert response.json() == row.body
    for name, value in row.headers.items():
        if value is None:
            assert name not in response.headers, (name, response.headers[name])
        elif name == "content-type":
            assert response.headers[name].startswith(value), response.headers[name]
        else:
            assert response.headers.get(name) == value, (name, response.headers)


def test_the_table_and_the_test_name_the_same_rows() -> None:
    """docs/error-shapes.md names each row's test; no row is documented untested or tested
    undocumented."""
    documented = re.findall(r"test_error_shape\[([a-z0-9-]+)\]", TABLE.read_text())
    assert sorted(documented) == sorted(row.id for row in ROWS)
