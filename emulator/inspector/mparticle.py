"""The mParticle pages: workspaces and their inputs; a workspace's users (found by MPID or any
identity), audiences and IDSync history; a user with identities, attributes, batches and
audience memberships with their reason; an audience with its members; a batch as JSON.

Read through the same functions as the control API (`emulator/mparticle/views.py`)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from emulator.bridge.settings import ConnectionSettings
from emulator.inspector import mpkit
from emulator.inspector.mp_platform import MParticlePlatformPages
from emulator.inspector.pages import View, ui_page
from emulator.mparticle import audiences, views
from emulator.mparticle.models import Workspace
from emulator.mparticle.settings import WorkspaceSettings
from emulator.mparticle.users import User, parse_mpid

if TYPE_CHECKING:
    from emulator.runtime import Emulator


class MParticlePages:
    def __init__(self, emulator: Emulator, platform: MParticlePlatformPages) -> None:
        self.emulator = emulator
        self.platform = platform  # what the platform APIs hold about a user or a batch

    def _workspace(self, request: Request) -> tuple[WorkspaceSettings, Workspace]:
        settings = mpkit.workspace_settings(self.emulator, request)
        workspace = mpkit.mparticle(self.emulator).state.workspace(settings.id)
        workspace.refresh()  # as the control API's views do: windowed audiences move
        return settings, workspace

    def _view(self, request: Request, template: str, title: str, **context: Any) -> View:
        return mpkit.view(request, f"mparticle/{template}", title, **context)

    def _connections(self, workspace_id: str) -> list[ConnectionSettings]:
        return [
            c
            for c in self.emulator.tenants.settings_of(ConnectionSettings)
            if c.workspace == workspace_id
        ]

    def _caused(self, workspace_id: str) -> dict[int, list[tuple[str, dict[str, Any]]]]:
        """The deliveries each batch of the workspace caused: batch number -> (connection,
        delivery row)."""
        deliverer = mpkit.bridge(self.emulator).deliverer
        found: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for connection in self._connections(workspace_id):
            for row in deliverer.select(connection.id, "events"):
                if row.get("batch"):
                    found[row["batch"]].append((connection.id, row))
        return found

    # -- pages -----------------------------------------------------------------------------
    @ui_page("/mparticle", nav="mParticle", order=30)
    async def workspaces(self, request: Request) -> View:
        state = mpkit.mparticle(self.emulator).state
        rows = []
        for settings in self.emulator.tenants.settings_of(WorkspaceSettings):
            workspace = state.workspaces.get(settings.id)
            rows.append(
                {
                    "settings": settings,
                    "users": len(workspace.users) if workspace else 0,
                    "audiences": len(workspace.audiences) if workspace else 0,
                    "batches": len(state.batches.rows(settings.id)),
                    "connections": [c.id for c in self._connections(settings.id)],
                }
            )
        return self._view(request, "workspaces.html", "mParticle", workspaces=rows)

    @ui_page("/mparticle/{workspace}")
    async def workspace(self, request: Request) -> View:
        settings, workspace = self._workspace(request)
        # `?q=`, or `?identity=` / `?mpid=` as other pages link to a user they know so.
        params = request.query_params
        query = params.get("q") or params.get("identity") or params.get("mpid") or ""
        users = mpkit.page_of(views.search_users(workspace, query), request)
        users["rows"] = [_user_row(u) for u in users["rows"]]
        history = mpkit.page_of(list(reversed(workspace.idsync)), request, "idsync")
        history["rows"] = [_idsync_row(e) for e in history["rows"]]
        return self._view(
            request,
            "workspace.html",
            f"Workspace {settings.id}",
            settings=settings,
            query=query,
            users=users,
            audiences=[_audience_row(a) for a in views.audience_views(workspace)],
            idsync=history,
            batches=len(mpkit.mparticle(self.emulator).state.batches.rows(settings.id)),
        )

    @ui_page("/mparticle/{workspace}/users/{mpid}")
    async def user(self, request: Request) -> View:
        settings, workspace = self._workspace(request)
        user = _user(workspace, request.path_params["mpid"])
        mpid = str(user.mpid)
        rows = mpkit.mparticle(self.emulator).state.batches.rows(settings.id)
        batches = mpkit.page_of(views.user_batches(rows, mpid), request, "batches")
        caused = self._caused(settings.id)
        batches["rows"] = [
            _batch_row(n, mpkit.plain(row), caused.get(n, [])) for n, row in batches["rows"]
        ]
        idsync = [
            _idsync_row(e)
            for e in reversed(workspace.idsync)
            if mpid in (e.get("mpid"), (e.get("answer") or {}).get("mpid"))
        ]
        return self._view(
            request,
            "user.html",
            f"User {mpid}",
            settings=settings,
            user=user.view(),
            memberships=views.membership_reasons(workspace, user),
            changes=list(reversed(views.membership_changes(workspace, mpid=mpid))),
            batches=batches,
            idsync=idsync,
            platform=self.platform.of_user(settings.id, user),
        )

    @ui_page("/mparticle/{workspace}/audiences/{audience_id}")
    async def audience(self, request: Request) -> View:
        settings, workspace = self._workspace(request)
        raw = request.path_params["audience_id"]
        audience_id = int(raw) if raw.isascii() and raw.isdigit() else None
        found = next((a for a in views.audience_views(workspace) if a["id"] == audience_id), None)
        if found is None:
            raise mpkit.not_found(f"Workspace {settings.id} has no audience {raw!r}.")
        members = mpkit.page_of(found["members"], request)
        members["rows"] = [_user_row(workspace.users[int(m)]) for m in members["rows"]]
        changes = list(reversed(views.membership_changes(workspace, audience_id=raw)))
        return self._view(
            request,
            "audience.html",
            f"Audience {found['name']}",
            settings=settings,
            audience=_audience_row(found),
            criteria=mpkit.pretty(found["criteria"]),
            members=members,
            changes=mpkit.page_of(changes, request, "changes"),
        )

    @ui_page("/mparticle/{workspace}/batches/{number}")
    async def batch(self, request: Request) -> View:
        settings, _ = self._workspace(request)
        rows = mpkit.mparticle(self.emulator).state.batches.rows(settings.id)
        raw = request.path_params["number"]
        n = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 1 <= n <= len(rows):
            raise mpkit.not_found(f"Workspace {settings.id} has no batch {raw!r}.")
        row = mpkit.plain(rows[n - 1])
        return self._view(
            request,
            "batch.html",
            f"Batch {n}",
            settings=settings,
            batch=_batch_row(n, row, self._caused(settings.id).get(n, [])),
            received=mpkit.pretty(row["batch"]),
            resolved=mpkit.pretty(row["resolved"]),
            violations=self.platform.of_batch(settings.id, n),
        )


def _user(workspace: Workspace, raw: str) -> User:
    mpid = parse_mpid(raw)
    user = workspace.user(mpid) if mpid is not None else None
    if user is None:
        raise mpkit.not_found(f"Workspace {workspace.id} has no user with MPID {raw!r}.")
    return user


def _user_row(user: User) -> dict[str, Any]:
    return {
        "mpid": str(user.mpid),
        "identities": dict(user.identities),
        "attributes": len(user.attributes),
        "events": sum(count for count, _, _ in user.events.values()),
        "updated": user.updated,
    }


def _audience_row(audience: dict[str, Any]) -> dict[str, Any]:
    return {
        **audience,
        "described": audiences.describe(audience["criteria"]),
        "connected": sorted(audience.get("connections") or {}),
    }


def _idsync_row(entry: dict[str, Any]) -> dict[str, Any]:
    request = entry.get("request") or {}
    answer = entry.get("answer") or {}
    known = request.get("known_identities") or {}
    changes = request.get("identity_changes") or []
    sent = ", ".join(f"{k}={v}" for k, v in known.items()) or ", ".join(
        f"{c.get('identity_type')}: {c.get('old_value')} → {c.get('new_value')}" for c in changes
    )
    return {
        **entry,
        "sent": sent,
        "answer_mpid": answer.get("mpid") or entry.get("mpid"),
        "seq": (entry.get("journal") or {}).get("seq"),
        "error": answer.get("message") if entry.get("status") != 200 else None,
        "request_json": mpkit.pretty(request),
        "answer_json": mpkit.pretty(answer),
    }


def _batch_row(
    number: int, row: dict[str, Any], caused: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    batch = row.get("batch") or {}
    resolved = row.get("resolved") or {}
    events = batch.get("events") if isinstance(batch, dict) else None
    return {
        "number": number,
        "received": row.get("received"),
        "input": row.get("input"),
        "historical": row.get("historical"),
        "mpid": row.get("mpid"),
        "seq": (row.get("journal") or {}).get("seq"),  # the request that carried it
        "events": len(events) if isinstance(events, list) else 0,
        "skipped": resolved.get("skipped") if isinstance(resolved, dict) else None,
        "deliveries": [{"connection": c, "id": d["id"], "status": d["status"]} for c, d in caused],
    }
