"""The inspector's mParticle and flows pages (`/_emulator/ui/mparticle/...`,
`/_emulator/ui/flows/...`) as tests read them, on the shared `InspectorDriver`: each page by its
place in the URL scheme, answered 200 with HTML (`missing` for the 404 page of an unknown
workspace, user, audience, batch, data subject request, connection or delivery)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.drivers.defaults import CONNECTION, WORKSPACE
from tests.drivers.inspector import UI, InspectorDriver, Page


class MParticlePagesDriver:
    def __init__(self, inspector: InspectorDriver) -> None:
        self.inspector = inspector

    # -- mParticle -----------------------------------------------------------------------------
    def workspaces(self) -> Page:
        return self.inspector.ok("/mparticle")

    def workspace(self, workspace: str = WORKSPACE, **params: Any) -> Page:
        """A workspace's page (`q`: find users by MPID or identity; `offset`, `idsync`)."""
        return self.inspector.ok(f"/mparticle/{quote(workspace, safe='')}", **params)

    def user(self, mpid: str, workspace: str = WORKSPACE, **params: Any) -> Page:
        return self.inspector.ok(f"/mparticle/{quote(workspace, safe='')}/users/{mpid}", **params)

    def audience(self, audience_id: int, workspace: str = WORKSPACE) -> Page:
        return self.inspector.ok(f"/mparticle/{quote(workspace, safe='')}/audiences/{audience_id}")

    def batch(self, number: int, workspace: str = WORKSPACE) -> Page:
        return self.inspector.ok(f"/mparticle/{quote(workspace, safe='')}/batches/{number}")

    # -- mParticle's platform APIs -------------------------------------------------------------
    def dsr_requests(self, workspace: str = WORKSPACE, **filters: Any) -> Page:
        """A workspace's data subject requests (`status`, `type`, `identity`, `offset`)."""
        return self.inspector.ok(f"/mparticle/{quote(workspace, safe='')}/dsr", **filters)

    def dsr_request(self, request_id: str, workspace: str = WORKSPACE) -> Page:
        return self.inspector.ok(
            f"/mparticle/{quote(workspace, safe='')}/dsr/{quote(request_id, safe='')}"
        )

    def plans(self, workspace: str = WORKSPACE, **filters: Any) -> Page:
        """Data plans and the batches that violated them (`plan_id`, `mpid`, `violations`)."""
        return self.inspector.ok(f"/mparticle/{quote(workspace, safe='')}/plans", **filters)

    def aliases(self, workspace: str = WORKSPACE, **filters: Any) -> Page:
        """Alias requests (`status`, `mpid`, `offset`)."""
        return self.inspector.ok(f"/mparticle/{quote(workspace, safe='')}/aliases", **filters)

    # -- flows ---------------------------------------------------------------------------------
    def connections(self) -> Page:
        return self.inspector.ok("/flows")

    def deliveries(self, connection: str = CONNECTION, **filters: Any) -> Page:
        """A connection's deliveries timeline (`flow`, `status`, `offset`)."""
        return self.inspector.ok(f"/flows/{quote(connection, safe='')}", **filters)

    def delivery(self, delivery_id: str, connection: str = CONNECTION) -> Page:
        return self.inspector.ok(f"/flows/{quote(connection, safe='')}/deliveries/{delivery_id}")

    def beside(self, number: int, connection: str = CONNECTION) -> Page:
        """Workspace batch `number` beside the CleverTap records the connection made of it."""
        return self.inspector.ok(f"/flows/{quote(connection, safe='')}/batches/{number}")

    # -- what every page of the area shares ----------------------------------------------------
    def missing(self, path: str) -> Page:
        """`GET /_emulator/ui{path}`, which must be the 404 page (HTML, in the site's frame)."""
        page = self.inspector.ui(path)
        assert page.status == 404, (path, page.status, page.text[:300])
        assert page.headers["content-type"].startswith("text/html"), page.headers
        assert page.title.startswith("404"), page.title
        return page

    @staticmethod
    def link(path: str) -> str:
        """The absolute link a page carries to `/_emulator/ui{path}`."""
        return UI + path
