"""Data subject requests (OpenDSR): what a workspace was asked to erase or hand over, and how
each request moves on the emulator's clock. Plain Python, no HTTP (handlers/dsr.py).

Three API versions share one store (https://docs.mparticle.com/developers/apis/dsr-api/v1/,
/v2/, /v3/): v1 (OpenGDPR 1.0) and v2 name identities as an array of `{identity_type,
identity_value}`, v3 as a map `type -> {value, encoding}`; v2 and v3 need `regulation`.

Timing (documented choices, docs/mparticle-behaviour.md "OpenDSR"): a request is `pending` from
its receipt; an erasure waits `WAITING_SECONDS` (7 days) unless the v3 extension's
`skip_waiting_period` is true (access and portability never wait); `QUEUE_SECONDS` later it is
`in_progress`, and `PROCESSING_SECONDS` after that `completed`, when the erasure is applied or the
access result is gathered. A pending request may be cancelled. Every status change (creation
too) is told to `notify` (the status callbacks)."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable, Iterable
from typing import Any

from emulator.core.errors import ApiError

WAITING_SECONDS = 7 * 24 * 3600
QUEUE_SECONDS = 60
PROCESSING_SECONDS = 3600
REQUEST_TYPES = ("access", "portability", "erasure")
# OpenDSR identity types -> the workspace's identity keys (users.py); None: accepted, held by
# no user of the emulator (Microsoft ad ids have no mParticle identity type).
IDENTITY_KEYS: dict[str, str | None] = {
    "controller_customer_id": "customer_id",
    "email": "email",
    "android_advertising_id": "android_aaid",
    "android_id": "android_uuid",
    "fire_advertising_id": "fire_aid",
    "ios_advertising_id": "ios_idfa",
    "ios_vendor_id": "ios_idfv",
    "microsoft_advertising_id": None,
    "microsoft_publisher_id": None,
    "roku_advertising_id": "roku_aid",
    "roku_publishing_id": "roku_publisher_id",
}
# The mParticle extension's further identity types (v2 `identities`, v3 `subject_identities`).
EXTENSION_KEYS: dict[str, str | None] = {
    "mpid": "mpid",
    "other": "other",
    **{f"other{n}": f"other_id_{n}" for n in range(2, 11)},
    "mobile_number": "mobile_number",
    "phone_number_2": "phone_number_2",
    "phone_number_3": "phone_number_3",
}
EXTENSION = "opendsr.mparticle.com"


class DsrError(ApiError):
    """An OpenDSR refusal: `{"code", "message", "errors": [{domain, reason, message}]}`."""

    def __init__(self, status: int, message: str, reason: str = "InvalidOperationException"):
        super().__init__(status, message, code=reason)


def iso(instant: float) -> str:
    moment = datetime.datetime.fromtimestamp(instant, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def identities_of(version: int, body: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's identities as (OpenDSR type, value), the extension's included."""
    found: list[tuple[str, str]] = []
    # v1 (OpenGDPR) has no mParticle extension identities: its `extensions` is not read.
    extension = ((body.get("extensions") or {}).get(EXTENSION) or {}) if version > 1 else {}
    if version == 3:
        for kind, item in (body.get("subject_identities") or {}).items():
            found.append((kind, item["value"]))
        for kind, item in (extension.get("subject_identities") or {}).items():
            found.append((kind, item["value"]))
    else:
        for item in body.get("subject_identities") or ():
            found.append((item["identity_type"], item["identity_value"]))
        for item in extension.get("identities") or ():
            found.append((item["identity_type"], item["identity_value"]))
        found.extend(("mpid", str(m)) for m in extension.get("mpids") or ())
    if not found:
        raise DsrError(400, "subject_identities: at least one identity is needed.")
    if any(kind == "mpid" for kind, _ in found) and len(found) > 1:
        # https://docs.mparticle.com/developers/apis/dsr-api/v3/: an mpid must be alone.
        raise DsrError(400, "An mpid identity must be the only identity of the request.")
    return found


class Requests:
    """One workspace's data subject requests, by `subject_request_id`."""

    def __init__(self, notify: Callable[[dict[str, Any]], None]) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self._notify = notify

    def submit(
        self, version: int, body: dict[str, Any], raw: bytes, now: float, base_url: str
    ) -> dict[str, Any]:
        """Store a new request (`raw`: its body as received; `base_url`: the emulator's, for
        the results URL)."""
        request_id = body["subject_request_id"]
        if request_id in self.items:
            raise DsrError(400, f"subject_request_id {request_id!r} was already submitted.")
        identities = identities_of(version, body)
        kind = body["subject_request_type"]
        for other in self.items.values():
            if (
                other["request_status"] in ("pending", "in_progress")
                and other["subject_request_type"] == kind
                and sorted(map(list, identities)) == sorted(other["identities"])
            ):
                raise DsrError(
                    409,
                    f"Request {other['subject_request_id']!r} of the same type for the same "
                    "identities is being processed.",
                    "ConflictException",
                )
        extension = (body.get("extensions") or {}).get(EXTENSION) or {}
        skip = kind != "erasure" or extension.get("skip_waiting_period") is True
        start = now + (0 if skip else WAITING_SECONDS) + QUEUE_SECONDS
        request: dict[str, Any] = {
            "subject_request_id": request_id,
            "version": version,
            "api_version": body.get("api_version") or f"{version}.0",
            "subject_request_type": kind,
            "regulation": body.get("regulation"),
            "group_id": body.get("group_id"),
            "identities": [list(pair) for pair in identities],
            "status_callback_urls": list(body.get("status_callback_urls") or ()),
            "skip_waiting_period": skip,
            "submitted_time": body.get("submitted_time"),
            "received": now,
            "in_progress_at": start,
            "complete_at": start + PROCESSING_SECONDS,
            "request_status": "pending",
            "encoded_request": base64.b64encode(raw).decode("ascii"),
            "results_token": None,
            "result": None,
            "erased": [],
            "history": [{"time": now, "status": "pending"}],
            "base_url": base_url,
        }
        self.items[request_id] = request
        self._notify(request)
        return request

    def get(self, request_id: str) -> dict[str, Any]:
        found = self.items.get(request_id)
        if found is None:
            raise DsrError(404, f"No request {request_id!r}.", "NotFoundException")
        return found

    def cancel(self, request_id: str, now: float) -> dict[str, Any]:
        request = self.get(request_id)
        if request["request_status"] != "pending":
            raise DsrError(
                400,
                f"Request {request_id!r} is {request['request_status']}: only a pending "
                "request can be cancelled.",
            )
        self._move(request, "cancelled", now)
        return request

    def due(self, now: float) -> Iterable[tuple[dict[str, Any], str]]:
        """The status changes the clock has reached, in order: (request, new status)."""
        for request in self.items.values():
            if request["request_status"] == "pending" and now >= request["in_progress_at"]:
                self._move(request, "in_progress", request["in_progress_at"])
            if request["request_status"] == "in_progress" and now >= request["complete_at"]:
                yield request, "completed"

    def complete(self, request: dict[str, Any]) -> None:
        self._move(request, "completed", request["complete_at"])

    def _move(self, request: dict[str, Any], status: str, when: float) -> None:
        request["request_status"] = status
        request["history"].append({"time": when, "status": status})
        self._notify(request)

    # -- answers ---------------------------------------------------------------------------
    @staticmethod
    def submitted(request: dict[str, Any], controller_id: str) -> dict[str, Any]:
        return {
            "expected_completion_time": iso(request["complete_at"]),
            "received_time": iso(request["received"]),
            "encoded_request": request["encoded_request"],
            "subject_request_id": request["subject_request_id"],
            "controller_id": controller_id,
        }

    @staticmethod
    def status(request: dict[str, Any], controller_id: str, base_url: str) -> dict[str, Any]:
        """The status object (GET, and the body of each callback)."""
        token = request["results_token"]
        answer: dict[str, Any] = {
            "controller_id": controller_id,
            "expected_completion_time": iso(request["complete_at"]),
            "subject_request_id": request["subject_request_id"],
            "request_status": request["request_status"],
            "api_version": request["api_version"],
            "results_url": f"{base_url}/dsr/results/{token}" if token else None,
            "extensions": None,
        }
        if request["version"] >= 2:
            answer["group_id"] = request["group_id"]
        return answer

    @staticmethod
    def cancelled(request: dict[str, Any], controller_id: str) -> dict[str, Any]:
        return {
            "expected_completion_time": None,
            "received_time": iso(request["received"]),
            "subject_request_id": request["subject_request_id"],
            "controller_id": controller_id,
        }

    # -- state -----------------------------------------------------------------------------
    def export(self) -> list[dict[str, Any]]:
        return list(self.items.values())

    def load(self, rows: Iterable[dict[str, Any]]) -> None:
        self.items = {row["subject_request_id"]: dict(row) for row in rows}
