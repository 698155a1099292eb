"""The CleverTap surface (`/1/...` and `/_emulator/clevertap/...`): assembles the account store,
the handlers (handlers/) and the transient state (download cursors, pending reports, exports in
flight), and carries them through tenant changes, state export/import and resets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from emulator.clevertap.accounts import AccountStore
from emulator.clevertap.cursors import Cursors
from emulator.clevertap.custom_lists import CustomLists
from emulator.clevertap.events import ExportRunFinished
from emulator.clevertap.handlers.access import ENVELOPE, SECURITY_SCHEMES, Access
from emulator.clevertap.handlers.api_segments import ApiSegments
from emulator.clevertap.handlers.campaigns import Campaigns
from emulator.clevertap.handlers.control import AccountViews
from emulator.clevertap.handlers.custom_lists import CustomListApi
from emulator.clevertap.handlers.exports import ExportsControl
from emulator.clevertap.handlers.journeys import JourneysControl
from emulator.clevertap.handlers.management import Management
from emulator.clevertap.handlers.partners import Partners
from emulator.clevertap.handlers.reads import Reads
from emulator.clevertap.handlers.reports import Reports
from emulator.clevertap.handlers.sends import Sends
from emulator.clevertap.handlers.upload import Upload
from emulator.clevertap.polling import PendingReports
from emulator.clevertap.scheduler import ExportScheduler
from emulator.clevertap.settings import AccountSettings
from emulator.core.admission import OPEN, InFlight, Slot
from emulator.core.errors import ApiError
from emulator.core.operations import PlatformOperation
from emulator.core.surface import Surface

if TYPE_CHECKING:
    from emulator.runtime import Emulator

# Both upload paths are "the upload APIs" whose requests share the account's limit.
UPLOAD_PATHS = frozenset({"/1/upload", "/1/upload_device_tokens"})
CREATE_PATH = "/1/targets/create.json"
TOO_MANY = "Too many concurrent requests"


class CleverTapSurface(Surface):
    name = "clevertap"
    settings = AccountSettings
    path_prefixes = ("/1/",)
    envelope = ENVELOPE
    # The region table of https://developer.clevertap.com/docs/common-api-components:
    # `api.clevertap.com` (Europe) and `{region}.api.clevertap.com` (eu1, in1, sg1, us1, aps3,
    # mec1, ...).
    hosts = (".api.clevertap.com",)

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        ids = emulator.ids
        self.store = AccountStore(ids.clevertap_id, emulator.clock.now)
        self.access = Access(emulator.tenants, self.store)
        self.cursors = Cursors(ids.cursor)
        self.uploads_in_flight = InFlight()
        self.creates_in_flight = InFlight()
        self.pending = PendingReports(lambda: int(ids.hex(12), 16))
        self.custom_lists = CustomLists(lambda: ids.token(32))
        self.scheduler = ExportScheduler(emulator, self.store, self.owns)
        self.store.on_event = self.scheduler.on_event
        # Moving the clock starts the export runs that have come due; the bridge reports each
        # run's deliveries back.
        emulator.clock.on_change(self.scheduler.clock_moved)
        emulator.events.subscribe(ExportRunFinished, self.scheduler.on_finished)
        self._handlers = (
            Upload(self.access),
            Reads(self.access, self.cursors),
            Reports(self.access, self.pending),
            Management(self.access),
            Campaigns(self.access),
            Partners(self.access),
            AccountViews(emulator, self.store, self.owns),
            ExportsControl(emulator, self.store, self.scheduler, self.owns),
            CustomListApi(self.access, self.custom_lists),
            ApiSegments(self.access),
            Sends(self.access),
            JourneysControl(emulator, self.store, self.scheduler, self.owns),
        )

    def handlers(self) -> Sequence[object]:
        return self._handlers

    def resolve_tenant(self, request: Request) -> str | None:
        return self.access.resolve(request)

    def admit(self, request: Request, op: PlatformOperation | None) -> Slot:
        """CleverTap's concurrency limits: per account and per API, no time window; the request
        past the limit answers 429 "Too many concurrent requests"
        (https://developer.clevertap.com/docs/api-request-limit). Uploads: 15 (documented);
        campaign creates: 15 too, inferred (the page's per-API figure for them is not
        published). Only an authenticated account's requests count; the account's
        `concurrent_uploads` / `concurrent_campaign_creates` options set them (0: off)."""
        if op is None:
            return OPEN
        if op.path in UPLOAD_PATHS:
            option, in_flight = "concurrent_uploads", self.uploads_in_flight
        elif op.path == CREATE_PATH:
            option, in_flight = "concurrent_campaign_creates", self.creates_in_flight
        else:
            return OPEN
        account = self.access.resolve(request)
        if account is None:
            return OPEN
        limit: int = getattr(self.access.settings(account).options, option)
        if limit == 0:
            return OPEN
        return in_flight.admit(account, limit, ApiError(429, TOO_MANY))

    def security_schemes(self) -> dict[str, Any]:
        return dict(SECURITY_SCHEMES)

    def tenants_changed(self) -> None:
        self.access.tenants_changed()

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        return {"accounts": self.store.export(tenants)}

    def import_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.reset(None)
        self.store.load(tables.get("accounts", []))

    def reset(self, tenants: Iterable[str] | None) -> None:
        if tenants is not None:
            tenants = list(tenants)
        self.store.forget(tenants)
        self.cursors.forget(tenants)
        self.pending.forget(tenants)
        self.scheduler.forget(tenants)
        self.custom_lists.forget(tenants)
