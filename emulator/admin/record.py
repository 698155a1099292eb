"""Control operations that record a scenario: start, ask, stop (the scenario as YAML or JSON).

The recording itself is the journal between start and stop; scenarios/recording.py turns those
entries into steps. Here: what the start remembers (journal position, clock, each connection's
deliveries so far), which tenant documents the scenario needs, and the answer's format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from starlette.responses import Response

from emulator.admin.journal import ERR, E
from emulator.config import default_tenants
from emulator.core.call import ControlCall
from emulator.core.control import PREFIX, conflict
from emulator.core.journal import JournalFilter
from emulator.core.jsonresp import JSONResponse
from emulator.core.operations import Param, control
from emulator.scenarios.recording import Started, build, iso
from emulator.scenarios.yamlio import dump

if TYPE_CHECKING:
    from emulator.runtime import Emulator

ALL_ROWS = 10000  # the largest page a view gives
_ORDER = {"clevertap_account": 0, "mparticle_workspace": 1, "connection": 2}


class RecordControl:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.started: Started | None = None

    def _status(self) -> dict[str, Any]:
        started = self.started
        if started is None:
            return {"recording": False}
        return {
            "recording": True,
            "name": started.name,
            "tenants": None if started.tenants is None else sorted(started.tenants),
            "since": started.since,
            "started": iso(started.clock),
            "requests": self.emulator.journal.last_seq - started.since,
        }

    @control(
        "GET",
        "/scenarios/record",
        summary="Whether a scenario recording is running",
        responses={200: E + "recording"},
    )
    async def recording(self, call: ControlCall) -> dict[str, Any]:
        return self._status()

    @control(
        "POST",
        "/scenarios/record",
        summary="Start recording the platform requests as a scenario",
        request=E + "record-start",
        responses={201: E + "recording", 400: ERR, 409: ERR},
    )
    async def start(self, call: ControlCall) -> Response:
        if self.started is not None:
            raise conflict(f"a recording is running ({self.started.name!r}): stop it first")
        body = call.body
        tenants = body.get("tenants")
        started = Started(
            name=body["name"],
            description=body.get("description"),
            tenants=None if tenants is None else frozenset(tenants),
            since=self.emulator.journal.last_seq,
            clock=self.emulator.clock.now(),
        )
        for connection in self._connections(started):
            started.deliveries[connection] = (await self._view(connection, 0, 1))["total"]
        self.started = started
        return JSONResponse(self._status(), status_code=201)

    @control(
        "POST",
        "/scenarios/record/stop",
        summary="Stop the recording; answers the scenario (YAML, or JSON with format=json)",
        params=[Param("format", "query", {"enum": ["yaml", "json"]}, description="yaml")],
        responses={200: "scenario/scenario", 400: ERR, 409: ERR},
        response_media=("application/yaml", "application/json"),
    )
    async def stop(self, call: ControlCall) -> Response:
        started = self.started
        if started is None:
            raise conflict("no recording is running")
        journal = self.emulator.journal
        entries = journal.select(JournalFilter(since=started.since))
        lost = entries[0]["seq"] - started.since - 1 if entries else 0
        if lost > 0 or (not entries and journal.last_seq > started.since):
            self.started = None  # it cannot be written: let a new one start
            raise conflict(
                f"the journal dropped {lost or journal.last_seq - started.since} entries of the "
                "recording: start the emulator with a larger --journal-size"
            )
        deliveries = {
            connection: (await self._view(connection, offset, ALL_ROWS))["deliveries"]
            for connection, offset in started.deliveries.items()
        }
        document = build(started, entries, self._tenants(started), deliveries)
        self.started = None
        if call.query.get("format") == "json":
            return JSONResponse(document)
        return Response(dump(document), media_type="application/yaml")

    def _connections(self, started: Started) -> list[str]:
        return [
            doc["id"]
            for doc in self.emulator.tenants.all()
            if doc["kind"] == "connection"
            and (
                started.tenants is None
                or {doc["id"], doc["workspace"], doc["account"]} & started.tenants
            )
        ]

    def _tenants(self, started: Started) -> list[dict[str, Any]] | None:
        """The tenant documents the scenario needs: none when they are the defaults; else every
        tenant, or those the recording is limited to with the connections between them."""
        docs = sorted(
            self.emulator.tenants.all(), key=lambda d: (_ORDER.get(d["kind"], 3), d["id"])
        )
        if _same(docs, default_tenants()):
            return None
        if started.tenants is None:
            return docs
        wanted = set(started.tenants)
        for doc in docs:
            if doc["kind"] == "connection" and {doc["workspace"], doc["account"]} & wanted:
                wanted |= {doc["id"], doc["workspace"], doc["account"]}
        return [doc for doc in docs if doc["id"] in wanted]

    async def _view(self, connection: str, offset: int, limit: int) -> dict[str, Any]:
        """A page of a connection's deliveries, read through the bridge's own view."""
        app = self.emulator.asgi_app
        token = self.emulator.config.admin_token
        headers = {"x-emulator-token": token} if token else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            response = await client.get(
                f"{PREFIX}/bridge/{connection}/deliveries",
                params={"offset": offset, "limit": limit},
                headers=headers,
            )
        if response.status_code != 200:  # the connection went while recording
            return {"total": 0, "deliveries": []}
        page: dict[str, Any] = response.json()
        return page


def _same(docs: list[dict[str, Any]], defaults: list[dict[str, Any]]) -> bool:
    def key(doc: dict[str, Any]) -> str:
        return str(doc["id"])

    return sorted(docs, key=key) == sorted(defaults, key=key)
