"""The Platform API's view of a workspace's audiences (https://docs.mparticle.com/developers/apis/platform/,
"Audiences"): the audiences the emulator holds, shaped as the Platform API lists them. Plain
Python, no HTTP.

Documented choices where the emulator has nothing to report: `created_by` and
`last_modified_by` are `"emulator"` (audiences are defined through the control API),
`last_modified_on` is when the audience was defined, `is_calculated` is true and `status` is
`"active"` (the emulator evaluates every audience at once), `size` is the current member count,
and `added_last_24_hours` / `dropped_last_24_hours` count the membership changes of the last 24
hours on the emulator's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from emulator.mparticle.models import Workspace
from emulator.mparticle.profiles import ProfileError

DAY = 24 * 3600
AUTHOR = "emulator"


def audience(
    workspace: Workspace, name: str | None, audience: dict[str, Any], now: float
) -> dict[str, Any]:
    """One audience as the Platform API shapes it (`now`: the emulator clock, seconds)."""
    changes = [
        c
        for c in workspace.membership_changes
        if c["audience_id"] == audience["id"] and now - DAY <= c["time"] <= now
    ]
    created = _iso(audience["created"])
    outputs = audience.get("connections") or {}
    return {
        "id": audience["id"],
        "name": audience["name"],
        "external_name": audience.get("external_name") or audience["name"],
        "size": len(workspace.members.get(audience["id"], ())),
        "created_by": AUTHOR,
        "created_on": created,
        "last_modified_by": AUTHOR,
        "last_modified_on": created,
        "is_calculated": True,
        "added_last_24_hours": sum(1 for c in changes if c["action"] == "add"),
        "dropped_last_24_hours": sum(1 for c in changes if c["action"] == "delete"),
        "status": "active",
        "workspaces": [
            {
                "name": name or workspace.id,
                "id": platform_id(workspace.id),
                "data_type": "workspace",
                "created_on": None,
            }
        ],
        "connected_outputs": [
            {
                "provider_name": output,
                "configurations": [{"name": user_id}],
                "data_type": "audience_output",
            }
            for output, user_id in sorted(outputs.items())
        ],
        "data_type": "audience",
    }


def audiences(workspace: Workspace, name: str | None, now: float) -> list[dict[str, Any]]:
    workspace.refresh()
    return [audience(workspace, name, a, now) for a in workspace.audiences.values()]


def audience_id(text: str) -> int:
    """The path's audience id: a positive integer, else 404 (no audience has that id)."""
    if not text.isdigit() or int(text) == 0:
        raise ProfileError(404, "NOT_FOUND", f"No audience {text!r}.")
    return int(text)


def platform_id(workspace_id: str) -> int | str:
    """Workspace ids are integers on the Platform API; a tenant named otherwise keeps its name."""
    return int(workspace_id) if workspace_id.isdigit() else workspace_id


def _iso(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
