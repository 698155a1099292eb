"""A scenario written from the journal: the platform requests a client made while a recording ran
(`POST /_emulator/scenarios/record` ... `/stop`, admin/record.py), each with its answer as the
expectation, ready to replay on a fresh emulator (docs/scenarios.md, "Recording").

- Credentials become tenant references: `as: clevertap/<account>` from the account header,
  `as: mparticle/<workspace>/<key>` from Basic auth (the journal keeps the key and masks the
  secret). A request the platform refused for its credentials keeps its headers with a secret
  that is certainly wrong, so it is refused again. Transport headers (host, user agent,
  content length, encodings, ...) are left out; the ones the platforms read stay.
- The flows' own deliveries (journal `origin: flow`) are not requests of
  the scenario: a `settle` step stands where they happened, and the scenario ends with a
  `settle` and, per connection that delivered, an `expect_state` of its deliveries.
- Answers are expectations through snapshot.py; a generated value the client sends back later
  (an MPID, a CleverTap ID, a cursor) becomes a `$capture` where it was answered and `${name}`
  where it is sent, so the scenario replays with any seed.
- The clock starts frozen where the server's was when the recording started; where the
  server's clock had moved on by a second or more before a request, an `advance_clock` step
  moves the replay's clock as far, so the platforms see the times the client's did.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulator.core.jsonresp import Fragment, dumps, loads
from emulator.scenarios.snapshot import is_instant, stable, volatile

PLATFORMS = ("clevertap", "mparticle")
# Sent by the platforms' clients, read by the emulator: kept in a recorded request.
_KEPT_HEADERS = frozenset(
    {"x-mp-key", "origin", "access-control-request-method", "access-control-request-headers"}
)
_JSON_TYPES = re.compile(r"^application/(.+\+)?json\b")
WRONG_SECRET = "not-the-recorded-secret"  # the journal masks secrets: a refused one stays refused
CLOCK_STEP = 1.0  # seconds the server's clock must have moved before a request to advance it


@dataclass(slots=True)
class Started:
    """What a recording remembers from its start."""

    name: str
    description: str | None
    tenants: frozenset[str] | None
    since: int  # the journal's last seq at the start
    clock: float  # the server's clock at the start
    deliveries: dict[str, int] = field(default_factory=dict)  # connection -> rows at the start

    def wants(self, entry: dict[str, Any]) -> bool:
        """A platform request of the recording, by a client (a flow's delivery, to whichever
        tenant, is wanted too: it becomes a `settle`)."""
        if entry["seq"] <= self.since or entry["platform"] not in PLATFORMS:
            return False
        return self.tenants is None or entry["tenant"] in self.tenants or _delivery_entry(entry)


def iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _json(value: Any) -> Any:
    if isinstance(value, Fragment):  # the journal keeps JSON as its bytes
        return loads(dumps(value))
    return value


class _Captures:
    """Generated values answered so far (candidates) and those the client sent back (captures)."""

    def __init__(self) -> None:
        self.candidates: dict[tuple[type, Any], tuple[dict[str, Any], str]] = {}
        self.names: dict[tuple[type, Any], str] = {}
        self.values: dict[str, Any] = {}

    def answer(self, value: Any, key: str = "") -> Any:
        """An answer as an expectation; its generated values become candidates."""
        if isinstance(value, dict):
            return {k: self.answer(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.answer(item, key) for item in value]
        if not volatile(key, value):
            return value
        ident = (type(value), value)
        if ident in self.names:
            return "${" + self.names[ident] + "}"
        operator: dict[str, Any] = stable(value, key)
        if _reusable(value) and ident not in self.candidates:
            self.candidates[ident] = (operator, key)
        return operator

    def request(self, value: Any, loose: bool = False) -> Any:
        """A request's value with each generated value answered earlier as `${name}`; `loose`
        (a query, all text) also takes a number answered for its digits."""
        if isinstance(value, dict):
            return {k: self.request(v, loose) for k, v in value.items()}
        if isinstance(value, list):
            return [self.request(item, loose) for item in value]
        name = self._name(value)
        if name is None and loose and isinstance(value, str) and value.lstrip("-").isdigit():
            name = self._name(int(value))
        return value if name is None else "${" + name + "}"

    def text(self, text: str, separator: str) -> str:
        """A path with each generated value among its parts as `${name}`."""
        return separator.join(self.request(part, loose=True) for part in text.split(separator))

    def _name(self, value: Any) -> str | None:
        if not _reusable(value):
            return None
        ident = (type(value), value)
        if ident in self.names:
            return self.names[ident]
        if ident not in self.candidates:
            return None
        operator, key = self.candidates.pop(ident)
        base = re.sub(r"[^0-9a-zA-Z_]+", "_", key).strip("_").lower() or "value"
        name, n = base, 1
        while name in self.values:
            n += 1
            name = f"{base}_{n}"
        operator["$capture"] = name
        self.names[ident] = name
        self.values[name] = value
        return name


def _reusable(value: Any) -> bool:
    """Worth a capture: an id-like string or a large integer (never a small count)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) >= 10**6
    return isinstance(value, str) and len(value) >= 8 and not is_instant(value)


def _headers(entry: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """The headers to send and the `as` reference replacing the credentials."""
    given: dict[str, str] = _json(entry["headers"]) or {}
    kept: dict[str, str] = {}
    reference: str | None = None
    refused = entry["status"] in (401, 403)
    account = given.get("x-clevertap-account-id")
    if account is not None:
        if "x-clevertap-passcode" in given and not refused and entry["tenant"] == account:
            reference = f"clevertap/{account}"
        else:
            kept["X-CleverTap-Account-Id"] = account
            if "x-clevertap-passcode" in given:
                kept["X-CleverTap-Passcode"] = WRONG_SECRET
    authorization = given.get("authorization", "")
    if authorization.lower().startswith("basic "):
        key = authorization[6:].partition(":")[0]
        if not refused and entry["tenant"] is not None:
            reference = f"mparticle/{entry['tenant']}/{key}"
        else:
            token = base64.b64encode(f"{key}:{WRONG_SECRET}".encode()).decode()
            kept["Authorization"] = f"Basic {token}"
    for name, value in given.items():
        if name in _KEPT_HEADERS or (name == "content-type" and not _JSON_TYPES.match(value)):
            kept[name] = value
    return kept, reference


def _request(entry: dict[str, Any], captures: _Captures) -> dict[str, Any]:
    headers, reference = _headers(entry)
    spec: dict[str, Any] = {
        "platform": entry["platform"],
        "method": entry["method"],
        "path": captures.text(entry["path"], "/"),
    }
    query = _json(entry["query"])
    if query:
        spec["query"] = captures.request(query, loose=True)
    if reference is not None:
        spec["as"] = reference
    if headers:
        spec["headers"] = headers
    body = _json(entry["body"])
    if body is not None and not entry.get("body_truncated"):
        if isinstance(entry["body"], Fragment):
            spec["body"] = captures.request(body)
        else:  # sent as written, with the content type it was sent with, JSON or not
            spec["body_text"] = body
            given = _json(entry["headers"]) or {}
            if "content-type" in given:
                spec.setdefault("headers", {})["content-type"] = given["content-type"]
    expect: dict[str, Any] = {"status": entry["status"]}
    answer = _json(entry["response"])
    if answer is not None and not entry.get("response_truncated"):
        expect["body"] = captures.answer(answer)
    spec["expect"] = expect
    return spec


def _delivery_entry(entry: dict[str, Any]) -> bool:
    return entry.get("origin") == "flow"


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    """What a delivery is checked by: its flow, its status and how many attempts it took (a
    skipped one made none and has no attempts)."""
    kept: dict[str, Any] = {"flow": row["flow"], "status": row["status"]}
    if "attempts" in row:
        kept["attempts"] = {"$len": len(row["attempts"])}
    return kept


def build(
    started: Started,
    entries: list[dict[str, Any]],
    tenants: list[dict[str, Any]] | None,
    deliveries: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The scenario document: `entries` are the journal's (oldest first), `tenants` the tenant
    documents to write (None: the defaults serve), `deliveries` each connection's new rows."""
    captures = _Captures()
    steps: list[dict[str, Any]] = []
    clock = started.clock
    delivered = False
    for entry in entries:
        if not started.wants(entry):
            continue
        if _delivery_entry(entry):
            delivered = True
            continue
        if delivered:
            steps.append({"settle": {}})
            delivered = False
        if entry["time"] - clock >= CLOCK_STEP:
            steps.append({"advance_clock": {"seconds": round(entry["time"] - clock, 3)}})
            clock = entry["time"]
        steps.append({"request": _request(entry, captures)})
    ended = [(connection, rows) for connection, rows in deliveries.items() if rows]
    if ended:
        steps.append({"settle": {}})
    for connection, rows in ended:
        expect = {"total": len(rows), "deliveries": [_delivery(row) for row in rows]}
        steps.append(
            {"expect_state": {"view": f"/bridge/{connection}/deliveries", "expect": expect}}
        )
    document: dict[str, Any] = {"name": started.name}
    if started.description:
        document["description"] = started.description
    if tenants is not None:
        document["tenants"] = tenants
    document["clock"] = {"start": iso(started.clock), "frozen": True}
    document["steps"] = steps or [{"settle": {}}]
    return document
