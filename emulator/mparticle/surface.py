"""The mParticle surface: the Events API, IDSync, the Web SDK's endpoints and the Profile API
(handlers/), over one state of workspaces (state.py). This module only assembles them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from emulator.core.admission import Rate
from emulator.core.surface import Surface
from emulator.mparticle.dsr_limits import DsrLimits
from emulator.mparticle.handlers.access import EVENTS, Access
from emulator.mparticle.handlers.alias_api import AliasApi
from emulator.mparticle.handlers.control import MParticleControl
from emulator.mparticle.handlers.data_planning import DataPlanning
from emulator.mparticle.handlers.dsr import OpenDsr
from emulator.mparticle.handlers.events_api import EventsApi
from emulator.mparticle.handlers.idsync import IdSync
from emulator.mparticle.handlers.platform_api import PlatformApi
from emulator.mparticle.handlers.profile_api import ProfileApi
from emulator.mparticle.handlers.web_sdk import WebSdk
from emulator.mparticle.settings import WorkspaceSettings
from emulator.mparticle.state import MParticleState

if TYPE_CHECKING:
    from emulator.runtime import Emulator


class MParticleSurface(Surface):
    name = "mparticle"
    settings = WorkspaceSettings
    envelope = EVENTS
    path_prefixes = (
        "/v2/",
        "/s2s/",
        "/v1/",
        "/identity/",
        "/oauth/",
        "/userprofile/",
        "/v3/",
        "/JS/",
        "/webevents/",
        "/tags/",
        "/platform/",
        "/dsr/",
    )
    # Every mParticle API is on a subdomain of mparticle.com: s2s (and its pods s2s.us1, us2,
    # eu1, au1), inbound, identity, jssdks, jssdkcdns, nativesdks, api, sso.auth, opendsr,
    # opengdpr (https://docs.mparticle.com/developers/apis/http/, .../idsync/, .../dsr-api/).
    hosts = (".mparticle.com",)

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.state = MParticleState(emulator.clock, emulator.ids, emulator.events)
        self.access = Access(emulator.tenants, self.state)
        self.events_rate = Rate()
        self.dsr_limits = DsrLimits()
        self._handlers = (
            EventsApi(self.access, self.state, self.events_rate),
            ProfileApi(self.access, self.state),
            IdSync(self.access, self.state),
            WebSdk(self.access, self.state),
            OpenDsr(self.access, self.state, self.dsr_limits),
            MParticleControl(self.access, self.state, self._changed),
            PlatformApi(self.access, self.state),
            AliasApi(self.access, self.state),
            DataPlanning(self.access, self.state),
        )

    def _changed(self) -> None:
        self.emulator.changes += 1

    def handlers(self) -> Sequence[object]:
        return self._handlers

    def resolve_tenant(self, request: Request) -> str | None:
        return self.access.resolve_tenant(request)

    def security_schemes(self) -> dict[str, Any]:
        return {
            "mparticleBasic": {"type": "http", "scheme": "basic"},
            "mparticleBearer": {"type": "http", "scheme": "bearer"},
        }

    # -- tenants ---------------------------------------------------------------------------
    def check_tenant(self, doc: dict[str, Any]) -> list[str]:
        return self.access.check_tenant(doc)

    def tenants_changed(self) -> None:
        self.access.tenants_changed()

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        return self.state.export(tenants)

    def import_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.state.load(tables)

    def reset(self, tenants: Iterable[str] | None) -> None:
        self.state.reset(tenants)
        self.events_rate.forget(None if tenants is None else list(tenants))
        self.dsr_limits.forget(None if tenants is None else list(tenants))
