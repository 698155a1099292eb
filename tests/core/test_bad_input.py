"""Bad input never breaks the emulator (issue 12, items 1-7): each reproduction as a named case
over every operation of the OpenAPI document that takes a body (tests/drivers/operations.py);
generated input is in test_bad_input_generated.py. After every input: no 5xx, nothing logged at
ERROR or with a traceback, and the state still exports (with the users and profiles views)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from emulator.core.nesting import DEFAULT_DEPTH, STATE_HEADROOM
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.clevertap import ct_fail, ct_headers
from tests.drivers.defaults import WEB_KEY
from tests.drivers.mparticle import custom_event, mp_batch, mp_errors
from tests.drivers.operations import CLEVERTAP_ROOT, CONTROL, Corpus, Op, depth, nest
from tests.drivers.wire import abandon_mid_body

TOO_DEEP = "nested deeper than"


def at_depth(make: Callable[[Any], Any], total: int) -> Any:
    """`make(value)` with `value` nested so that the whole body is `total` levels deep."""
    around = depth(make(nest(total))) - total  # the levels above the value
    body = make(nest(total - around))
    assert depth(body) == total
    return body


# -- items 1-3: nesting --------------------------------------------------------------------------

DEEP_BODIES = {
    # Item 1's reproduction: parsed, then 500 when written out (orjson writes 254 levels).
    "upload-300": b'{"d":[' + b"[" * 300 + b"]" * 300 + b"]}",
    "array-300": b"[" * 300 + b"]" * 300,
    # Item 2: ~1,000 levels broke contract validation, on every JSON endpoint.
    "object-1000": b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}",
    # Beyond orjson's own parsing limit (1,024).
    "array-1100": b"[" * 1100 + b"]" * 1100,
    # One level over the control API's limit (the platforms' plus the state's headroom), with
    # brackets inside a string that must not count.
    "control-limit-plus-one": json.dumps(
        {"s": '[[{{]]\\"[', "v": nest(DEFAULT_DEPTH + STATE_HEADROOM)}
    ).encode(),
}


@pytest.mark.parametrize("name", list(DEEP_BODIES))
def test_a_body_nested_too_deep_is_a_400_on_every_operation(name: str, corpus: Corpus) -> None:
    problems: list[str] = []
    for op in corpus.with_body:
        response = corpus.send(op, DEEP_BODIES[name])
        if response.status_code != 400 or TOO_DEEP not in response.text:
            problems.append(f"{op}: {response.status_code} {response.text[:200]}")
        problems += corpus.problems(str(op), response)
    assert not problems, "\n".join(problems)


def test_the_nesting_400_is_each_platforms_own_shape(corpus: Corpus, mp: MParticleDriver) -> None:
    body = DEEP_BODIES["upload-300"]
    upload = corpus.op("/1/upload")
    assert corpus.send(upload, body).json() == ct_fail(
        400, f"The body is nested deeper than {DEFAULT_DEPTH} levels."
    )
    mp_errors(mp.post(content=body), 400, "BAD_REQUEST")
    faults = corpus.views.http.post(
        "/faults", content=body, headers={"Content-Type": "application/json"}
    )
    assert faults.status_code == 400
    assert faults.json()["error"]["code"] == "invalid_request"


def _user_attributes(value: Any) -> dict[str, Any]:
    return mp_batch(custom_event("x"), customer_id="c1", user_attributes={"deep": value})


def _consent(value: Any) -> dict[str, Any]:
    return mp_batch(custom_event("x"), customer_id="c1", consent_state={"gdpr": {"x": value}})


def _alias(value: Any) -> dict[str, Any]:
    data = {"source_mpid": "1", "destination_mpid": "2", "deep": value}
    return {"request_type": "alias", "data": data}


def _target(value: Any) -> dict[str, Any]:
    where = {"event_name": "x", "event_properties": [{"name": "a", "value": value}]}
    return {"name": "deep", "where": where, "content": {"title": "t", "body": "b"}}


# Item 3: values nested ~250 deep were accepted, then the state could neither export nor save.
POISON = {
    "mparticle-user-attributes": ("/v2/events", _user_attributes),
    "mparticle-consent-state": ("/v2/events", _consent),
    "web-sdk-alias-data": (f"/v1/identity/{WEB_KEY}/Alias", _alias),
    "clevertap-target-where": ("/1/targets/create.json", _target),
}


@pytest.mark.parametrize("name", list(POISON))
def test_a_value_nested_too_deep_is_refused_and_the_state_stays_exportable(
    name: str, corpus: Corpus, emulator: EmulatorHandle
) -> None:
    path, make = POISON[name]
    op = corpus.op(path)
    response = corpus.send(op, json.dumps(make(nest(250))).encode())
    assert response.status_code == 400 and TOO_DEEP in response.text, response.text
    assert not corpus.problems(name, response)
    # Right at the limit the body is taken, and the state it makes exports and loads back.
    response = corpus.send(op, json.dumps(at_depth(make, DEFAULT_DEPTH)).encode())
    assert response.status_code < 300, response.text
    corpus.views.settle()
    state = emulator.client.state()
    emulator.client.load_state(state)
    again = emulator.client.state()
    assert {k: v for k, v in again.items() if k != "_meta"} == {
        k: v for k, v in state.items() if k != "_meta"
    }
    assert not corpus.problems(name, response)


# -- item 4: a commerce product that is not an object ----------------------------------------


def _commerce(*events: dict[str, Any]) -> dict[str, Any]:
    return mp_batch(*events, customer_id="c1")


NOT_OBJECTS = {
    "product": {"product_action": {"action": "purchase", "products": ["x"]}},
    "impression": {"product_impressions": ["x"]},
    "impression-product": {"product_impressions": [{"products": [1]}]},
    "promotion": {"promotion_action": {"action": "view", "promotions": [None]}},
}


@pytest.mark.parametrize("name", list(NOT_OBJECTS))
def test_a_commerce_item_that_is_not_an_object_is_a_400_and_nothing_is_stored(
    name: str, corpus: Corpus, views: ControlViews
) -> None:
    failures = views.get("/health")["listeners"]["failures"]
    batch = _commerce({"event_type": "commerce_event", "data": NOT_OBJECTS[name]})
    batch_ops = [
        op for op in corpus.with_body if op.schema in ("mparticle.batch", "mparticle.bulk")
    ]
    assert len(batch_ops) >= 8
    for op in batch_ops:
        body = [batch] if op.schema == "mparticle.bulk" else batch
        response = corpus.send(op, json.dumps(body).encode())
        assert response.status_code == 400, (str(op), response.text)
        assert not corpus.problems(str(op), response)
    assert views.mp_page("batches")["total"] == 0
    # Listener failures outlive resets (they are the emulator's bugs): none was added.
    assert views.get("/health")["listeners"]["failures"] == failures


# -- item 5: wrong-typed fields that reached code expecting a string ----------------------------


@pytest.mark.parametrize("value", [["fcm"], {"type": "fcm"}], ids=["list", "object"])
@pytest.mark.parametrize("path", ["/1/upload", "/1/upload_device_tokens"])
def test_a_token_type_that_is_not_a_string_is_refused_on_its_own(
    path: str, value: Any, corpus: Corpus
) -> None:
    token = {"type": "token", "objectId": "__a1", "tokenData": {"id": "t", "type": value}}
    op = corpus.op(path)
    response = corpus.send(op, json.dumps({"d": [token]}).encode())
    assert response.status_code == 200, response.text
    [refused] = response.json()["unprocessed"]
    assert refused["code"] == 535
    assert not corpus.problems(path, response)


@pytest.mark.parametrize("value", [["email"], {"a": 1}], ids=["list", "object"])
@pytest.mark.parametrize("field", ["type", "status"])
def test_a_subscribe_type_or_status_that_is_not_a_string_is_refused_on_its_own(
    field: str, value: Any, corpus: Corpus
) -> None:
    item = {"type": "email", "value": "a@b.co", "status": "Unsubscribe", field: value}
    op = corpus.op("/1/subscribe")
    response = corpus.send(op, json.dumps({"d": [item]}).encode())
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "fail"
    assert response.json()["unprocessed"][0]["error"].startswith(f"{field} must be")
    assert not corpus.problems(field, response)


def test_a_filter_operator_that_is_not_a_string_is_a_400(corpus: Corpus) -> None:
    where = {"event_name": "x", "event_properties": [{"name": "a", "operator": ["equals"]}]}
    create = corpus.op("/1/targets/create.json")
    body = {"name": "n", "where": {**where, "from": 20240101, "to": 20240102}, "content": {}}
    response = corpus.send(create, json.dumps(body).encode())
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("$.where.event_properties[0].operator: ")
    query = {**where, "from": 20240101, "to": 20240102}
    events = corpus.http.get(
        "/1/events.json", params={"query": json.dumps(query)}, headers=ct_headers()
    )
    assert events.status_code == 400, events.text
    assert not corpus.problems("operator", events)


@pytest.mark.parametrize(
    "path", ["/userprofile/v1/resolve/10/100", "/userprofile/v1/resolve", "/userprofile/v1/10"]
)
def test_a_short_profile_api_path_is_a_404_in_its_envelope(path: str, corpus: Corpus) -> None:
    response = corpus.http.post(path, json={}, headers={"Authorization": f"Bearer {corpus.token}"})
    mp_errors(response, 404, "NOT_FOUND")
    assert not corpus.problems(path, response)


# -- item 6: methods an operation does not take ----------------------------------------------


def _envelope_405(op: Op, response: httpx.Response) -> bool:
    body = response.json()
    if op.control:
        return bool(body["error"]["code"] == "method_not_allowed")
    if op.path.startswith(("/1/", *CLEVERTAP_ROOT)):
        return bool(body["status"] == "fail" and body["code"] == 405)
    return bool(body["errors"][0]["code"] == "METHOD_NOT_ALLOWED")


# Methods uvicorn's HTTP parser knows (it refuses unknown ones itself, in plain text).
@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "PURGE", "LINK"])
def test_a_method_no_operation_takes_is_a_405_in_the_apis_envelope(
    method: str, corpus: Corpus
) -> None:
    openapi = Op("GET", f"{CONTROL}/openapi.json", f"{CONTROL}/openapi.json", None, "")
    problems = []
    for op in {op.path: op for op in [*corpus.ops, openapi]}.values():
        response = corpus.send(op, b"", method=method)
        if (
            response.status_code != 405
            or not response.headers["content-type"].startswith("application/json")
            or not _envelope_405(op, response)
            or not response.headers.get("allow")
        ):
            problems.append(f"{method} {op.path}: {response.status_code} {response.text[:200]}")
        problems += corpus.problems(f"{method} {op.path}", response)
    assert not problems, "\n".join(problems)


# -- item 7: a client that leaves mid-body -----------------------------------------------------


def test_a_client_that_leaves_mid_body_is_journaled_and_logs_no_traceback(
    emulator: EmulatorHandle, corpus: Corpus
) -> None:
    for op in corpus.with_body:
        abandon_mid_body(emulator.url, op.method, op.path, corpus.headers(op), b'{"d": [', 1000)
    platform = [op for op in corpus.with_body if not op.control]
    emulator.client.wait_for(len(platform), status=499)
    time.sleep(0.2)  # the control requests leave no entry: give their handling time to finish
    entries = emulator.client.requests(status=499)
    assert sorted(e["path"] for e in entries) == sorted(op.path.split("?")[0] for op in platform)
    assert all(e["error"].startswith("ClientDisconnect") for e in entries)
    assert all(e["tenant"] is not None for e in entries if e["path"].startswith("/1/"))
    assert not corpus.problems("disconnects", corpus.http.get("/1/profile.json"))
