"""Data subject requests carried out: the clock moves each workspace's requests on
(dsr.py), a completed erasure removes the subject's data from the workspace, a completed access
or portability request gathers what is held; every status change is signed and published for the
status callbacks (the bridge delivers them, recorded and retried)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from emulator.core.jsonresp import dumps
from emulator.mparticle.dsr import EXTENSION_KEYS, IDENTITY_KEYS, Requests
from emulator.mparticle.dsr_signing import Signer
from emulator.mparticle.events import DsrStatusChanged, UserErased
from emulator.mparticle.users import User

if TYPE_CHECKING:
    from emulator.mparticle.state import MParticleState


@cache
def signer() -> Signer:
    """The process's key pair, made on first use (generating it costs ~0.4 s)."""
    return Signer()


class SubjectRequests:
    def __init__(self, state: MParticleState) -> None:
        self.state = state
        self.workspaces: dict[str, Requests] = {}

    def of(self, workspace_id: str) -> Requests:
        found = self.workspaces.get(workspace_id)
        if found is None:
            found = self.workspaces[workspace_id] = Requests(
                lambda request: self._notify(workspace_id, request)
            )
        return found

    # -- the clock -------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Move every request the clock has reached; a request completing is carried out."""
        for workspace_id, requests in list(self.workspaces.items()):
            for request, _ in list(requests.due(now)):
                self._carry_out(workspace_id, request)
                requests.complete(request)

    def _carry_out(self, workspace_id: str, request: dict[str, Any]) -> None:
        users = self.subjects(workspace_id, request["identities"])
        if request["subject_request_type"] == "erasure":
            for user in users:
                self.erase(workspace_id, user, request["subject_request_id"])
            request["erased"] = [str(u.mpid) for u in users]
        else:
            request["result"] = {
                "subject_request_id": request["subject_request_id"],
                "profiles": [self.held(workspace_id, user) for user in users],
            }
            request["results_token"] = self.state.ids.token(32)

    def subjects(self, workspace_id: str, identities: Iterable[list[str]]) -> list[User]:
        """Every user of the workspace who holds one of the identities (or is the MPID)."""
        workspace = self.state.workspace(workspace_id)
        found: dict[int, User] = {}
        for kind, value in identities:
            key = IDENTITY_KEYS.get(kind, EXTENSION_KEYS.get(kind))
            if key == "mpid":
                user = workspace.user(int(value)) if value.lstrip("-").isdigit() else None
                if user is not None:
                    found[user.mpid] = user
            elif key is not None:
                for mpid in workspace.index.get((key, value), ()):
                    found[mpid] = workspace.users[mpid]
        return [found[m] for m in sorted(found)]

    def erase(self, workspace_id: str, user: User, request_id: str) -> None:
        workspace = self.state.workspace(workspace_id)
        identities = dict(user.identities)
        # The audience exits go first (forget tells them), the erasure after: an output that
        # deletes the profile must not see a later exit bring it back.
        workspace.forget(user, f"erasure request {request_id}")
        mpid = str(user.mpid)
        self.state.batches.drop(workspace_id, lambda row: row.get("mpid") == mpid)
        workspace.settle("erasure")
        self.state.events.publish(UserErased(workspace_id, request_id, user.mpid, identities))

    def held(self, workspace_id: str, user: User) -> dict[str, Any]:
        """What the workspace holds about a user: the profile, audiences and stored batches."""
        workspace = self.state.workspace(workspace_id)
        mpid = str(user.mpid)
        batches = [
            r["batch"] for r in self.state.batches.rows(workspace_id) if r.get("mpid") == mpid
        ]
        return {
            "mpid": mpid,
            "identities": dict(user.identities),
            "attributes": dict(user.attributes),
            "consent": dict(user.consent),
            "created": user.created,
            "events": {name: list(summary) for name, summary in user.events.items()},
            "audiences": workspace.memberships(user),
            "batches": batches,
        }

    # -- callbacks -------------------------------------------------------------------------
    def _notify(self, workspace_id: str, request: dict[str, Any]) -> None:
        body = Requests.status(request, workspace_id, request.get("base_url", ""))
        urls = tuple(request["status_callback_urls"])
        headers = signer().headers(dumps(body)) if urls else {}
        self.state.events.publish(
            DsrStatusChanged(
                workspace_id,
                request["subject_request_id"],
                request["request_status"],
                urls,
                body,
                headers,
            )
        )

    # -- state -----------------------------------------------------------------------------
    def export(self, tenants: set[str] | None) -> list[dict[str, Any]]:
        return [
            {"tenant": tenant, **row}
            for tenant, requests in self.workspaces.items()
            if tenants is None or tenant in tenants
            for row in requests.export()
        ]

    def load(self, rows: Iterable[dict[str, Any]]) -> None:
        self.workspaces = {}
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            row = dict(row)
            grouped.setdefault(row.pop("tenant"), []).append(row)
        for tenant, items in grouped.items():
            self.of(tenant).load(items)

    def reset(self, tenants: Iterable[str] | None) -> None:
        if tenants is None:
            self.workspaces = {}
        else:
            for tenant in tenants:
                self.workspaces.pop(tenant, None)
