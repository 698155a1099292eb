"""The inspector's CleverTap pages: accounts; an account's profiles (search by identity, email or
CleverTap ID), segments, campaigns and exports; a profile with its identity graph, merges,
properties and events; a segment with its members and Partner Sync history; a campaign with
its targets; an export with its runs.

Read-only, and through the same domain functions as the control API's views
(`emulator/clevertap/browse.py`, `campaigns.py`, `exports.py`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request

from emulator.bridge.settings import ConnectionSettings
from emulator.clevertap import browse, exports, journeys, sends
from emulator.clevertap.models import Account
from emulator.clevertap.partners import SEGMENT_TYPE
from emulator.clevertap.profile import Profile
from emulator.clevertap.surface import CleverTapSurface
from emulator.core.control import not_found
from emulator.core.jsonresp import dumps
from emulator.inspector.pages import UI_PREFIX, View, ui_page

if TYPE_CHECKING:
    from emulator.runtime import Emulator

BASE = "/clevertap"
PAGE_SIZE = 50
MAX_PAGE = 500
SEARCH_KEYS = ("any", *browse.LOOKUP_KEYS)


class Pager:
    """One page of `rows` from the request's `offset`/`limit`, with links to the pages beside
    it that keep the request's other parameters."""

    def __init__(
        self, request: Request, rows: Sequence[Any], size: int = PAGE_SIZE, prefix: str = ""
    ):
        self.key_offset, self.key_limit = prefix + "offset", prefix + "limit"
        query = request.query_params
        self.limit = max(1, min(MAX_PAGE, _int(query.get(self.key_limit), size)))
        self.total = len(rows)
        self.offset = max(0, min(_int(query.get(self.key_offset), 0), self.total))
        self.rows: list[Any] = list(rows[self.offset : self.offset + self.limit])
        self._path = request.url.path
        self._query = dict(query)

    def _url(self, offset: int) -> str:
        return f"{self._path}?{urlencode({**self._query, self.key_offset: offset})}"

    @property
    def first(self) -> int:
        return self.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.rows)

    @property
    def prev_url(self) -> str | None:
        return self._url(max(0, self.offset - self.limit)) if self.offset > 0 else None

    @property
    def next_url(self) -> str | None:
        return self._url(self.last) if self.last < self.total else None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def shown(value: Any) -> str:
    """A property value as the page shows it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else dumps(value).decode()


class CleverTapPages:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    @property
    def surface(self) -> CleverTapSurface:
        surface = self.emulator.surface("clevertap")
        assert isinstance(surface, CleverTapSurface)
        return surface

    def open_account(self, request: Request) -> tuple[str, Account]:
        tenant: str = request.path_params["account"]
        surface = self.surface
        if not surface.owns(tenant):
            raise not_found(f"no CleverTap account {tenant!r} here")
        account = surface.store.account(tenant)
        # As the exports' control view does: the runs that came due while the clock ran freely.
        surface.scheduler.run_due(tenant, account, self.emulator.clock.now())
        return tenant, account

    def base(self, tenant: str) -> dict[str, Any]:
        return {
            "account_id": tenant,
            "account_url": f"{UI_PREFIX}{BASE}/{tenant}",
            "shown": shown,
            "partner_type": SEGMENT_TYPE,
        }

    def connections(self, tenant: str) -> list[ConnectionSettings]:
        return [
            c for c in self.emulator.tenants.settings_of(ConnectionSettings) if c.account == tenant
        ]

    # -- pages -----------------------------------------------------------------------------------
    @ui_page(BASE, nav="CleverTap", order=20)
    async def accounts(self, request: Request) -> View:
        surface = self.surface
        rows = []
        for doc in self.emulator.tenants.of_kind(surface.tenant_kind or ""):
            account = surface.store.data.get(doc["id"])  # a read here never makes an account
            rows.append(
                {
                    "id": doc["id"],
                    "name": doc.get("name"),
                    "region": doc.get("region"),
                    "profiles": len(account.profiles) if account else 0,
                    "events": len(account.events) if account else 0,
                    "segments": len(account.segments) if account else 0,
                    "campaigns": len(account.campaigns) if account else 0,
                    "exports": len(account.exports) if account else 0,
                }
            )
        return View("clevertap/accounts.html", {"accounts": rows}, title="CleverTap accounts")

    @ui_page(BASE + "/{account}")
    async def account(self, request: Request) -> View:
        tenant, account = self.open_account(request)
        query = request.query_params
        text = query.get("q", "").strip()
        by = query.get("by", "any")
        if by not in SEARCH_KEYS:
            by = "any"
        found = browse.search(account, text, by) if text else list(account.profiles.values())
        now = self.emulator.clock.now()
        context = {
            **self.base(tenant),
            "q": text,
            "by": by,
            "search_keys": SEARCH_KEYS,
            "profiles": Pager(request, found),
            "segments": browse.segments(account, {}),
            "campaigns": browse.campaigns(account, {}, now),
            "exports": [exports.view(e) for e in account.exports],
            "sends": len(account.sends),
            "journeys": len(account.journeys),
            "merges": len(account.merges),
            "events": len(account.events),
            "connections": self.connections(tenant),
        }
        return View("clevertap/account.html", context, title=f"CleverTap {tenant}")

    @ui_page(BASE + "/{account}/profiles/{object_id}")
    async def profile(self, request: Request) -> View:
        tenant, account = self.open_account(request)
        object_id = request.path_params["object_id"]
        profile = account.find("objectId", object_id)
        if profile is None:
            raise not_found(f"no profile with the CleverTap ID {object_id!r} in {tenant!r}")
        event_name = request.query_params.get("event") or None
        events = browse.events_of(account, profile)
        if event_name is not None:
            events = [e for e in events if e[0] == event_name]
        events.reverse()  # newest first
        now = self.emulator.clock.now()
        context = {
            **self.base(tenant),
            "profile": profile,
            "view": profile.view(),
            "platforms": profile.platform_info(),
            "merges": browse.merges_of(account, profile),
            "segments": browse.segments_of(account, profile),
            "campaigns": browse.campaigns_of(account, profile, now),
            "summary": sorted(profile.events.items()),
            "event_name": event_name,
            "events": Pager(request, events),
            "journal_url": self._journal_url(tenant, profile),
            "platform": platform_of(account, profile),
            "mparticle": self._mparticle_links(tenant, profile),
        }
        return View("clevertap/profile.html", context, title=f"Profile {profile.guid}")

    @ui_page(BASE + "/{account}/segments/{segment_id}")
    async def segment(self, request: Request) -> View:
        tenant, account = self.open_account(request)
        segment = browse.find_segment(account, _int(request.path_params["segment_id"], -1))
        if segment is None:
            raise not_found(f"no segment {request.path_params['segment_id']!r} in {tenant!r}")
        # Only a partner segment has Partner Sync events (the scan reads every event's name).
        partner = segment["type"] == SEGMENT_TYPE
        history = browse.partner_history(account, segment) if partner else []
        by_profile: dict[int, list[browse.Sync]] = {}
        for sync in history:
            by_profile.setdefault(sync.profile.pid, []).append(sync)
        history.reverse()  # newest first
        members = Pager(request, segment["members"])
        members.rows = browse.members(account, members.rows)  # only this page's looked up
        context = {
            **self.base(tenant),
            "segment": segment,
            "members": members,
            "history_of": by_profile,
            "history": Pager(request, history, prefix="history_"),
            "campaigns": [
                c
                for c in browse.campaigns(account, {}, self.emulator.clock.now())
                if c["request"].get("segment") in (segment["id"], segment["name"])
            ],
        }
        return View("clevertap/segment.html", context, title=f"Segment {segment['name']}")

    @ui_page(BASE + "/{account}/campaigns/{campaign_id}")
    async def campaign(self, request: Request) -> View:
        tenant, account = self.open_account(request)
        wanted = _int(request.path_params["campaign_id"], -1)
        now = self.emulator.clock.now()
        campaign = next((c for c in browse.campaigns(account, {}, now) if c["id"] == wanted), None)
        if campaign is None:
            raise not_found(f"no campaign {request.path_params['campaign_id']!r} in {tenant!r}")
        named = campaign["request"].get("segment")
        segment = next(
            (s for s in account.segments if named is not None and named in (s["id"], s["name"])),
            None,
        )
        targets = Pager(request, campaign["audience"])
        found = browse.members(account, [m["objectId"] for m in targets.rows])
        targets.rows = list(zip(targets.rows, found, strict=True))
        context = {
            **self.base(tenant),
            "campaign": campaign,
            "segment": segment,
            "targets": targets,
            "request_json": json.dumps(campaign["request"], indent=2, ensure_ascii=False),
            "live": triggers(request, campaign),
        }
        return View("clevertap/campaign.html", context, title=f"Campaign {campaign['name']}")

    @ui_page(BASE + "/{account}/exports/{export_id}")
    async def export(self, request: Request) -> View:
        tenant, account = self.open_account(request)
        found = exports.find(account, request.path_params["export_id"])
        if found is None:
            raise not_found(f"no export {request.path_params['export_id']!r} in {tenant!r}")
        feeds = [c.id for c in self.connections(tenant) if c.carries("feed")]
        context = {
            **self.base(tenant),
            "export": exports.view(found),
            # A run's deliveries are the feed connection's (one, when the account has one).
            "feed_connection": feeds[0] if len(feeds) == 1 else None,
        }
        return View("clevertap/export.html", context, title=f"Export {found['name']}")

    # -- links to other areas --------------------------------------------------------------------
    @staticmethod
    def _journal_url(tenant: str, profile: Profile) -> str:
        """The journal's requests of this account that mention the profile's identity (else its
        CleverTap ID): `q` is the journal page's text filter."""
        text = profile.identities[0] if profile.identities else profile.guid
        query = urlencode({"platform": "clevertap", "tenant": tenant, "q": text})
        return f"{UI_PREFIX}/journal?{query}"

    def _mparticle_links(self, tenant: str, profile: Profile) -> list[dict[str, str]]:
        """The mParticle user behind the profile, per connection of the account: the bridge
        sends the user's identity per the event output's User ID setting, so with `mpid` the
        identity is the MPID; otherwise the workspace's users are searched by the identity."""
        if not profile.identities:
            return []
        identity = profile.identities[0]
        links = []
        for connection in self.connections(tenant):
            workspace = f"{UI_PREFIX}/mparticle/{connection.workspace}"
            if connection.event_output.user_id == "mpid" and identity.lstrip("-").isdigit():
                href = f"{workspace}/users/{identity}"
            else:
                href = f"{workspace}?{urlencode({'identity': identity})}"
            links.append(
                {"workspace": connection.workspace, "connection": connection.id, "href": href}
            )
        return links


def platform_of(account: Account, profile: Profile) -> dict[str, Any]:
    """The sends that named the profile (the newest 20 of them) and the journeys it entered."""
    mine = set(profile.object_ids)
    # One look-up per CleverTap ID: `sends.rows` makes a row only for the users it selects.
    named = [row for oid in mine for row in sends.rows(account, {"objectId": oid})]
    named.sort(key=lambda row: row["send"], reverse=True)
    entered = [row for row in reversed(journeys.entry_rows(account, {})) if row["objectId"] in mine]
    return {"sends": named[:20], "sends_total": len(named), "journeys": entered}


def triggers(request: Request, campaign: dict[str, Any]) -> dict[str, Any] | None:
    """A live campaign's triggered and missed rows (newest first, paged); None for a campaign
    that is not live."""
    if not campaign.get("live"):
        return None
    return {
        "trigger": campaign["trigger"],
        "triggered": Pager(request, list(reversed(campaign["triggered"])), prefix="triggered_"),
        "missed": Pager(request, list(reversed(campaign["missed"])), prefix="missed_"),
    }
