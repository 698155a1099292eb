"""The mParticle pages of the platform APIs: a workspace's data subject requests (OpenDSR) with
their status history, signed callbacks and what an erasure removed or an access request
gathered; its data plans with every version and block setting, and the batches a plan found
violations in; its alias requests, a dropped (`rejected`) one with its reason.

Read-only, through the same state the control API's views read (`/dsr-requests`, `/plans`,
`/plan-violations`, `/aliases`, the bridge's `/dsr-callbacks`); the DSR pages move the clock's
due requests on first, as the control view does."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from emulator.bridge.settings import ConnectionSettings
from emulator.core.jsonresp import JSONDecodeError, loads
from emulator.inspector import mpkit
from emulator.inspector.pages import View, ui_page
from emulator.mparticle.dsr import EXTENSION_KEYS, IDENTITY_KEYS, REQUEST_TYPES
from emulator.mparticle.settings import WorkspaceSettings
from emulator.mparticle.users import User

if TYPE_CHECKING:
    from emulator.runtime import Emulator

DSR_STATUSES = ("pending", "in_progress", "completed", "cancelled")
ALIAS_STATUSES = ("applied", "rejected", "recorded")
BLOCK_LABELS = {
    "ev": "unplanned events",
    "ea": "unplanned event attributes",
    "ua": "unplanned user attributes",
    "id": "unplanned identities",
}


class MParticlePlatformPages:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def _settings(self, request: Request) -> WorkspaceSettings:
        return mpkit.workspace_settings(self.emulator, request)

    def _view(self, request: Request, template: str, title: str, **context: Any) -> View:
        return mpkit.view(request, f"mparticle/{template}", title, **context)

    def _requests(self, workspace_id: str) -> list[dict[str, Any]]:
        state = mpkit.mparticle(self.emulator).state
        state.dsr.tick(state.clock.now())  # as the control view does: due requests move on
        return state.dsr.of(workspace_id).export()

    def _callbacks(self, workspace_id: str) -> dict[str, list[dict[str, Any]]]:
        """The status callbacks of the workspace's requests: request id -> deliveries."""
        found: dict[str, list[dict[str, Any]]] = {}
        deliverer = mpkit.bridge(self.emulator).deliverer
        for row in deliverer.select(workspace_id, "dsr_callbacks"):
            request_id = (row.get("source") or {}).get("subject_request_id")
            found.setdefault(str(request_id), []).append(row)
        return found

    # -- data subject requests -------------------------------------------------------------
    @ui_page("/mparticle/{workspace}/dsr")
    async def dsr_requests(self, request: Request) -> View:
        settings = self._settings(request)
        params = request.query_params
        status = params.get("status") or None
        kind = params.get("type") or None
        identity = (params.get("identity") or "").strip()
        callbacks = self._callbacks(settings.id)
        rows = [
            r
            for r in reversed(self._requests(settings.id))  # newest first
            if status in (None, r["request_status"])
            and kind in (None, r["subject_request_type"])
            and (not identity or any(value == identity for _, value in r["identities"]))
        ]
        page = mpkit.page_of(rows, request)
        page["rows"] = [
            _dsr_row(r, callbacks.get(r["subject_request_id"], [])) for r in page["rows"]
        ]
        return self._view(
            request,
            "dsr_list.html",
            f"Data subject requests of {settings.id}",
            settings=settings,
            requests=page,
            status=status,
            kind=kind,
            identity=identity,
            statuses=DSR_STATUSES,
            kinds=REQUEST_TYPES,
        )

    @ui_page("/mparticle/{workspace}/dsr/{request_id}")
    async def dsr_request(self, request: Request) -> View:
        settings = self._settings(request)
        request_id = request.path_params["request_id"]
        found = next(
            (r for r in self._requests(settings.id) if r["subject_request_id"] == request_id),
            None,
        )
        if found is None:
            raise mpkit.not_found(
                f"Workspace {settings.id} has no data subject request {request_id!r}."
            )
        row = mpkit.plain(found)
        callbacks = [_callback(c) for c in self._callbacks(settings.id).get(request_id, [])]
        state = mpkit.mparticle(self.emulator).state
        return self._view(
            request,
            "dsr.html",
            f"Data subject request {request_id}",
            settings=settings,
            r=_dsr_row(row, []),
            callbacks=callbacks,
            forwarded=self._forwarded(settings.id, request_id),
            # Who holds the identities now, found as the request itself finds them.
            subjects=[str(u.mpid) for u in state.dsr.subjects(settings.id, row["identities"])],
            received_json=_decoded(row.get("encoded_request")),
            result_json=mpkit.pretty(row["result"]) if row.get("result") is not None else None,
        )

    def _forwarded(self, workspace_id: str, request_id: str) -> list[dict[str, Any]]:
        """The CleverTap profile deletions an erasure caused (connections with
        `dsr_forward_erasure`)."""
        deliverer = mpkit.bridge(self.emulator).deliverer
        out = []
        for connection in self.emulator.tenants.settings_of(ConnectionSettings):
            if connection.workspace != workspace_id:
                continue
            for row in deliverer.select(connection.id, "dsr_erasure"):
                source = row.get("source") or {}
                if source.get("subject_request_id") == request_id:
                    out.append({"connection": connection.id, **mpkit.plain(row)})
        return out

    # -- data plans ------------------------------------------------------------------------
    @ui_page("/mparticle/{workspace}/plans")
    async def plans(self, request: Request) -> View:
        settings = self._settings(request)
        plans = mpkit.mparticle(self.emulator).state.plans
        params = request.query_params
        plan_id = params.get("plan_id") or None
        mpid = (params.get("mpid") or "").strip() or None
        rows = [
            v
            for v in reversed(plans.violations.rows(settings.id))
            if plan_id in (None, v.get("plan_id")) and mpid in (None, v.get("mpid"))
        ]
        page = mpkit.page_of(rows, request, "violations")
        page["rows"] = [self._violation(settings.id, v) for v in page["rows"]]
        shown = [_plan(p) for p in mpkit.plain(list(plans.plans.get(settings.id, {}).values()))]
        return self._view(
            request,
            "plans.html",
            f"Data plans of {settings.id}",
            settings=settings,
            plans=shown,
            violations=page,
            plan_id=plan_id,
            mpid=mpid or "",
            block_labels=BLOCK_LABELS,
        )

    # -- aliases ---------------------------------------------------------------------------
    @ui_page("/mparticle/{workspace}/aliases")
    async def aliases(self, request: Request) -> View:
        settings = self._settings(request)
        params = request.query_params
        status = params.get("status") or None
        mpid = (params.get("mpid") or "").strip() or None
        workspace = mpkit.mparticle(self.emulator).state.workspace(settings.id)
        rows = [
            r
            for r in reversed(workspace.aliases)
            if status in (None, r.get("status") or "recorded")
            and mpid in (None, str(r.get("source_mpid")), str(r.get("destination_mpid")))
        ]
        page = mpkit.page_of(rows, request)
        page["rows"] = [_alias(r) for r in page["rows"]]  # only this page's shaped
        return self._view(
            request,
            "aliases.html",
            f"Aliases of {settings.id}",
            settings=settings,
            aliases=page,
            status=status,
            mpid=mpid or "",
            statuses=ALIAS_STATUSES,
        )

    # -- for the other mParticle pages -----------------------------------------------------
    def of_user(self, workspace_id: str, user: User) -> dict[str, Any]:
        """What the platform APIs hold about a user: the data subject requests naming one of
        its identities, its aliases, the batches of its a plan found violations in."""
        mpid = str(user.mpid)
        held = {(key, value) for key, value in user.identities.items()}
        requests = [
            _dsr_row(r, [])
            for r in reversed(self._requests(workspace_id))
            if any(_names(kind, value, mpid, held) for kind, value in r["identities"])
        ]
        workspace = mpkit.mparticle(self.emulator).state.workspace(workspace_id)
        aliases = [
            _alias(r)
            for r in reversed(workspace.aliases)
            if mpid in (str(r.get("source_mpid")), str(r.get("destination_mpid")))
        ]
        violations = sum(
            1
            for v in mpkit.mparticle(self.emulator).state.plans.violations.rows(workspace_id)
            if v.get("mpid") == mpid
        )
        return {"requests": requests, "aliases": aliases, "violations": violations}

    def of_batch(self, workspace_id: str, number: int) -> list[dict[str, Any]]:
        """The plan violations recorded for one batch."""
        rows = mpkit.mparticle(self.emulator).state.plans.violations.rows(workspace_id)
        return [self._violation(workspace_id, v) for v in rows if v.get("batch") == number]

    def _violation(self, workspace_id: str, row: dict[str, Any]) -> dict[str, Any]:
        """A violation row for the page, with the journal entry of the request that carried
        its batch (the stored batch knows it once the request is journaled)."""
        found = _violation(mpkit.plain(row))
        if found["seq"] is None:
            batches = mpkit.mparticle(self.emulator).state.batches.rows(workspace_id)
            number = found["batch"]
            if isinstance(number, int) and 1 <= number <= len(batches):
                found["seq"] = (batches[number - 1].get("journal") or {}).get("seq")
        return found


def _names(kind: str, value: str, mpid: str, held: set[tuple[str, Any]]) -> bool:
    key = IDENTITY_KEYS.get(kind, EXTENSION_KEYS.get(kind))
    if key == "mpid":
        return value == mpid
    return key is not None and (key, value) in held


def _dsr_row(request: dict[str, Any], callbacks: list[dict[str, Any]]) -> dict[str, Any]:
    statuses = [c.get("status") for c in callbacks]
    return {
        "id": request["subject_request_id"],
        "type": request["subject_request_type"],
        "status": request["request_status"],
        "version": request.get("version"),
        "api_version": request.get("api_version"),
        "regulation": request.get("regulation"),
        "group_id": request.get("group_id"),
        "identities": [(kind, value) for kind, value in request["identities"]],
        "received": request.get("received"),
        "submitted_time": request.get("submitted_time"),
        "in_progress_at": request.get("in_progress_at"),
        "complete_at": request.get("complete_at"),
        "skip_waiting_period": request.get("skip_waiting_period"),
        "history": request.get("history") or [],
        "callback_urls": request.get("status_callback_urls") or [],
        "callbacks": len(callbacks),
        "callbacks_delivered": statuses.count("delivered"),
        "callbacks_failed": statuses.count("failed"),
        "erased": request.get("erased") or [],
        "has_result": request.get("result") is not None,
        "results_token": request.get("results_token"),
    }


def _callback(row: dict[str, Any]) -> dict[str, Any]:
    row = mpkit.plain(row)
    source = row.get("source") or {}
    request = row.get("request") or {}
    response = row.get("response") or {}
    return {
        "id": row["id"],
        "url": source.get("url"),
        "request_status": source.get("request_status"),
        "status": row.get("status"),
        "created": row.get("created"),
        "attempts": row.get("attempts") or [],
        "final": response.get("status"),
        "body_json": mpkit.pretty(request.get("body")) if request.get("body") else None,
        "signature": (request.get("headers") or {}).get("X-OpenDSR-Signature"),
    }


def _decoded(encoded: Any) -> str | None:
    """The request's body as received (the answer's `encoded_request`), shown as JSON."""
    if not isinstance(encoded, str):
        return None
    try:
        return mpkit.pretty(loads(base64.b64decode(encoded)))
    except (binascii.Error, JSONDecodeError, ValueError):
        return None


def _plan(plan: dict[str, Any]) -> dict[str, Any]:
    versions = []
    for version in sorted(plan.get("data_plan_versions") or [], key=lambda v: -int(v["version"])):
        document = version.get("version_document") or {}
        points = document.get("data_points") or []
        versions.append(
            {
                **version,
                "points": [_point(p) for p in points if isinstance(p, dict)],
                "document_json": mpkit.pretty(document),
            }
        )
    return {**plan, "versions": versions}


def _point(point: dict[str, Any]) -> str:
    match = point.get("match") or {}
    criteria = match.get("criteria") or {}
    named = criteria.get("event_name") or criteria.get("screen_name") or ""
    return f"{match.get('type', '?')} {named}".strip()


def _violation(row: dict[str, Any]) -> dict[str, Any]:
    """A batch's violations as lines a reader can act on."""
    plan = f"{row.get('plan_id')} v{row.get('plan_version')}"
    lines = []
    for result in row.get("results") or []:
        data = result.get("data") or {}
        match = data.get("match") or {}
        criteria = match.get("criteria") or {}
        what = criteria.get("event_name") or criteria.get("screen_name") or match.get("type")
        for error in data.get("validation_errors") or []:
            key = str(error.get("key") or error.get("expected") or "")
            pointer = error.get("error_pointer")
            lines.append(
                {
                    "kind": error.get("validation_error_type"),
                    "text": key + (f" at {pointer}" if pointer else ""),
                    "where": what if what != key else None,
                    "actual": error.get("actual"),
                    "expected": error.get("expected"),
                }
            )
    blocked = [
        f"unplanned {b.get('kind')} {b.get('name')!r} removed" for b in row.get("blocked") or []
    ]
    return {
        "received": row.get("received"),
        "batch": row.get("batch"),
        "mpid": row.get("mpid"),
        "plan": plan,
        "plan_id": row.get("plan_id"),
        "seq": (row.get("journal") or {}).get("seq"),
        "lines": lines,
        "blocked": blocked,
    }


def _alias(row: dict[str, Any]) -> dict[str, Any]:
    """An alias request as the page lists it: a Web SDK one is `recorded` (never applied)."""
    via = row.get("via") or f"Web SDK {row.get('input', '')}".strip()
    return {
        "time": row.get("time"),
        "via": via,
        "source_mpid": str(row.get("source_mpid")),
        "destination_mpid": str(row.get("destination_mpid")),
        "start_ms": row.get("start_unixtime_ms"),
        "end_ms": row.get("end_unixtime_ms"),
        "environment": row.get("environment"),
        "request_id": row.get("request_id"),
        "status": row.get("status") or "recorded",
        "reason": row.get("reason"),
        "copied_events": row.get("copied_events"),
    }
