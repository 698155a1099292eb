"""OpenDSR's request limits: 1,000 requests a minute and 80,000 new requests a day per workspace
(https://docs.mparticle.com/developers/apis/dsr-api/v3/, https://docs.mparticle.com/developers/apis/dsr-api/v2/),
429 beyond them with `Retry-After` in OpenDSR's error envelope. The emulator counts on its own
clock (moved here instead of waiting), in fixed windows, per workspace; the workspace settings
`dsr_requests_per_minute` and `dsr_new_requests_per_day` change them (0 off)
(docs/mparticle-behaviour.md, "OpenDSR")."""

from __future__ import annotations

from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.drivers.defaults import WORKSPACE
from tests.drivers.dsr import DsrDriver, dsr_request

T0 = 1_800_000_000.0
DAY = 24 * 3600


def workspace(emulator: EmulatorHandle, **changes: Any) -> None:
    (doc,) = [t for t in emulator.client.tenants() if t["id"] == WORKSPACE]
    emulator.client.put_tenant({**doc, **changes})


def too_many(response: Any, message: str) -> int:
    """OpenDSR's 429: `{code, message, errors: [{domain, reason, message}]}` with Retry-After;
    answers the Retry-After seconds."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["code"] == 429 and body["message"] == message, body
    assert body["errors"][0]["reason"] == "TooManyRequests", body
    wait = int(response.headers["Retry-After"])
    assert wait >= 1
    return wait


def test_the_1001st_call_in_a_minute_is_429_until_the_minute_ends(
    emulator: EmulatorHandle, dsr: DsrDriver
) -> None:
    """Documented default, 1,000 requests a minute: every authenticated OpenDSR call counts;
    the next one is refused until the minute (emulator clock) is over."""
    emulator.client.freeze_clock(T0)
    for _ in range(1000):
        response = dsr.http.get("/v3/discovery", auth=dsr.auth)
        assert response.status_code == 200, response.text
    refused = dsr.http.get("/v3/discovery", auth=dsr.auth)
    assert too_many(refused, "Rate limit exceeded: 1000 requests a minute.") == 60
    emulator.client.advance_clock(59)
    too_many(dsr.submit(3, dsr_request(3)), "Rate limit exceeded: 1000 requests a minute.")
    emulator.client.advance_clock(1)
    dsr.submitted(3, dsr_request(3))


def test_new_requests_a_day_count_only_accepted_submissions(
    emulator: EmulatorHandle, dsr: DsrDriver
) -> None:
    """The daily limit (80,000 by default; 2 here) counts new requests: a refused submission
    does not use it up, status calls do not count, and the next day takes requests again."""
    workspace(emulator, dsr_new_requests_per_day=2)
    emulator.client.freeze_clock(T0)
    first = dsr.submitted(3, dsr_request(3))
    assert dsr.submit(3, {"subject_request_type": "erasure"}).status_code == 400
    dsr.submitted(2, dsr_request(2, identities={"email": "other@example.com"}))
    assert dsr.status(3, first["subject_request_id"]).status_code == 200
    refused = dsr.submit(1, dsr_request(1, identities={"email": "third@example.com"}))
    assert too_many(refused, "Rate limit exceeded: 2 new requests a day.") == DAY
    emulator.client.advance_clock(DAY)
    dsr.submitted(1, dsr_request(1, identities={"email": "third@example.com"}))


def test_a_limit_set_low_applies_and_0_turns_the_limits_off(
    emulator: EmulatorHandle, dsr: DsrDriver
) -> None:
    """`dsr_requests_per_minute = 3` refuses the fourth call of the minute;
    `dsr_requests_per_minute = 0` and `dsr_new_requests_per_day = 0`: no limit."""
    workspace(emulator, dsr_requests_per_minute=3, dsr_new_requests_per_day=0)
    emulator.client.freeze_clock(T0)
    for _ in range(3):
        dsr.discovery(3)
    too_many(
        dsr.http.get("/v2/discovery", auth=dsr.auth), "Rate limit exceeded: 3 requests a minute."
    )
    workspace(emulator, dsr_requests_per_minute=0, dsr_new_requests_per_day=0)
    for n in range(5):
        dsr.submitted(3, dsr_request(3, identities={"email": f"u{n}@example.com"}))
