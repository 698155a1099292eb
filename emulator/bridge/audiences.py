"""The audience flow: audiences defined or removed, and membership changes, become Firehose
audience messages to the connected account's `/1/partners/mparticle/audiences`.

Membership changes are gathered per connection into the message its worker sends next (at most
1,000 users a message, as mParticle batches them); a subscription change (an audience added or
removed) closes the open message, so later changes follow it in order.

Which audiences an output gets, and under which User ID: with `connect: all` (the default) every
audience of the workspace, with the output's `user_id`; with `connect: explicit` only audiences
connected by the Connect step (`AudienceConnected`), each with its own User ID. Connecting an
audience sends its subscription and back-fills its members.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from emulator.bridge import firehose
from emulator.bridge.connections import Connections
from emulator.bridge.settings import ConnectionSettings
from emulator.core.clock import Clock
from emulator.mparticle.events import AudienceChanged, AudienceConnected, MembershipChanged
from emulator.mparticle.users import User

AUDIENCE_PATH = "/1/partners/mparticle/audiences"
MAX_PROFILES_PER_MESSAGE = 1000


class _Buffer:
    """Membership changes gathered into the message the worker sends next."""

    __slots__ = ("changes", "profiles")

    def __init__(self) -> None:
        # (MPID, User ID) -> the user's profile in the message
        self.profiles: dict[tuple[int, str], dict[str, Any]] = {}
        self.changes = 0


class AudiencesFlow:
    def __init__(self, connections: Connections, clock: Clock) -> None:
        self.connections = connections
        self.deliverer = connections.deliverer
        self.clock = clock
        self._buffers: dict[str, _Buffer] = {}  # connection -> open membership message
        self._messages = 0

    def _message_id(self) -> str:
        # A counter, not the seeded generator: messages must not shift the platforms' ids.
        self._messages += 1
        return f"00000000-0000-4000-8000-{self._messages:012d}"

    def _now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    def on_audience(self, event: AudienceChanged) -> None:
        for connection in self.connections.carrying(
            "workspace", event.workspace, "audience_output"
        ):
            if event.action == "add" and connection.audience_output.connect == "explicit":
                continue  # its Connect step sends the subscription
            self._subscribe(
                connection, event.workspace, event.action, event.audience_id, event.audience_name
            )

    def on_connected(self, event: AudienceConnected) -> None:
        """An audience connected to this output: its subscription, then its members now."""
        connection = self.connections.tenants.settings(event.output, ConnectionSettings)
        if (
            connection is None
            or connection.workspace != event.workspace
            or not connection.carries("audience_output")
        ):
            return
        self._subscribe(connection, event.workspace, "add", event.audience_id, event.audience_name)
        for user in event.members:
            self._change(
                connection,
                event.workspace,
                user,
                event.user_id,
                event.audience_id,
                event.audience_name,
                "add",
            )

    def _subscribe(
        self,
        connection: ConnectionSettings,
        workspace: str,
        action: str,
        audience_id: int,
        audience_name: str,
    ) -> None:
        # Later changes go in a new message, after this one.
        self._buffers.pop(connection.id, None)
        source = {"workspace": workspace, "audience_id": audience_id, "action": action}
        row = self.deliverer.record(connection.id, "audiences", source=source)
        snapshot = {"id": audience_id, "name": audience_name}
        self._deliver(
            connection, row, functools.partial(self._subscription, workspace, action, snapshot)
        )

    def _subscription(self, workspace: str, action: str, audience: dict[str, Any]) -> Any:
        account_id = self.connections.workspace_account_id(workspace)
        return firehose.subscription(
            self._message_id(), self._now_ms(), account_id, action, audience
        )

    def on_membership(self, event: MembershipChanged) -> None:
        if event.one_time and not event.reason.startswith("audience defined"):
            return  # a one-time export sent its members when it was defined
        for connection in self.connections.carrying(
            "workspace", event.workspace, "audience_output"
        ):
            user_id = event.connections.get(connection.id)
            if user_id is None and connection.audience_output.connect == "all":
                user_id = connection.audience_output.user_id
            if user_id is None:
                continue  # not connected to this output
            self._change(
                connection,
                event.workspace,
                event.user,
                user_id,
                event.audience_id,
                event.audience_name,
                event.action,
            )

    def _change(
        self,
        connection: ConnectionSettings,
        workspace: str,
        user: User,
        user_id: str,
        audience_id: int,
        audience_name: str,
        action: str,
    ) -> None:
        buffer = self._buffers.get(connection.id)
        if buffer is None or len(buffer.profiles) >= MAX_PROFILES_PER_MESSAGE:
            buffer = self._open(connection, workspace)
        key = (user.mpid, user_id)
        profile = buffer.profiles.get(key)
        if profile is None:
            # The user as they are now: later changes to them do not rewrite this message.
            profile = buffer.profiles[key] = firehose.user_profile(
                user.mpid, dict(user.identities), dict(user.partner_identities), user_id
            )
        profile["audiences"].append(
            {"audience_id": audience_id, "audience_name": audience_name, "action": action}
        )
        buffer.changes += 1

    def _open(self, connection: ConnectionSettings, workspace: str) -> _Buffer:
        """A new message for the connection, queued now and built when its worker reaches it."""
        cid = connection.id
        buffer = self._buffers[cid] = _Buffer()
        row = self.deliverer.record(cid, "audiences", source={"workspace": workspace})
        self._deliver(connection, row, lambda: self._flush(cid, buffer, row, workspace))
        return buffer

    def _deliver(
        self, connection: ConnectionSettings, row: dict[str, Any], build: Callable[[], Any]
    ) -> None:
        """Queue a message to the audience output, with that output's own credentials."""
        self.connections.deliver(
            connection,
            "audience_output",
            row,
            AUDIENCE_PATH,
            self.connections.clevertap_headers(connection, "audience_output"),
            build,
        )

    def _flush(self, cid: str, buffer: _Buffer, row: dict[str, Any], workspace: str) -> Any:
        if self._buffers.get(cid) is buffer:
            del self._buffers[cid]  # closed: changes from now on open the next message
        row["source"].update({"users": len(buffer.profiles), "changes": buffer.changes})
        return firehose.membership(
            self._message_id(),
            self._now_ms(),
            self.connections.workspace_account_id(workspace),
            list(buffer.profiles.values()),
        )

    def reset(self, connections: set[str] | None) -> None:
        if connections is None:
            self._buffers.clear()
            self._messages = 0
        else:
            for name in connections:
                self._buffers.pop(name, None)
