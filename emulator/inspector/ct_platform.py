"""The CleverTap pages of the platform APIs: an account's sends to user ids (`/1/send/*.json`,
captured, never sent: per send, and per user reached or not with the reason) and its journeys
with an mParticle export node (definition, who entered, exited or missed, and the deliveries of
each entry's export). The profile and campaign pages (clevertap.py) show what these hold about
one profile and a live campaign's triggers.

Read-only, through the domain functions the control API's views call (`sends.rows`,
`journeys.view`, `journeys.entry_rows`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from emulator.clevertap import journeys, sends
from emulator.core.control import not_found
from emulator.inspector.clevertap import BASE, CleverTapPages, Pager
from emulator.inspector.pages import View, ui_page

if TYPE_CHECKING:
    from emulator.runtime import Emulator

REACHED = {"true": True, "false": False}
STATES = ("entered", "exited")


class CleverTapPlatformPages:
    def __init__(self, emulator: Emulator, pages: CleverTapPages) -> None:
        self.emulator = emulator
        self.pages = pages  # the account look-up and what every CleverTap page shows

    # -- sends -------------------------------------------------------------------------------
    @ui_page(BASE + "/{account}/sends")
    async def sends(self, request: Request) -> View:
        tenant, account = self.pages.open_account(request)
        query = request.query_params
        channel = query.get("channel") or None
        if channel not in (None, *sends.CHANNELS):
            channel = None
        identity = (query.get("identity") or "").strip()
        reached = REACHED.get(query.get("reached") or "")
        # The CleverTap IDs the text names now: a send's users are matched by them first.
        known = {
            oid
            for key in ("identity", "email", "objectId")
            for p in (account.find_all(key, identity) if identity else [])
            for oid in p.object_ids
        }
        found = [
            s
            for s in reversed(account.sends)  # newest first
            if channel in (None, s["channel"])
            and (not identity or _named(s, identity, known))
            and (reached is None or any(r["reached"] is reached for r in s["recipients"]))
        ]
        page = Pager(request, found)
        page.rows = [_send_row(s) for s in page.rows]  # only this page's counted
        context = {
            **self.pages.base(tenant),
            "sends": page,
            "channel": channel,
            "channels": sends.CHANNELS,
            "identity": identity,
            "reached": query.get("reached") if reached is not None else "",
            "filtered": bool(channel or identity or reached is not None),
        }
        return View("clevertap/sends.html", context, title=f"Sends of {tenant}")

    @ui_page(BASE + "/{account}/sends/{send_id}")
    async def send(self, request: Request) -> View:
        tenant, account = self.pages.open_account(request)
        found = _by_id(account.sends, request.path_params["send_id"], "send", tenant)
        recipients = Pager(request, found["recipients"])
        recipients.rows = [(r, account.find("objectId", r["objectId"])) for r in recipients.rows]
        context = {
            **self.pages.base(tenant),
            "send": _send_row(found),
            "recipients": recipients,
            "content_json": json.dumps(found["content"], indent=2, ensure_ascii=False),
        }
        return View("clevertap/send.html", context, title=f"Send {found['id']}")

    # -- journeys ----------------------------------------------------------------------------
    @ui_page(BASE + "/{account}/journeys")
    async def journeys(self, request: Request) -> View:
        tenant, account = self.pages.open_account(request)
        rows = [journeys.view(j) for j in reversed(account.journeys)]
        context = {**self.pages.base(tenant), "journeys": Pager(request, rows)}
        return View("clevertap/journeys.html", context, title=f"Journeys of {tenant}")

    @ui_page(BASE + "/{account}/journeys/{journey_id}")
    async def journey(self, request: Request) -> View:
        tenant, account = self.pages.open_account(request)
        found = _by_id(account.journeys, request.path_params["journey_id"], "journey", tenant)
        query = request.query_params
        state = query.get("state") if query.get("state") in STATES else None
        identity = (query.get("identity") or "").strip()
        filters = {"journey": found["id"], "state": state, "identity": identity or None}
        rows = journeys.entry_rows(account, {k: v for k, v in filters.items() if v is not None})
        rows.reverse()  # newest first
        entries = Pager(request, rows)
        entries.rows = [(e, account.find("objectId", e["objectId"])) for e in entries.rows]
        view = journeys.view(found)
        context = {
            **self.pages.base(tenant),
            "journey": view,
            "entries": entries,
            "missed": Pager(request, list(reversed(found["missed"])), prefix="missed_"),
            "state": state,
            "states": STATES,
            "identity": identity,
            "connection": self._connection(tenant, found),
            "definition_json": json.dumps(
                {"entry": view["entry"], "steps": [view["step"]]}, indent=2, ensure_ascii=False
            ),
        }
        return View("clevertap/journey.html", context, title=f"Journey {found['name']}")

    def _connection(self, tenant: str, journey: dict[str, Any]) -> str | None:
        """The connection the journey's export deliveries are on: the step's, else the
        account's one feed connection."""
        named = journey["step"].get("connection")
        if named is not None:
            return str(named)
        feeds = [c.id for c in self.pages.connections(tenant) if c.carries("feed")]
        return feeds[0] if len(feeds) == 1 else None


def _named(sent: dict[str, Any], text: str, known: set[str]) -> bool:
    """Whether a send named the user `text` names: by the CleverTap IDs of the profile it
    names now, else (no such profile now: deleted) by what the send recorded of its users."""
    recipients = sent["recipients"]
    if known:
        return any(r["objectId"] in known for r in recipients)
    return any(
        text == r["objectId"] or text in r["identities"] or text == r.get("email")
        for r in recipients
    )


def _send_row(sent: dict[str, Any]) -> dict[str, Any]:
    recipients = sent["recipients"]
    reached = sum(1 for r in recipients if r["reached"])
    return {
        **sent,
        "reached": reached,
        "not_reached": len(recipients) - reached,
        "summary": _summary(sent["content"]),
    }


def _summary(content: Any) -> str:
    """The message's title and body (or subject), as a list shows it."""
    if not isinstance(content, dict):
        return str(content)
    parts = [content.get(k) for k in ("title", "subject", "body")]
    text = " · ".join(str(p) for p in parts if p)
    return text[:120] if text else json.dumps(content, ensure_ascii=False)[:120]


def _by_id(rows: list[dict[str, Any]], raw: str, what: str, tenant: str) -> dict[str, Any]:
    """The row whose `id` the path names, or the inspector's 404."""
    found = next((row for row in rows if str(row["id"]) == raw), None)
    if found is None:
        raise not_found(f"no {what} {raw!r} in {tenant!r}")
    return found
