"""The control API's views of an account under `/_emulator/clevertap/{tenant}/`: profiles with
their identity graph, merges, events, segments (and making a custom list), campaigns and what
live campaigns recorded, what sends to user ids would have delivered."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.clevertap import browse, sends
from emulator.clevertap.accounts import AccountStore
from emulator.clevertap.models import Account
from emulator.clevertap.segments import add_custom_list
from emulator.core.call import ControlCall
from emulator.core.control import not_found
from emulator.core.jsonresp import JSONResponse
from emulator.core.operations import Param, control
from emulator.core.views import TENANT, TEXT, page

if TYPE_CHECKING:
    from emulator.runtime import Emulator

LOOKUPS = [Param(key, "query", TEXT) for key in ("identity", "email", "objectId")]
ERR = "emulator/error"
MISSED = "true: the triggers that would not have sent (outside the window, not reachable)"
REACHED = "false: the users the send named and would not have reached (`reason` says why)"
Rows = list[dict[str, Any]]


class AccountViews:
    def __init__(self, emulator: Emulator, store: AccountStore, owns: Callable[[str], bool]):
        self.emulator = emulator
        self.store = store
        self.owns = owns

    def _account(self, tenant: str) -> Account:
        if not self.owns(tenant):
            raise not_found(f"no CleverTap account {tenant!r} here")
        return self.store.account(tenant)

    @page(
        "/clevertap/{tenant}/profiles",
        "profiles",
        summary="Profiles with their identity graph",
        params=LOOKUPS,
    )
    def profiles(self, tenant: str, query: dict[str, Any]) -> Rows:
        return [p.view() for p in browse.profiles(self.store.account(tenant), query)]

    @page("/clevertap/{tenant}/merges", "merges", summary="Merges and demerges, oldest first")
    def merges(self, tenant: str, query: dict[str, Any]) -> Rows:
        return list(self.store.account(tenant).merges)

    @page(
        "/clevertap/{tenant}/events",
        "events",
        summary="Events, oldest first",
        params=[Param("event_name", "query", TEXT), *LOOKUPS],
    )
    def events(self, tenant: str, query: dict[str, Any]) -> Rows:
        return browse.event_rows(self.store.account(tenant), query)

    @page(
        "/clevertap/{tenant}/segments",
        "segments",
        summary="Segments with their members' CleverTap IDs",
        params=[Param("name", "query", TEXT), Param("type", "query", TEXT)],
    )
    def segments(self, tenant: str, query: dict[str, Any]) -> Rows:
        return browse.segments(self.store.account(tenant), query)

    @control(
        "POST",
        "/clevertap/{tenant}/segments",
        summary="Make a custom list segment from identities and CleverTap IDs",
        request="clevertap/segment",
        params=[TENANT],
        responses={201: None, 400: ERR, 404: ERR},
    )
    async def add_segment(self, call: ControlCall) -> JSONResponse:
        account = self._account(call.path_param("tenant"))
        segment, unknown = add_custom_list(account, call.body, self.emulator.clock.now())
        self.emulator.changes += 1
        members = len(segment["members"])
        return JSONResponse({**segment, "count": members, "unknown": unknown}, status_code=201)

    @page(
        "/clevertap/{tenant}/campaigns",
        "campaigns",
        summary="Captured campaigns with their audience",
        params=[Param("name", "query", TEXT), Param("status", "query", TEXT)],
    )
    def captured_campaigns(self, tenant: str, query: dict[str, Any]) -> Rows:
        return browse.campaigns(self.store.account(tenant), query, self.emulator.clock.now())

    @page(
        "/clevertap/{tenant}/campaigns/triggered",
        "triggered",
        summary="Users live campaigns would have been sent to, one row per triggering event",
        params=[
            Param("id", "query", {"type": "integer"}, description="the campaign's id"),
            Param("identity", "query", TEXT),
            Param("missed", "query", {"enum": ["true", "false"]}, description=MISSED),
        ],
    )
    def triggered(self, tenant: str, query: dict[str, Any]) -> Rows:
        """Each live campaign's `triggered` rows (`?missed=true`: its `missed` rows, with the
        reason), campaigns in creation order, rows oldest first."""
        key = "missed" if query.get("missed") == "true" else "triggered"
        return [
            {"campaign": c["id"], "name": c["name"], **row}
            for c in self.store.account(tenant).campaigns
            if c.get("live") and query.get("id") in (None, c["id"])
            for row in c[key]
            if query.get("identity") in (None, row["identity"])
        ]

    @page(
        "/clevertap/{tenant}/sends",
        "sends",
        summary="What each user a send to user ids named would have received, or why not",
        params=[
            Param("channel", "query", {"enum": list(sends.CHANNELS)}),
            Param("identity", "query", TEXT),
            Param("objectId", "query", TEXT),
            Param("reached", "query", {"enum": ["true", "false"]}, description=REACHED),
        ],
    )
    def send_rows(self, tenant: str, query: dict[str, Any]) -> Rows:
        return sends.rows(self.store.account(tenant), query)

    @control(
        "GET",
        "/clevertap/{tenant}/profiles/{objectId}",
        summary="One profile by any of its CleverTap IDs",
        params=[TENANT, Param("objectId", "path", TEXT, required=True)],
        responses={200: None, 404: ERR},
    )
    async def profile(self, call: ControlCall) -> dict[str, Any]:
        account = self._account(call.path_param("tenant"))
        found = account.find("objectId", call.path_param("objectId"))
        if found is None:
            raise not_found("no profile with that CleverTap ID")
        return found.view()
