"""Bad input never breaks the emulator (issue 12, items 1-7): each reproduction as a named case
over every operation that takes a body, then generated input. After every input: no 5xx,
nothing logged at ERROR or with a traceback, and the state still exports (with the users and
profiles views).

The operations come from the served OpenAPI document, built from the same declarations as the
routes, so a new operation is covered without touching this file (a new path parameter needs a
value in PATH_VALUES).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.core.nesting import DEFAULT_DEPTH, STATE_HEADROOM
from emulator.testing.defaults import basic_auth
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.clevertap import ct_fail, ct_headers
from tests.drivers.defaults import ACCOUNT, CONNECTION, S2S, WEB, WEB_KEY, WORKSPACE
from tests.drivers.mparticle import custom_event, mp_batch, mp_errors
from tests.drivers.wire import abandon_mid_body

ServerErrors = Callable[[], list[str]]

# A value for each path parameter of the document; `{tenant}` follows the view's platform.
PATH_VALUES = {
    "key": WEB_KEY,
    "org": "10",
    "account": "100",
    "workspace": WORKSPACE,
    "mpid": "1",
    "objectId": "x",
    "tenant_id": "no-such-tenant",
    "export_id": "1",
    "audience_id": "1",
    "fault_id": "no-such-fault",
    "seq": "1",
}
# A value for each query parameter a body operation requires.
QUERY_VALUES = {"fields": "user_attributes"}
TENANTS = {"clevertap": ACCOUNT, "mparticle": WORKSPACE, "bridge": CONNECTION}
TOO_DEEP = "nested deeper than"
CONTROL = "/_emulator"


@dataclass(frozen=True)
class Op:
    method: str
    template: str  # the path as the document gives it
    path: str  # with its parameters filled in
    media: str | None  # the request body's media type; None: no body
    schema: str  # the request contract's component name ("" without one)

    @property
    def control(self) -> bool:
        return self.path.startswith(CONTROL)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _fill(template: str) -> str:
    parts = template.split("/")
    for index, part in enumerate(parts):
        if part.startswith("{"):
            name = part[1:-1]
            value = TENANTS.get(parts[index - 1]) if name == "tenant" else PATH_VALUES.get(name)
            assert value is not None, f"{template}: add a value for {{{name}}} to PATH_VALUES"
            parts[index] = value
    return "/".join(parts)


def _op(method: str, template: str, spec: dict[str, Any]) -> Op:
    content = spec.get("requestBody", {}).get("content", {})
    media = next(iter(content), None)
    ref = content[media].get("schema", {}).get("$ref", "") if media else ""
    path = _fill(template)
    # What a body operation requires in its query, so that its body is read at all.
    params = spec.get("parameters", []) if media else []
    query = [p["name"] for p in params if p["in"] == "query" and p["required"]]
    for name in query:
        assert name in QUERY_VALUES, f"{template}: add a value for ?{name} to QUERY_VALUES"
    if query:
        path += "?" + "&".join(f"{name}={QUERY_VALUES[name]}" for name in query)
    return Op(method.upper(), template, path, media, ref.rsplit("/", 1)[-1])


def nest(levels: int, leaf: Any = None) -> Any:
    """A value of `levels` nested arrays (1: `[]`) around `leaf`."""
    value: Any = [] if leaf is None else [leaf]
    for _ in range(levels - 1):
        value = [value]
    return value


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def at_depth(make: Callable[[Any], Any], total: int) -> Any:
    """`make(value)` with `value` nested so that the whole body is `total` levels deep."""
    around = depth(make(nest(total))) - total  # the levels above the value
    body = make(nest(total - around))
    assert depth(body) == total
    return body


class Corpus:
    """Sends bad input to the session's emulator with the credentials each API takes, and says
    what went wrong after it (a 5xx, a logged error, a state that no longer exports)."""

    def __init__(
        self, http: httpx.Client, views: ControlViews, errors: ServerErrors, token: str
    ) -> None:
        self.http = http
        self.views = views
        self.errors = errors
        self.token = token
        self.seen = 0  # errors already reported
        doc = views.get("/openapi.json")
        self.ops = [
            _op(method, template, spec)
            for template, item in doc["paths"].items()
            for method, spec in item.items()
            if method != "parameters"
        ]
        self.with_body = [op for op in self.ops if op.media is not None]
        assert len({op.template for op in self.ops if op.control}) >= 10, "control paths"
        assert len({op.template for op in self.with_body if not op.control}) >= 40, "bodies"

    def op(self, path: str) -> Op:
        """The operation that takes a body at `path` (without its query)."""
        [found] = [op for op in self.with_body if op.path.split("?")[0] == path]
        return found

    def headers(self, op: Op) -> dict[str, str]:
        """The credentials the operation's API takes, and its body's media type."""
        headers = {"Content-Type": op.media or "application/json"}
        if op.path.startswith("/1/"):
            headers.update(ct_headers())
        elif op.path.startswith("/userprofile/"):
            headers["Authorization"] = f"Bearer {self.token}"
        elif op.path.startswith(("/v2/", "/s2s/")):
            headers.update(basic_auth(*S2S))
        elif not op.control:
            headers.update(WEB)  # IDSync; the Web SDK names its key in the path
        return headers

    def send(self, op: Op, content: bytes, method: str | None = None) -> httpx.Response:
        return self.http.request(
            method or op.method, op.path, content=content, headers=self.headers(op)
        )

    def problems(self, label: str, response: httpx.Response) -> list[str]:
        """What is wrong after an input (nothing, normally)."""
        found = []
        if response.status_code >= 500:
            found.append(f"{label}: {response.status_code} {response.text[:200]}")
        for path in (
            "/state",
            f"/mparticle/{WORKSPACE}/users",
            f"/clevertap/{ACCOUNT}/profiles",
        ):
            answer = self.views.http.get(path)
            if answer.status_code != 200:
                found.append(f"{label}: then GET {CONTROL}{path} {answer.status_code}")
        logged = self.errors()
        found += [f"{label}: logged {line}" for line in logged[self.seen :]]
        self.seen = len(logged)
        return found


@pytest.fixture
def corpus(
    emulator: EmulatorHandle,
    http: httpx.Client,
    views: ControlViews,
    mp: MParticleDriver,
    server_errors: ServerErrors,
) -> Corpus:
    return Corpus(http, views, server_errors, mp.token())


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
    faults = corpus.views.http.post("/faults", content=body)
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
    assert views.get("/health")["listeners"]["failures"] == 0


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
    if op.path.startswith("/1/"):
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


# -- generated input -------------------------------------------------------------------------

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
    "/1/targets/create.json": _target("v"),
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
    f"/v1/identity/{WEB_KEY}/Alias": _alias("v"),
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
