"""The live journal: every platform request, newest first, filtered and paged; new ones arrive
over Server-Sent Events; one entry's detail with its body marked where it broke its contract.

The stream is a UI route (`/_emulator/ui/journal/stream`, text/event-stream), not a control
operation: it is the page's feed, not JSON an API client reads (`GET /_emulator/requests/wait`
is that), and it passes the same Host/Origin guard and session as every page. Ingestion only
sets each subscriber's event (`Journal.subscribe`); the stream's own task reads what is new,
renders it and sends it, at most `FLUSHES_PER_SECOND` times a second, so a burst is one message
and a slow reader costs the request pipeline nothing (what it has not read stays in the journal;
past `MAX_BATCH` new rows it gets the newest and a count of the rest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from emulator.admin.journal import FILTER_PARAMS
from emulator.core.control import invalid, not_found
from emulator.core.journal import Entry, JournalFilter
from emulator.core.jsonresp import JSONDecodeError, dumps, loads
from emulator.core.operations import Param
from emulator.core.params import QueryParser
from emulator.inspector.jsonview import render_json
from emulator.inspector.nearmiss import near_misses
from emulator.inspector.pages import UI_PREFIX, View, ui_page

if TYPE_CHECKING:
    import jinja2

    from emulator.runtime import Emulator

PAGE_SIZE = 50
# Rows one stream message carries at most, and messages a second: a busy emulator sends the
# newest rows 4 times a second (well within the second a reader waits), never one per request.
MAX_BATCH = 20
FLUSHES_PER_SECOND = 4
KEEPALIVE_SECONDS = 15.0
FILTERS = ("platform", "tenant", "path", "status", "valid", "origin")
# `q`: text the request mentions (its path, query or body), e.g. a profile's identity.
_TEXT = Param("q", "query", {"type": "string", "minLength": 1, "maxLength": 200})
_PARSER = QueryParser([p for p in FILTER_PARAMS if p.name in (*FILTERS, "since")] + [_TEXT])
# Header and query names whose values are secrets even when a client sends them unusually.
SECRET_WORDS = ("passcode", "secret", "token", "password", "apikey", "api_key")


def parse_filters(request: Request) -> tuple[JournalFilter, dict[str, str]]:
    """The filter the query asks for (empty fields ignored: an untouched form field), and the
    raw values to show in the form. A bad value is the page's 400."""
    names = (*FILTERS, "since", "q")
    raw = {k: v for k in names if (v := request.query_params.get(k, "").strip())}
    values = _PARSER.parse(raw)
    flt = JournalFilter(**{k: values.get(k) for k in (*FILTERS, "since")}, text=values.get("q"))
    return flt, raw


def _json(value: Any) -> Any:
    """A journaled body (JSON kept as bytes, or text) as data; None when absent."""
    if value is None or isinstance(value, str):
        return value
    try:
        return loads(dumps(value))
    except JSONDecodeError:
        return None


def masked(pairs: dict[str, str]) -> dict[str, str]:
    """Values of secret-looking names masked (the journal already masks the usual headers)."""
    return {
        k: ("***" if any(w in k.lower().replace("-", "_") for w in SECRET_WORDS) else v)
        for k, v in pairs.items()
    }


def row(entry: Entry) -> dict[str, Any]:
    """What a list row shows of an entry."""
    return {
        "seq": entry["seq"],
        "time": entry["time"],
        "method": entry["method"],
        "path": entry["path"],
        "status": entry["status"],
        "platform": entry["platform"],
        "tenant": entry["tenant"],
        "valid": entry["valid"],
        "origin": entry.get("origin", "client"),
        "duration_ms": entry["duration_ms"],
        "fault": entry.get("fault"),
        "parts_rejected": sum(
            1 for p in _json(entry.get("parts")) or () if p.get("outcome") == "rejected"
        ),
    }


def link_href(kind: str, tenant: str, ident: Any) -> str:
    """The page of what an entry touched (the URL scheme the areas share)."""
    if kind == "mparticle-user":
        return f"{UI_PREFIX}/mparticle/{tenant}/users/{ident}"
    if kind == "clevertap-profile":
        return f"{UI_PREFIX}/clevertap/{tenant}/profiles/{ident}"
    return f"{UI_PREFIX}/flows/{tenant}/deliveries/{ident}"


class JournalPages:
    def __init__(self, emulator: Emulator, templates: jinja2.Environment) -> None:
        self.emulator = emulator
        self.journal = emulator.journal
        # The list's row, rendered for the stream by the same macro (one look for both).
        macros: Any = templates.get_template("journal/_row.html").module
        self.render_row: Callable[..., Any] = macros.row

    @ui_page("/journal", nav="Journal", order=10)
    async def journal_list(self, request: Request) -> View:
        flt, raw = parse_filters(request)
        raw_offset = request.query_params.get("offset", "") or "0"
        if not (raw_offset.isascii() and raw_offset.isdigit()):
            raise invalid("offset is a number of entries: 0, 50, 100, ...")
        offset = int(raw_offset)
        entries, total = self.journal.newest(flt, PAGE_SIZE, offset)
        query = urlencode(raw)

        def page(at: int) -> str:
            return f"{UI_PREFIX}/journal?" + urlencode({**raw, "offset": at})

        return View(
            "journal/list.html",
            {
                "rows": [row(e) for e in entries],
                "total": total,
                "offset": offset,
                "page_size": PAGE_SIZE,
                "filters": raw,
                "query": query,
                "newer": page(max(0, offset - PAGE_SIZE)) if offset else None,
                "older": page(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
                "live": offset == 0,
                "last_seq": self.journal.last_seq,
                "tenants": sorted(str(t["id"]) for t in self.emulator.tenants.all()),
                "stats": self.journal.stats(),
            },
            title="Journal",
        )

    @ui_page("/journal/stream")
    async def stream(self, request: Request) -> Response:
        flt, _ = parse_filters(request)
        since = flt.since if flt.since is not None else self.journal.last_seq
        # A reconnecting EventSource names the last message it got: nothing is sent twice.
        last_id = request.headers.get("last-event-id", "")
        if last_id.isascii() and last_id.isdigit():
            since = max(since, int(last_id))
        flt = replace(flt, since=None)
        return StreamingResponse(
            self._events(flt, since),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    async def _events(self, flt: JournalFilter, since: int) -> AsyncIterator[str]:
        journal = self.journal
        subscription = journal.subscribe()
        subscription.wake.set()  # send what came between the page and the stream at once
        render = self.render_row
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    await asyncio.wait_for(subscription.wake.wait(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if subscription.closed:
                    return
                subscription.wake.clear()
                last = journal.last_seq
                if last < since:  # the journal was cleared or replaced: start over
                    since = last
                    yield "event: cleared\ndata: {}\n\n"
                    continue
                fresh = journal.after(since)
                since = last
                matched = [e for e in fresh if flt.matches(e)]
                if matched:
                    html = "".join(str(render(row(e), True)) for e in matched[:MAX_BATCH])
                    # One `data:` line: a line break would end the field (SSE framing).
                    data = html.replace("\r", " ").replace("\n", " ")
                    message = {"rows": len(matched), "skipped": max(0, len(matched) - MAX_BATCH)}
                    yield f"event: meta\ndata: {dumps(message).decode()}\n\n"
                    yield f"id: {last}\nevent: rows\ndata: {data}\n\n"
                await asyncio.sleep(1 / FLUSHES_PER_SECOND)  # coalesce a burst
        finally:
            journal.unsubscribe(subscription)

    @ui_page("/journal/{seq:int}")
    async def entry(self, request: Request) -> View:
        seq = int(request.path_params["seq"])
        entry = self.journal.get(seq)
        if entry is None:
            raise not_found(f"no journal entry {seq} (it may have been dropped, or reset)")
        validation = _json(entry.get("validation")) or {}
        parts = _json(entry.get("parts")) or []
        errors = list(validation.get("errors") or [])
        errors += [e for p in parts for e in p.get("errors") or ()]
        body = _json(entry.get("body"))
        near = []
        if entry["status"] in (404, 405):
            operations = [op for s in self.emulator.surfaces for op in s.operations()]
            near = near_misses(entry["method"], entry["path"], operations)
            if near and not near[0].differs:
                near = []  # an operation took it (a 404 of its own: no such profile)
        links = [
            {"kind": kind, "tenant": tenant, "id": ident, "href": link_href(kind, tenant, ident)}
            for kind, tenant, ident in entry.get("links") or ()
        ]
        links += self._profile_links(entry, body)
        return View(
            "journal/detail.html",
            {
                "e": row(entry),
                "entry": entry,
                "headers": masked(_json(entry.get("headers")) or {}),
                "query_params": masked(_json(entry.get("query")) or {}),
                "errors": errors,
                "warnings": validation.get("warnings") or [],
                "contract": validation.get("contract"),
                "parts": parts,
                "body_html": render_json(body, errors) if not isinstance(body, str) else None,
                "body_text": body if isinstance(body, str) else None,
                "response": _pretty(entry.get("response")),
                "links": links,
                "near": near,
                "tenant_href": _tenant_href(entry),
            },
            title=f"#{seq} {entry['method']} {entry['path']}",
        )

    def _profile_links(self, entry: Entry, body: Any) -> list[dict[str, Any]]:
        """The CleverTap profiles an accepted upload names, found when the page is read (the
        upload path stays as fast as it is: nothing is noted while it runs)."""
        if entry["platform"] != "clevertap" or not isinstance(body, dict) or not entry["tenant"]:
            return []
        records = body.get("d")
        if entry["status"] >= 300 or not isinstance(records, list):
            return []
        store = getattr(self.emulator.surface("clevertap"), "store", None)
        account = None if store is None else store.data.get(entry["tenant"])
        if account is None:  # the account holds nothing (a reset): nothing to link to
            return []
        found: dict[str, dict[str, Any]] = {}
        for record in records[:100]:
            if not isinstance(record, dict):
                continue
            for key in ("identity", "objectId"):
                value = record.get(key)
                profile = account.find(key, str(value)) if value is not None else None
                if profile is not None:
                    href = link_href("clevertap-profile", entry["tenant"], profile.guid)
                    found[profile.guid] = {
                        "kind": "clevertap-profile",
                        "tenant": entry["tenant"],
                        "id": profile.guid,
                        "href": href,
                    }
                    break
        return list(found.values())


def _pretty(value: Any) -> str | None:
    data = _json(value)
    if data is None or isinstance(data, str):
        return data
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def _tenant_href(entry: Entry) -> str | None:
    if not entry["tenant"] or entry["platform"] not in ("clevertap", "mparticle"):
        return None
    return f"{UI_PREFIX}/{entry['platform']}/{entry['tenant']}"
