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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from emulator.core.jsonresp import JSONDecodeError, dumps, loads

if TYPE_CHECKING:
    from emulator.runtime import Emulator

USER_AGENT = "ctmp-emulator-bridge"
RETRYABLE = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Policy:
    """How a connection retries (contract `bridge/connection`, `delivery`)."""

    max_attempts: int = 10
    backoff_ms: int = 50
    max_backoff_ms: int = 2000

    @classmethod
    def of(cls, connection: dict[str, Any]) -> Policy:
        return cls(**connection.get("delivery", {}))

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt `attempt + 1`: doubling from `backoff_ms`, at least the
        answer's Retry-After, never more than `max_backoff_ms`."""
        backoff = self.backoff_ms * 2 ** (attempt - 1)
        if retry_after is not None:
            backoff = max(backoff, retry_after * 1000)
        return min(backoff, self.max_backoff_ms) / 1000


@dataclass(slots=True)
class Job:
    """One request to make. `build` gives the JSON body when the worker reaches the job (the
    audience flow gathers every change made until then into one message); None: nothing to
    send after all, and the delivery is dropped."""

    row: dict[str, Any]
    method: str
    path: str
    headers: dict[str, str]
    build: Callable[[], Any]
    base_url: str | None = None
    policy: Policy = field(default_factory=Policy)
    # Told the finished row (delivered or failed): an export marks its run done.
    done: Callable[[dict[str, Any]], None] | None = None


class Deliverer:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.rows: dict[str, list[dict[str, Any]]] = {}  # connection -> deliveries, oldest first
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
        self.rows.setdefault(connection, []).append(row)
        self.emulator.changes += 1
        return row

    def restore_sequence(self, last: int) -> None:
        self._next = last

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
            self._workers[connection] = loop.create_task(self._work(connection))

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
            job = queue.popleft()
            self._busy.add(connection)
            try:
                await self._deliver(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # recorded, never lost silently; the worker carries on
                job.row["status"] = "failed"
                job.row["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                self._busy.discard(connection)
                self.emulator.changes += 1
            if job.done is not None and job.row["status"] in ("delivered", "failed"):
                job.done(job.row)
            self._wake_if_settled()
        self._wake_if_settled()

    async def _deliver(self, job: Job) -> None:
        row = job.row
        body = job.build()
        if body is None:
            row["status"] = "dropped"
            return
        raw = dumps(body)
        row["request"] = {"method": job.method, "path": job.path, "body": body}
        headers = {"content-type": "application/json", "user-agent": USER_AGENT, **job.headers}
        attempts: list[dict[str, Any]] = row.setdefault("attempts", [])
        for attempt in range(1, job.policy.max_attempts + 1):
            started = self.emulator.clock.now()
            retry_after: float | None = None
            try:
                answer = await self._send(job, raw, headers)
            except httpx.HTTPError as exc:
                attempts.append({"time": started, "error": f"{type(exc).__name__}: {exc}"})
            else:
                attempts.append({"time": started, "status": answer.status_code})
                row["response"] = {"status": answer.status_code, "body": _body(answer)}
                if answer.status_code not in RETRYABLE:
                    row["status"] = "delivered" if answer.status_code < 300 else "failed"
                    return
                retry_after = _retry_after(answer)
            if attempt < job.policy.max_attempts:
                await asyncio.sleep(job.policy.wait(attempt, retry_after))
        row["status"] = "failed"

    async def _send(self, job: Job, raw: bytes, headers: dict[str, str]) -> httpx.Response:
        if job.base_url is not None:
            async with httpx.AsyncClient(base_url=job.base_url, timeout=10) as client:
                return await client.request(job.method, job.path, content=raw, headers=headers)
        if self._client is None:
            transport = httpx.ASGITransport(app=self.emulator.asgi_app, client=("127.0.0.1", 0))
            self._client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
        return await self._client.request(job.method, job.path, content=raw, headers=headers)

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


def _body(answer: httpx.Response) -> Any:
    try:
        return loads(answer.content) if answer.content else None
    except JSONDecodeError:
        return answer.text


def _retry_after(answer: httpx.Response) -> float | None:
    value = answer.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
