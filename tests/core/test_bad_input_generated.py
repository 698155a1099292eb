"""Generated bad input (issue 12): random bodies on every operation of the OpenAPI document
that takes one, and random values in the fields of good requests, so per-record and per-item
code meets every JSON type where it expects one. After every input: no 5xx, nothing logged at
ERROR or with a traceback, the state still exports. Derandomized and bounded: a few seconds."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.testing.plugin import EmulatorHandle
from tests.drivers.defaults import ACCOUNT, WEB_KEY
from tests.drivers.mparticle import custom_event, mp_batch
from tests.drivers.operations import CONTROL, Corpus, Op, nest

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
DEEP = st.builds(lambda levels, leaf: nest(levels, leaf), st.integers(1, 300), VALUES)
CONTENT = st.one_of(
    VALUES.map(lambda v: json.dumps(v).encode()),
    DEEP.map(lambda v: json.dumps({"d": v, "events": v}).encode()),
    st.binary(max_size=40),
)
GENERATED = settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _reset_after_control_success(op: Op, response: httpx.Response, ctl: EmulatorHandle) -> None:
    # A generated body that happens to be a valid control request (a state, a fault, a clock)
    # must not change what the next input meets.
    if op.control and response.status_code < 300:
        ctl.client.reset(tenants=True)


@GENERATED
@given(data=st.data())
def test_generated_bodies_on_every_operation(
    data: st.DataObject, corpus: Corpus, emulator: EmulatorHandle
) -> None:
    op = data.draw(st.sampled_from(corpus.with_body), label="operation")
    content = data.draw(CONTENT, label="body")
    response = corpus.send(op, content)
    assert not corpus.problems(str(op), response)
    _reset_after_control_success(op, response, emulator)


# Good requests whose fields generated values replace, one at a time: the per-record and
# per-item code sees every type where it expects one.
GOOD = {
    "/1/upload": {
        "d": [
            {"type": "event", "identity": "u1", "evtName": "e", "evtData": {"a": 1}},
            {"type": "profile", "identity": "u1", "profileData": {"Name": "A", "n": {"$incr": 1}}},
            {"type": "token", "objectId": "__a1", "tokenData": {"id": "t", "type": "fcm"}},
        ]
    },
    "/1/subscribe": {"d": [{"type": "email", "value": "a@b.co", "status": "Unsubscribe"}]},
    "/1/disassociate": {"d": [{"type": "phone", "value": "+15551234567"}]},
    "/1/targets/create.json": {
        "name": "n",
        "where": {"event_name": "e", "event_properties": [{"name": "a", "value": "v"}]},
        "content": {"title": "t", "body": "b"},
    },
    "/1/counts/top.json": {
        "event_name": "e",
        "from": 20240101,
        "to": 20240102,
        "groups": {"g": {"property_type": "event_properties", "name": "a"}},
    },
    "/v2/events": mp_batch(
        custom_event("x", a=1),
        {
            "event_type": "commerce_event",
            "data": {"product_action": {"action": "purchase", "products": [{"id": "p"}]}},
        },
        customer_id="c1",
        user_attributes={"a": 1},
    ),
    "/v2/bulkevents": [mp_batch(custom_event("x"), customer_id="c1", user_attributes={"a": 1})],
    f"/v3/JS/{WEB_KEY}/events": mp_batch(custom_event("x"), customer_id="c1"),
    "/1/events.json": {"event_name": "e", "from": 20240101, "to": 20240102},
    "/1/profiles.json": {"event_name": "e", "from": 20240101, "to": 20240102},
    "/1/delete/profiles.json": {"identity": "u1"},
    "/1/demerge/profiles.json": {"identities": ["u1"]},
    "/1/message/report.json": {"from": 20240101, "to": 20240102},
    "/1/targets/list.json": {"from": 20240101, "to": 20240102},
    "/v1/identify": {"known_identities": {"email": "a@b.co"}, "environment": "development"},
    "/v1/login": {
        "known_identities": {"customerid": "c1", "email": "a@b.co"},
        "environment": "development",
    },
    "/oauth/token": {
        "client_id": "emu-client-id",
        "client_secret": "emu-client-secret",
        "audience": "https://api.mparticle.com",
        "grant_type": "client_credentials",
    },
    f"{CONTROL}/clevertap/{ACCOUNT}/segments": {"name": "s", "identities": ["u1"]},
    f"{CONTROL}/clevertap/{ACCOUNT}/exports": {"data": "events", "events": ["e"]},
    f"/v1/identity/{WEB_KEY}/Alias": {
        "request_type": "alias",
        "data": {"source_mpid": "1", "destination_mpid": "2"},
    },
    "/userprofile/v1/resolve/10/100/1000": {"identity": {"type": "email", "value": "a@b.co"}},
}


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*at, index))
    return found


def _replace(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[at[0]] = _replace(value[at[0]], at[1:], new)
    return copy


@GENERATED
@given(data=st.data())
def test_generated_fields_in_good_requests(
    data: st.DataObject, corpus: Corpus, emulator: EmulatorHandle
) -> None:
    path = data.draw(st.sampled_from(sorted(GOOD)), label="path")
    op = corpus.op(path)
    good = GOOD[path]
    at = data.draw(st.sampled_from(_paths(good)[1:]), label="field")
    body = _replace(good, at, data.draw(VALUES | DEEP, label="value"))
    response = corpus.send(op, json.dumps(body).encode())
    assert not corpus.problems(f"{op} {at}", response)
    _reset_after_control_success(op, response, emulator)


def test_the_good_requests_are_taken(corpus: Corpus) -> None:
    # The generated fields above replace parts of requests that are taken as they are.
    refused = {}
    for path, body in GOOD.items():
        response = corpus.send(corpus.op(path), json.dumps(body).encode())
        if response.status_code >= 300:
            refused[path] = response.text
    assert not refused
