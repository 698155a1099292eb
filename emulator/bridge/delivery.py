"""Deliveries: the HTTP requests the flows make, queued per connection, retried, recorded.

Each connection has its own queue and one worker task, so requests leave in the order the flow
made them and a fault on one connection never holds up another. A request goes through the
emulator's own ASGI app (journaled, fault-injectable, exactly as a client's would) unless the
connection names an external base URL. 429 and 5xx answers (and connection errors) are retried
with doubling backoff, honouring `Retry-After` up to the connection's cap; the request is sent
again unchanged, and a retried request that had failed was never applied, so every record
arrives once. Every delivery is kept with its attempts and final answer.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from emulator.bridge.settings import DeliveryPolicy
from emulator.core.call import (
    DELIVERY_SCOPE_KEY,
    FLOW_SCOPE_KEY,
    FLOW_USER_AGENT,
    JOURNAL_SEQ_KEY,
    link,
)
from emulator.core.jsonresp import Fragment, JSONDecodeError, dumps, fragment, loads

if TYPE_CHECKING:
    from emulator.runtime import Emulator

USER_AGENT = FLOW_USER_AGENT
RETRYABLE = frozenset({429, 500, 502, 503, 504})


@dataclass(slots=True)
class Job:
    """One request to make. `build` gives the JSON body when the worker reaches the job (the
    audience flow gathers every change made until then into one message)."""

    row: dict[str, Any]
    method: str
    path: str
    headers: dict[str, str]
    build: Callable[[], Any]
    policy: DeliveryPolicy
    base_url: str | None = None
    # Told the finished row (delivered or failed): an export marks its run done.
    done: Callable[[dict[str, Any]], None] | None = None
    # Jobs queued back to back with the same `merge_key` leave as one request while their
    # `size`s fit in `limit` (a busy workspace's batches share /1/upload requests, as a real
    # forwarder batches them). `combine` makes the shared body from each job's, and `share`
    # cuts the shared answer down to one job's part (its offset and size).
    merge_key: tuple[Any, ...] | None = None
    size: int = 0
    limit: int = 0
    combine: Callable[[list[Any]], Any] | None = None
    share: Callable[[Any, int, int], Any] | None = None
    # `combine` over the bodies already serialised (each job's is kept as its own): the shared
    # body's JSON without serialising the records a second time; None when it cannot tell.
    combine_raw: Callable[[list[bytes]], bytes | None] | None = None


class Deliverer:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # connection -> deliveries, oldest first; the oldest go past `journal_size`, as in the
        # journal (a busy workspace makes one per batch).
        self.rows: dict[str, collections.deque[dict[str, Any]]] = {}
        self.keep = emulator.config.journal_size
        self._queues: dict[str, collections.deque[Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._busy: set[str] = set()  # connections with a job in flight
        self._waiters: list[asyncio.Future[None]] = []
        self._next = 0
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- recording -------------------------------------------------------------------------
    def record(self, connection: str, flow: str, **fields: Any) -> dict[str, Any]:
        """A new delivery row (status `pending` unless `fields` say otherwise)."""
        self._next += 1
        row: dict[str, Any] = {
            "id": f"delivery-{self._next}",
            "connection": connection,
            "flow": flow,
            "status": "pending",
            "created": self.emulator.clock.now(),
            **fields,
        }
        self.keep_row(connection, row)
        self.emulator.changes += 1
        link("delivery", connection, row["id"])  # the request that caused it links to it
        return row

    def keep_row(self, connection: str, row: dict[str, Any]) -> None:
        rows = self.rows.get(connection)
        if rows is None:
            rows = self.rows[connection] = collections.deque(maxlen=self.keep)
        rows.append(row)

    def restore_sequence(self, last: int) -> None:
        self._next = last

    # -- reading (the control API's view and the inspector's pages) ----------------------------
    def select(
        self, connection: str, flow: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """A connection's deliveries, oldest first, of one flow and status when given."""
        return [
            row
            for row in self.rows.get(connection, ())
            if flow in (None, row["flow"]) and status in (None, row["status"])
        ]

    def find(self, connection: str, delivery_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rows.get(connection, ()) if r["id"] == delivery_id), None)

    def of_batch(self, connection: str, number: int) -> list[dict[str, Any]]:
        """The deliveries a workspace's batch `number` caused on the connection (events flow)."""
        return [r for r in self.rows.get(connection, ()) if r.get("batch") == number]

    # -- queueing --------------------------------------------------------------------------
    def submit(self, connection: str, job: Job) -> None:
        self._queues.setdefault(connection, collections.deque()).append(job)
        self._start(connection)

    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values()) + len(self._busy)

    def _start(self, connection: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet (a bare Emulator in a unit test): `settle` starts it
        if loop is not self._loop:
            # A new event loop (another test client, a restarted server): the old tasks and
            # client belong to a loop that is gone.
            self._loop, self._workers, self._client = loop, {}, None
        worker = self._workers.get(connection)
        if worker is None or worker.done():
            # A fresh context: the request that queued the first job is not the worker's (its
            # journal entry must not collect what later deliveries cause).
            self._workers[connection] = loop.create_task(
                self._work(connection), context=contextvars.Context()
            )

    async def settle(self, timeout: float) -> bool:
        """Wait until every queue is empty and nothing is in flight; False on timeout."""
        for connection, queue in self._queues.items():
            if queue:
                self._start(connection)
        if self.pending() == 0:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True

    def _wake_if_settled(self) -> None:
        if self.pending() == 0:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    # -- the worker ------------------------------------------------------------------------
    async def _work(self, connection: str) -> None:
        queue = self._queues[connection]
        while queue:
            group = [queue.popleft()]
            key, size = group[0].merge_key, group[0].size
            while key is not None and queue and queue[0].merge_key == key:
                if size + queue[0].size > group[0].limit:
                    break
                size += queue[0].size
                group.append(queue.popleft())
            self._busy.add(connection)
            try:
                await self._deliver(group)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # recorded, never lost silently; the worker carries on
                for job in group:
                    job.row["status"] = "failed"
                    job.row["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                self._busy.discard(connection)
                self.emulator.changes += 1
            for job in group:
                if job.done is not None and job.row["status"] in ("delivered", "failed"):
                    job.done(job.row)
            self._wake_if_settled()
        self._wake_if_settled()

    async def _deliver(self, group: list[Job]) -> None:
        first = group[0]
        bodies = [job.build() for job in group]
        owns = [dumps(own) for own in bodies]
        raw = owns[0] if len(group) == 1 else self._combined(first, bodies, owns)
        # Which deliveries one shared request carried, and where this one's records start.
        shared = {"first": first.row["id"], "last": group[-1].row["id"], "deliveries": len(group)}
        offset = 0
        for job, own in zip(group, owns, strict=True):
            # Kept serialised: a busy workspace makes thousands of rows, and parsed records
            # would be millions of objects for the collector to walk.
            kept = Fragment(own)
            job.row["request"] = {"method": job.method, "path": job.path, "body": kept}
            if len(group) > 1:
                job.row["request"]["shared"] = {**shared, "offset": offset}
            offset += job.size
        headers = {"content-type": "application/json", "user-agent": USER_AGENT, **first.headers}
        attempts: list[dict[str, Any]] = []
        for job in group:
            job.row["attempts"] = attempts
        for attempt in range(1, first.policy.max_attempts + 1):
            started = self.emulator.clock.now()
            retry_after: float | None = None
            try:
                answer = await self._send(first, raw, headers)
            except httpx.HTTPError as exc:
                attempts.append({"time": started, "error": f"{type(exc).__name__}: {exc}"})
            else:
                tried: dict[str, Any] = {"time": started, "status": answer.status_code}
                if answer.seq is not None:
                    tried["seq"] = answer.seq  # the journal entry of this attempt
                attempts.append(tried)
                self._answer(group, answer)
                if answer.status_code not in RETRYABLE:
                    status = "delivered" if answer.status_code < 300 else "failed"
                    for job in group:
                        job.row["status"] = status
                    return
                # A retried answer would be overwritten by the next: each attempt keeps its own.
                tried["answer"] = fragment(_body(answer))
                retry_after = _retry_after(answer)
            if attempt < first.policy.max_attempts:
                wait = first.policy.wait(attempt, retry_after)
                attempts[-1]["retry_in"] = wait  # seconds until the next attempt
                await asyncio.sleep(wait)
        for job in group:
            job.row["status"] = "failed"

    @staticmethod
    def _combined(first: Job, bodies: list[Any], owns: list[bytes]) -> bytes:
        """The shared request's body: from the jobs' serialised bodies when `combine_raw` can
        join them, else `combine` serialised."""
        joined = first.combine_raw(owns) if first.combine_raw is not None else None
        if joined is not None:
            return joined
        assert first.combine is not None
        return dumps(first.combine(bodies))

    @staticmethod
    def _answer(group: list[Job], answer: Answer) -> None:
        """Each row's part of the answer (the whole answer when the request was its own)."""
        body = _body(answer)
        offset = 0
        for job in group:
            mine = body
            if len(group) > 1 and job.share is not None:
                mine = job.share(body, offset, job.size)
            job.row["response"] = {"status": answer.status_code, "body": fragment(mine)}
            offset += job.size

    async def _send(self, job: Job, raw: bytes, headers: dict[str, str]) -> Answer:
        if job.base_url is not None:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=10)
            url = job.base_url.rstrip("/") + job.path
            # The base URL names the host (another emulator, a proxy), not the platform's Host.
            headers = {k: v for k, v in headers.items() if k.lower() != "host"}
            reply = await self._client.request(job.method, url, content=raw, headers=headers)
            return Answer(reply.status_code, reply.headers.get("retry-after"), reply.content)
        return await call_app(
            self.emulator.asgi_app,
            job.method,
            job.path,
            headers,
            raw,
            (job.row["connection"], job.row["id"]),
        )

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self, connections: set[str] | None) -> None:
        """Forget deliveries (all, or those of `connections`) and drop their queued work."""
        names = list(self._queues) if connections is None else list(connections)
        for name in names:
            self._queues.pop(name, None)
            worker = self._workers.pop(name, None)
            if worker is not None:
                worker.cancel()
            self._busy.discard(name)
        if connections is None:
            self.rows = {}
            self._next = 0
        else:
            for name in connections:
                self.rows.pop(name, None)
        self._wake_if_settled()

    async def close(self) -> None:
        for worker in self._workers.values():
            worker.cancel()
        self._workers = {}
        if self._client is not None:
            await self._client.aclose()
            self._client = None


@dataclass(slots=True)
class Answer:
    status_code: int
    retry_after: str | None
    content: bytes
    seq: int | None = None  # the journal entry, for a request through the emulator's own app


async def call_app(
    app: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    delivery: tuple[str, str] | None = None,
) -> Answer:
    """One request through the ASGI app itself, as a loopback client would make it (a plain
    ASGI call: an HTTP client's machinery would cost more than the emulator's handling)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            *([] if any(k.lower() == "host" for k in headers) else [(b"host", b"127.0.0.1")]),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        FLOW_SCOPE_KEY: "flow",  # journaled with origin `flow`
        DELIVERY_SCOPE_KEY: delivery,  # (connection, delivery id): the entry links to it
    }
    sent = False
    status = 500
    retry_after: str | None = None
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, retry_after
        if message["type"] == "http.response.start":
            status = message["status"]
            for key, value in message.get("headers", ()):
                if key.lower() == b"retry-after":
                    retry_after = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    seq = scope.get(JOURNAL_SEQ_KEY)
    return Answer(status, retry_after, b"".join(chunks), seq if isinstance(seq, int) else None)


def _body(answer: Answer) -> Any:
    try:
        return loads(answer.content) if answer.content else None
    except JSONDecodeError:
        return answer.content.decode("utf-8", "replace")


def _retry_after(answer: Answer) -> float | None:
    try:
        return max(0.0, float(answer.retry_after or ""))
    except ValueError:
        return None
