"""What a workspace holds, as its readers see it: users found by MPID or identity, a user with
their audience memberships and why, audiences with members, membership changes, a user's
batches. Plain functions over the domain, shared by the control API (handlers/control.py) and
the web inspector, so the two always agree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from emulator.mparticle.models import Workspace
from emulator.mparticle.users import User, parse_mpid


def user_view(workspace: Workspace, user: User) -> dict[str, Any]:
    """The user as the control API answers it, with their current audience memberships."""
    return {**user.view(), "audience_memberships": workspace.memberships(user)}


def find_users(workspace: Workspace, mpid: str | None, identity: str | None) -> list[User]:
    """Users with this MPID and/or holding an identity of exactly this value."""
    wanted = parse_mpid(mpid) if mpid is not None else None
    return [
        user
        for user in workspace.users.values()
        if (mpid is None or user.mpid == wanted)
        and (identity is None or identity in user.identities.values())
    ]


def search_users(workspace: Workspace, text: str) -> list[User]:
    """Users whose MPID or any identity (customer id, email, device ids, ...) is `text`; when
    none is, those with an identity containing it (case-insensitive)."""
    text = text.strip()
    if not text:
        return list(workspace.users.values())
    exact = find_users(workspace, text, None) if parse_mpid(text) is not None else []
    exact += [u for u in find_users(workspace, None, text) if u not in exact]
    if exact:
        return exact
    folded = text.casefold()
    return [
        user
        for user in workspace.users.values()
        if any(folded in value.casefold() for value in user.identities.values())
    ]


def audience_views(workspace: Workspace) -> list[dict[str, Any]]:
    """Every audience with its criteria and its members now (MPIDs as strings, sorted)."""
    return [
        {**a, "members": [str(m) for m in sorted(workspace.members[a["id"]])]}
        for a in workspace.audiences.values()
    ]


def membership_changes(
    workspace: Workspace, audience_id: str | None = None, mpid: str | None = None
) -> list[dict[str, Any]]:
    """Membership changes (add/delete, time, reason), oldest first, of one audience or user."""
    return [
        c
        for c in workspace.membership_changes
        if audience_id in (None, str(c["audience_id"])) and mpid in (None, c["mpid"])
    ]


def membership_reasons(workspace: Workspace, user: User) -> list[dict[str, Any]]:
    """The user's current memberships, each with the change that made it (time, reason)."""
    joined: dict[int, dict[str, Any]] = {}
    for change in membership_changes(workspace, mpid=str(user.mpid)):
        if change["action"] == "add":
            joined[change["audience_id"]] = change
    return [{**m, "since": joined.get(m["audience_id"])} for m in workspace.memberships(user)]


def user_batches(rows: Iterable[dict[str, Any]], mpid: str) -> list[tuple[int, dict[str, Any]]]:
    """A user's stored batches with their numbers (1 the workspace's first), oldest first."""
    return [(n, row) for n, row in enumerate(rows, 1) if row.get("mpid") == mpid]
