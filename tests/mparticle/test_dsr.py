"""mParticle data subject requests (OpenDSR): v1 `/v1/opengdpr_requests`, v2 and v3
`/requests` (https://docs.mparticle.com/developers/apis/dsr-api/v1/, /v2/, /v3/). Submit,
status, cancel, discovery, signed status callbacks, and what an erasure or an access request does
to the workspace. Timings are the emulator's documented choices (docs/mparticle-behaviour.md,
"OpenDSR"): an erasure waits 7 days unless `skip_waiting_period`, is `in_progress` 60 s after
that and `completed` an hour later."""

from __future__ import annotations

import base64
import json

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.dsr import CallbackReceiver, DsrDriver, dsr_request, skip_waiting, verify
from tests.drivers.mparticle import custom_event, mp_batch

T0 = 1_800_000_000.0
WAIT = 7 * 24 * 3600
QUEUE = 60
PROCESSING = 3600
JANE = {"email": "jane@example.com"}


def jane_batch() -> dict[str, object]:
    return mp_batch(
        custom_event("bought"),
        customer_id="jane-1",
        identities={"email": "jane@example.com"},
        user_attributes={"$city": "Paris"},
    )


def dsr_error(response: object, status: int) -> dict[str, object]:
    """OpenDSR's error envelope: {code, message, errors: [{domain, reason, message}]}."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["code"] == status and isinstance(body["message"], str), body
    errors = body["errors"]
    assert isinstance(errors, list) and errors, body
    assert set(errors[0]) == {"domain", "reason", "message"}, body
    return body


def test_erasure_end_to_end_with_signed_callbacks(
    dsr: DsrDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    """Erasure: 201 signed; pending through the waiting period, then in_progress, completed; a
    signed callback per status (creation too) verifying with the certificate the discovery
    document names; the user's profile, batches and memberships gone
    (https://docs.mparticle.com/developers/apis/dsr-api/v3/, "Callbacks")."""
    views.freeze(T0)
    mp.send(jane_batch())
    audience = views.define_audience("Parisians", {"attribute": "$city", "op": "exists"})
    mpid = views.mpid_of("jane@example.com")
    assert [m["mpid"] for m in views.memberships(audience_id=audience["id"])] == [mpid]
    with CallbackReceiver() as receiver:
        body = dsr_request(3, identities=JANE, status_callback_urls=[receiver.url])
        response = dsr.submit(3, body)
        assert response.status_code == 201, response.text
        certificate = dsr.certificate(3)
        assert response.headers["X-OpenDSR-Processor-Domain"] == "opendsr.mparticle.com"
        assert verify(certificate, response.content, response.headers["X-OpenDSR-Signature"])
        answer = response.json()
        request_id = body["subject_request_id"]
        assert answer["subject_request_id"] == request_id
        assert answer["controller_id"] == "1000"
        assert json.loads(base64.b64decode(answer["encoded_request"])) == body
        assert answer["received_time"] == "2027-01-15T08:00:00Z"
        assert answer["expected_completion_time"] == "2027-01-22T09:01:00Z"
        views.advance(WAIT + QUEUE - 1)
        assert dsr.request_status(3, request_id) == "pending"
        assert views.mp_users(identity="jane@example.com") != []
        views.advance(1)
        assert dsr.request_status(3, request_id) == "in_progress"
        views.advance(PROCESSING)
        assert dsr.request_status(3, request_id) == "completed"
        views.settle()
    statuses = [json.loads(c["body"])["request_status"] for c in receiver.received]
    assert statuses == ["pending", "in_progress", "completed"]
    for callback in receiver.received:
        assert callback["path"] == "/opendsr/callbacks"
        assert callback["headers"]["X-OpenDSR-Processor-Domain"] == "opendsr.mparticle.com"
        assert verify(certificate, callback["body"], callback["headers"]["X-OpenDSR-Signature"])
    assert not verify(certificate, receiver.received[0]["body"] + b" ", "AAAA")
    rows = views.dsr_callbacks()
    assert [r["status"] for r in rows] == ["delivered"] * 3
    (stored,) = views.rows("/mparticle/1000/dsr-requests", "requests")
    assert stored["erased"] == [mpid]
    assert [h["status"] for h in stored["history"]] == ["pending", "in_progress", "completed"]
    assert views.mp_users(identity="jane@example.com") == []
    assert views.mp_users(mpid=mpid) == []
    assert [b for b in views.mp_batches() if b.get("mpid") == mpid] == []
    assert views.memberships(mpid=mpid) == []
    assert views.audiences()[0]["members"] == []


def test_callback_retried_after_5xx(dsr: DsrDriver, views: ControlViews) -> None:
    """A callback the receiver answers 503 is sent again, unchanged, until it is taken; the
    delivery keeps every attempt (the bridge's retry policy)."""
    with CallbackReceiver(failures=2) as receiver:
        dsr.submitted(3, dsr_request(3, status_callback_urls=[receiver.url]))
        views.settle()
    assert [c["status"] for c in receiver.received] == [503, 503, 202]
    assert len({c["body"] for c in receiver.received}) == 1
    (row,) = views.dsr_callbacks()
    assert row["status"] == "delivered"
    assert [a["status"] for a in row["attempts"]] == [503, 503, 202]


def test_skip_waiting_period(dsr: DsrDriver, views: ControlViews) -> None:
    """`skip_waiting_period` (v3 extension) starts the erasure without the waiting period."""
    views.freeze(T0)
    body = dsr_request(3, identities=JANE, **skip_waiting())
    answer = dsr.submitted(3, body)
    assert answer["expected_completion_time"] == "2027-01-15T09:01:00Z"
    request_id = body["subject_request_id"]
    assert dsr.request_status(3, request_id) == "pending"
    views.advance(QUEUE)
    assert dsr.request_status(3, request_id) == "in_progress"
    views.advance(PROCESSING)
    assert dsr.request_status(3, request_id) == "completed"


@pytest.mark.parametrize("kind", ["access", "portability"])
def test_access_results_url(
    dsr: DsrDriver, mp: MParticleDriver, views: ControlViews, kind: str
) -> None:
    """Access and portability: no waiting period; once completed, `results_url` downloads what
    the workspace holds (profile, audiences, batches); the user stays."""
    views.freeze(T0)
    mp.send(jane_batch())
    body = dsr_request(2, kind, identities={"controller_customer_id": "jane-1"})
    dsr.submitted(2, body)
    status = dsr.status(2, body["subject_request_id"]).json()
    assert status["results_url"] is None and status["request_status"] == "pending"
    views.advance(QUEUE + PROCESSING)
    status = dsr.status(2, body["subject_request_id"]).json()
    assert status["request_status"] == "completed"
    results = dsr.http.get(status["results_url"])
    assert results.status_code == 200, results.text
    (profile,) = results.json()["profiles"]
    assert profile["identities"] == {"customer_id": "jane-1", "email": "jane@example.com"}
    assert profile["attributes"] == {"$city": "Paris"}
    assert [b["events"][0]["data"]["event_name"] for b in profile["batches"]] == ["bought"]
    assert views.mp_users(identity="jane-1") != []


def test_cancel_only_while_pending(dsr: DsrDriver, views: ControlViews) -> None:
    """DELETE cancels a pending request (`expected_completion_time: null`); later it is 400."""
    views.freeze(T0)
    body = dsr_request(3, identities=JANE)
    dsr.submitted(3, body)
    request_id = body["subject_request_id"]
    response = dsr.cancel(3, request_id)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "expected_completion_time": None,
        "received_time": "2027-01-15T08:00:00Z",
        "subject_request_id": request_id,
        "controller_id": "1000",
    }
    assert dsr.request_status(3, request_id) == "cancelled"
    views.advance(WAIT + QUEUE + PROCESSING)
    assert dsr.request_status(3, request_id) == "cancelled"
    dsr_error(dsr.cancel(3, request_id), 400)
    other = dsr_request(3, identities={"email": "x@example.com"}, **skip_waiting())
    dsr.submitted(3, other)
    views.advance(QUEUE)
    dsr_error(dsr.cancel(3, other["subject_request_id"]), 400)


def test_duplicate_subject_request_id(dsr: DsrDriver) -> None:
    """A `subject_request_id` already submitted is a 400."""
    body = dsr_request(3)
    dsr.submitted(3, body)
    dsr_error(dsr.submit(3, {**body, "subject_identities": {}}), 400)
    dsr_error(dsr.submit(3, body), 400)


def test_same_request_in_progress_is_409(dsr: DsrDriver) -> None:
    """The same type for the same identities while one is being processed: 409."""
    dsr.submitted(3, dsr_request(3, identities=JANE))
    assert dsr_error(dsr.submit(3, dsr_request(3, identities=JANE)), 409)["code"] == 409
    dsr.submitted(3, dsr_request(3, "access", identities=JANE))


@pytest.mark.parametrize(
    ("version", "change"),
    [
        (3, {"subject_request_type": "rectification"}),
        (3, {"subject_identities": {"passport": {"value": "x", "encoding": "raw"}}}),
        (3, {"subject_identities": {"email": {"value": "x", "encoding": "sha256"}}}),
        (
            3,
            {
                "subject_identities": {
                    "mpid": {"value": "42", "encoding": "raw"},
                    "email": {"value": "x", "encoding": "raw"},
                }
            },
        ),
        (3, {"regulation": "lgpd"}),
        (2, {"subject_identities": [{"identity_type": "passport", "identity_value": "x"}]}),
        (1, {"subject_request_id": "not-a-uuid"}),
        (3, {"status_callback_urls": ["https://example.com/opendsr"]}),
    ],
)
def test_refused_requests(dsr: DsrDriver, version: int, change: dict[str, object]) -> None:
    """Unsupported request types, identity types and encodings, an mpid not alone, an unknown
    regulation, a non-UUID id and a callback URL off loopback (the emulator's delivery rule):
    400 in OpenDSR's envelope, nothing stored."""
    body = {**dsr_request(version), **change}
    dsr_error(dsr.submit(version, body), 400)
    assert dsr.status(version, str(body["subject_request_id"])).status_code == 404


@pytest.mark.parametrize("auth", [None, ("emu-s2s-key", "wrong"), ("nobody", "x")])
def test_bad_auth_is_401(
    dsr: DsrDriver, emulator: EmulatorHandle, auth: tuple[str, str] | None
) -> None:
    """Basic with the workspace's server key and secret; anything else is 401."""
    if auth is None:
        response = dsr.http.post("/v3/requests", json=dsr_request(3))
    else:
        response = dsr.submit(3, dsr_request(3), auth=auth)
    assert dsr_error(response, 401)["errors"][0]["domain"] == "Authentication"  # type: ignore[index]
    assert dsr.http.get("/v3/discovery").status_code == 401


def test_unknown_request_is_404(dsr: DsrDriver) -> None:
    dsr_error(dsr.status(3, "00000000-0000-4000-8000-000000000000"), 404)
    dsr_error(dsr.cancel(1, "00000000-0000-4000-8000-000000000000"), 404)


def test_v1_and_v3_shapes(dsr: DsrDriver, views: ControlViews) -> None:
    """v1 (OpenGDPR) takes identities as an array and has no regulation or group; v2/v3 list a
    group's requests; each version's discovery names its identities and the certificate."""
    v1 = dsr_request(1)
    assert "regulation" not in v1
    dsr.submitted(1, v1)
    status = dsr.status(1, v1["subject_request_id"]).json()
    assert "group_id" not in status and status["api_version"] == "1.0"
    v3 = dsr_request(3, identities={"email": "v3@example.com"}, group_id="g1")
    dsr.submitted(3, v3)
    dsr.submitted(3, dsr_request(3, "access", group_id="g2"))
    status = dsr.status(3, v3["subject_request_id"]).json()
    assert set(status) == {
        "controller_id",
        "expected_completion_time",
        "subject_request_id",
        "group_id",
        "request_status",
        "api_version",
        "results_url",
        "extensions",
    }
    assert status["group_id"] == "g1"
    listed = dsr.group(3, "g1")
    assert [r["subject_request_id"] for r in listed.json()] == [v3["subject_request_id"]]
    v1_types = {i["identity_type"] for i in dsr.discovery(1)["supported_identities"]}
    v3_doc = dsr.discovery(3)
    assert "mpid" not in v1_types and "email" in v1_types
    assert "mpid" in {i["identity_type"] for i in v3_doc["supported_identities"]}
    assert v3_doc["supported_subject_request_types"] == ["access", "portability", "erasure"]
    assert dsr.certificate(1).startswith(b"-----BEGIN CERTIFICATE-----")


def test_state_round_trip_keeps_requests(
    dsr: DsrDriver, emulator: EmulatorHandle, views: ControlViews
) -> None:
    """The state document carries data subject requests: saved and loaded, they go on."""
    views.freeze(T0)
    body = dsr_request(3, identities=JANE, **skip_waiting())
    dsr.submitted(3, body)
    document = emulator.client.state()
    emulator.client.reset()
    assert dsr.status(3, body["subject_request_id"]).status_code == 404
    emulator.client.load_state(document)
    views.freeze(T0)
    assert dsr.request_status(3, body["subject_request_id"]) == "pending"
    views.advance(QUEUE + PROCESSING)
    assert dsr.request_status(3, body["subject_request_id"]) == "completed"


def test_v2_erasure_by_mpid_extension(
    dsr: DsrDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    """v2's mParticle extension names users by MPID (`mpids`), alone; the erasure removes that
    user and no other."""
    views.freeze(T0)
    mp.send(jane_batch())
    mp.send(mp_batch(custom_event("x"), customer_id="joe-1"))
    mpid = views.mpid_of("jane-1")
    body = dsr_request(
        2,
        subject_identities=[],
        extensions={"opendsr.mparticle.com": {"mpids": [mpid], "skip_waiting_period": True}},
    )
    dsr.submitted(2, body)
    views.advance(QUEUE + PROCESSING)
    assert dsr.request_status(2, body["subject_request_id"]) == "completed"
    assert views.mp_users(mpid=mpid) == []
    assert len(views.mp_users(identity="joe-1")) == 1
