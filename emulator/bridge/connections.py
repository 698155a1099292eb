"""Which connections carry which flow, and the credentials and addresses their deliveries use.

Read from the typed settings of connections, workspaces and accounts (`ConnectionSettings`,
`WorkspaceSettings`, `AccountSettings`): the bridge is the one place that reads both platforms'.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Literal

from emulator.bridge.delivery import Deliverer, Job
from emulator.bridge.settings import AudienceOutput, ConnectionSettings, EventOutput
from emulator.clevertap.settings import AccountSettings
from emulator.core.tenants import TenantRegistry
from emulator.mparticle.settings import Input, WorkspaceSettings

Side = Literal["workspace", "account"]
CLEVERTAP_API_HOST = "api.clevertap.com"
DEFAULT_REGION = "eu1"
Flow = Literal["event_output", "audience_output", "feed"]


class Connections:
    def __init__(self, tenants: TenantRegistry, deliverer: Deliverer) -> None:
        self.tenants = tenants
        self.deliverer = deliverer
        # `carrying`'s, `clevertap_headers`' and `feed_input`'s answers until the tenants
        # change (each is asked once per accepted batch).
        self._carrying: dict[tuple[Side, str, Flow], tuple[ConnectionSettings, ...]] = {}
        self._headers: dict[tuple[str, str], dict[str, str]] = {}
        self._feeds: dict[str, Input | None] = {}
        tenants.on_change(self._forget)

    def _forget(self) -> None:
        self._carrying.clear()
        self._headers.clear()
        self._feeds.clear()

    def carrying(self, side: Side, tenant: str, flow: Flow) -> tuple[ConnectionSettings, ...]:
        """Enabled connections of `tenant` (a workspace or an account, per `side`) whose `flow`
        section is enabled."""
        key = (side, tenant, flow)
        found = self._carrying.get(key)
        if found is None:
            found = self._carrying[key] = tuple(
                c
                for c in self.tenants.settings_of(ConnectionSettings)
                if getattr(c, side) == tenant and c.carries(flow)
            )
        return found

    def clevertap_headers(
        self, connection: ConnectionSettings, flow: Literal["event_output", "audience_output"]
    ) -> dict[str, str]:
        """The output's CleverTap credentials as request headers, and the Host its Region names
        (`{region}.api.clevertap.com`, as CleverTap's region table gives it:
        https://developer.clevertap.com/docs/common-api-components). Each setting the output
        leaves out is the connected account's (its region defaults to eu1)."""
        if self.tenants.settings(connection.id, ConnectionSettings) is not connection:
            return self._clevertap_headers(connection, flow)  # not (or no longer) registered
        key = (connection.id, flow)
        found = self._headers.get(key)
        if found is None:
            found = self._headers[key] = self._clevertap_headers(connection, flow)
        return dict(found)

    def _clevertap_headers(
        self, connection: ConnectionSettings, flow: Literal["event_output", "audience_output"]
    ) -> dict[str, str]:
        output: EventOutput | AudienceOutput = getattr(connection, flow)
        account = self.tenants.settings(connection.account, AccountSettings)
        account_id = output.account_id or (account.id if account else "")
        passcode = output.passcode or (account.passcode if account else "")
        region = output.region or (account.region if account else DEFAULT_REGION)
        return {
            "Host": f"{region}.{CLEVERTAP_API_HOST}",
            "X-CleverTap-Account-Id": account_id,
            "X-CleverTap-Passcode": passcode,
        }

    def feed_input(self, connection: ConnectionSettings) -> Input | None:
        """The workspace's feed input the connection names, else its first."""
        if self.tenants.settings(connection.id, ConnectionSettings) is not connection:
            return self._feed_input(connection)  # settings not (or no longer) registered
        if connection.id not in self._feeds:
            self._feeds[connection.id] = self._feed_input(connection)
        return self._feeds[connection.id]

    def _feed_input(self, connection: ConnectionSettings) -> Input | None:
        workspace = self.tenants.settings(connection.workspace, WorkspaceSettings)
        feeds = workspace.feeds() if workspace is not None else []
        wanted = connection.feed.input_key
        return next((i for i in feeds if wanted in (None, i.key)), None)

    @staticmethod
    def feed_headers(feed: Input) -> dict[str, str]:
        token = base64.b64encode(f"{feed.key}:{feed.secret or ''}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def workspace_account_id(self, workspace: str) -> int:
        """The workspace's mParticle account id, as Firehose messages carry it (0 if unknown)."""
        found = self.tenants.settings(workspace, WorkspaceSettings)
        value = found.account_id if found is not None and found.account_id else "0"
        return int(value) if value.isdigit() else 0

    def deliver(
        self,
        connection: ConnectionSettings,
        flow: Flow,
        row: dict[str, Any],
        path: str,
        headers: dict[str, str],
        build: Callable[[], Any],
        done: Callable[[dict[str, Any]], None] | None = None,
        **merging: Any,
    ) -> None:
        """Queue a POST of `build()` on the connection (to its section's `base_url` if it names
        one), retried per its delivery policy; `row` is the delivery's record."""
        job = Job(
            row,
            "POST",
            path,
            headers,
            build,
            connection.delivery,
            base_url=getattr(connection, flow).base_url,
            done=done,
            **merging,
        )
        self.deliverer.submit(connection.id, job)

    def affected(self, tenants: set[str] | None) -> set[str] | None:
        """The connections a reset or export of `tenants` covers: those named, and those of a
        named workspace or account."""
        if tenants is None:
            return None
        return {
            c.id
            for c in self.tenants.settings_of(ConnectionSettings)
            if tenants & {c.id, c.workspace, c.account}
        } | tenants
