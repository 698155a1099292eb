"""Every operation of the served OpenAPI document, called with the credentials its API takes,
and what went wrong after an input (a 5xx, an error in the server's log, a state that no longer
exports): the bad-input corpus (tests/core/test_bad_input*.py) sends through it. The document
is built from the same declarations as the routes, so a new operation is covered without a
change here (a new path parameter needs a value in PATH_VALUES)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from emulator.testing.defaults import basic_auth
from tests.drivers.clevertap import ct_headers
from tests.drivers.control import ControlViews
from tests.drivers.defaults import ACCOUNT, CONNECTION, S2S, WEB, WEB_KEY, WORKSPACE

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
    "workspaceId": WORKSPACE,
    "token": "x",
    "plan_id": "p",
    "plan_version": "1",
    "subject_request_id": "00000000-0000-4000-8000-000000000000",
}
# A value for each query parameter a body operation requires.
QUERY_VALUES = {"fields": "user_attributes"}
# CleverTap's paths outside /1/ (the Custom List API, API Segments).
CLEVERTAP_ROOT = (
    "/get_custom_list_segment_url",
    "/upload_custom_list_segment_completed",
    "/custom_list_uploads/",
    "/api/createSegment",
    "/api/updateSegment",
)
TENANTS = {"clevertap": ACCOUNT, "mparticle": WORKSPACE, "bridge": CONNECTION}
CONTROL = "/_emulator"


@dataclass(frozen=True)
class Op:
    """One operation of the document, ready to call."""

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
        if op.path.startswith(("/1/", *CLEVERTAP_ROOT)):
            headers.update(ct_headers())
        elif op.path.startswith(("/userprofile/", "/platform/")):
            headers["Authorization"] = f"Bearer {self.token}"
        elif op.path.startswith(("/v2/", "/s2s/")):
            headers.update(basic_auth(*S2S))
        elif op.path.startswith(
            ("/v1/opengdpr_requests", "/v3/requests", "/v1/discovery", "/v3/discovery")
        ):
            headers.update(basic_auth(*S2S))  # OpenDSR
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


def nest(levels: int, leaf: Any = None) -> Any:
    """A value of `levels` nested arrays (1: `[]`) around `leaf`."""
    value: Any = [] if leaf is None else [leaf]
    for _ in range(levels - 1):
        value = [value]
    return value


def depth(value: Any) -> int:
    """How many arrays and objects deep `value` nests."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0
