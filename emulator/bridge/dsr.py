"""Data subject requests across the bridge.

- Status callbacks: each status change of an OpenDSR request (`DsrStatusChanged`) is POSTed, as
  signed by mParticle, to each of the request's `status_callback_urls`, through the delivery
  machinery (recorded under the workspace's id, flow `dsr_callbacks`, retried on 429, 5xx and
  connection errors: https://docs.mparticle.com/developers/apis/dsr-api/v3/, "Callbacks").
- Erasure forwarding: a connection with `dsr_forward_erasure` (default false) turns each user an
  erasure removed (`UserErased`) into CleverTap's delete-profile call
  (https://developer.clevertap.com/docs/delete-user-profile-api) for the identity its event
  output's User ID names, flow `dsr_erasure`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from emulator.bridge import mapping
from emulator.bridge.connections import Connections
from emulator.bridge.delivery import Job
from emulator.bridge.settings import ConnectionSettings, DeliveryPolicy
from emulator.core.operations import Param
from emulator.core.views import TEXT, page
from emulator.mparticle.events import DsrStatusChanged, UserErased
from emulator.mparticle.settings import WorkspaceSettings

DELETE_PATH = "/1/delete/profiles.json"
# Callbacks retry as the connections' default policy does (contract bridge/connection).
CALLBACK_POLICY = DeliveryPolicy(max_attempts=10, backoff_ms=50, max_backoff_ms=2000)


class DsrFlow:
    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        self.deliverer = connections.deliverer

    def on_status(self, event: DsrStatusChanged) -> None:
        for url in event.urls:
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            source = {
                "subject_request_id": event.subject_request_id,
                "request_status": event.status,
                "url": url,
            }
            row = self.deliverer.record(event.workspace, "dsr_callbacks", source=source)
            body = event.body
            job = Job(
                row,
                "POST",
                path,
                dict(event.headers),
                lambda body=body: body,  # type: ignore[misc]
                CALLBACK_POLICY,
                base_url=f"{parts.scheme}://{parts.netloc}",
            )
            self.deliverer.submit(event.workspace, job)

    def on_erased(self, event: UserErased) -> None:
        for connection in self.connections.tenants.settings_of(ConnectionSettings):
            if not (
                connection.workspace == event.workspace
                and connection.enabled
                and connection.dsr_forward_erasure
            ):
                continue
            settings = mapping.Settings(user_id=connection.event_output.user_id)
            identity = mapping.identity_of({}, event.mpid, settings, event.identities)
            source = {"subject_request_id": event.subject_request_id, "mpid": str(event.mpid)}
            row = self.deliverer.record(connection.id, "dsr_erasure", source=source)
            if identity is None:
                row["status"] = "skipped"
                row["skipped"] = f"the user has no {settings.user_id} to name the CleverTap profile"
                continue
            self.connections.deliver(
                connection,
                "event_output",
                row,
                DELETE_PATH,
                self.connections.clevertap_headers(connection, "event_output"),
                lambda identity=identity: {"identity": [identity]},  # type: ignore[misc]
            )


class DsrCallbacksControl:
    """The status callbacks a workspace's data subject requests made."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections

    def owns(self, tenant: str) -> bool:
        return self.connections.tenants.settings(tenant, WorkspaceSettings) is not None

    @page(
        "/bridge/{tenant}/dsr-callbacks",
        "deliveries",
        summary="A workspace's OpenDSR status callbacks, oldest first: each request, attempt "
        "and answer",
        params=[Param("status", "query", TEXT)],
    )
    def callbacks(self, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return self.connections.deliverer.select(tenant, "dsr_callbacks", query.get("status"))
