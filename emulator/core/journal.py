"""The request journal: every platform request, what it carried, its verdict and the answer.

Bounded by count (`journal_size`) and by bytes (`journal_bytes`): when either is reached, the
oldest entries fall off and are counted in `dropped`. An entry weighs its JSON size plus a fixed
overhead for its dict; the count alone let 10,000 entries of 64 KB bodies take 1.42 GB. Waiters
(`requests/wait`) are woken by `append` itself, never by polling: each waiter keeps its own
matches and checks only the new entry. Subscribers (the inspector's live journal) are only
woken: `append` sets their event and nothing else, and each reads what is new, in its own task.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.core.jsonresp import Fragment, dumps
from emulator.core.reaper import dispose

Entry = dict[str, Any]

# What an entry costs beyond its JSON: the dict, its keys' slots and the small values (measured
# with tracemalloc on a typical entry: ~1.1 KB).
ENTRY_OVERHEAD = 1024


def weight(entry: Entry) -> int:
    """The bytes `entry` is counted as against `journal_bytes`."""
    return len(dumps(entry)) + ENTRY_OVERHEAD


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries a query wants; unset fields match everything.

    `path` matches exactly, or as a glob when it contains `*`, `?` or `[`.
    """

    platform: str | None = None
    tenant: str | None = None
    path: str | None = None
    method: str | None = None
    status: int | None = None
    valid: bool | None = None
    since: int | None = None
    # `client` or `flow` (the emulator's own deliveries); older saved entries have none: client.
    origin: str | None = None
    # Text the path, the query or the request body contains (the inspector's search).
    text: str | None = None

    def matches(self, entry: Entry) -> bool:
        if self.since is not None and entry["seq"] <= self.since:
            return False
        if self.platform is not None and entry["platform"] != self.platform:
            return False
        if self.tenant is not None and entry["tenant"] != self.tenant:
            return False
        if self.method is not None and entry["method"] != self.method.upper():
            return False
        if self.status is not None and entry["status"] != self.status:
            return False
        if self.valid is not None and entry["valid"] is not self.valid:
            return False
        if self.origin is not None and entry.get("origin", "client") != self.origin:
            return False
        if self.text is not None and not _mentions(entry, self.text):
            return False
        if self.path is not None:
            if any(ch in self.path for ch in "*?["):
                return fnmatch.fnmatchcase(entry["path"], self.path)
            return bool(entry["path"] == self.path)
        return True


def _mentions(entry: Entry, text: str) -> bool:
    """Whether the entry's path, query or request body holds `text` (bodies are kept as JSON
    bytes or text)."""
    if text in entry["path"]:
        return True
    needle = text.encode()
    for key in ("query", "body"):
        value = entry.get(key)
        raw = dumps(value) if isinstance(value, Fragment) else value  # its bytes, verbatim
        if isinstance(raw, str):
            raw = raw.encode()
        if isinstance(raw, bytes | bytearray | memoryview) and needle in bytes(raw):
            return True
    return False


class _Waiter:
    __slots__ = ("filter", "future", "matched", "needed")

    def __init__(self, flt: JournalFilter, needed: int, future: asyncio.Future[None]) -> None:
        self.filter = flt
        self.needed = needed
        self.matched: list[Entry] = []
        self.future = future


class Subscription:
    """A reader of new entries (`Journal.subscribe`): `wake` is set by every `append` after it;
    the reader clears it, then reads `Journal.after(seq)`. Nothing piles up for a slow reader:
    whatever it has not read yet stays in the journal (or falls off it)."""

    __slots__ = ("closed", "wake")

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.closed = False  # the server is shutting down: the reader ends its stream


class Journal:
    def __init__(self, capacity: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._entries: deque[Entry] = deque()
        # Each entry's weight, in the same order: the total is kept, never recomputed.
        self._weights: deque[int] = deque()
        self.bytes = 0
        self._seq = 0
        self.dropped = 0
        self._waiters: list[_Waiter] = []
        self._subscribers: list[Subscription] = []

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def last_seq(self) -> int:
        return self._seq

    def append(self, entry: Entry) -> Entry:
        self._seq += 1
        entry["seq"] = self._seq
        self._push(entry)
        self.dropped += self._trim()
        for waiter in self._waiters:
            if not waiter.future.done() and waiter.filter.matches(entry):
                waiter.matched.append(entry)
                if len(waiter.matched) >= waiter.needed:
                    waiter.future.set_result(None)
        for subscriber in self._subscribers:
            subscriber.wake.set()
        return entry

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    def close_subscribers(self) -> None:
        """End every subscription (at shutdown: a stream never ends by itself, and the server
        waits for open responses to finish)."""
        for subscriber in self._subscribers:
            subscriber.closed = True
            subscriber.wake.set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def after(self, seq: int) -> list[Entry]:
        """The entries after `seq` still held, newest first. Walks from the newest end: costs
        what is new, not the journal."""
        found: list[Entry] = []
        for entry in reversed(self._entries):
            if entry["seq"] <= seq:
                break
            found.append(entry)
        return found

    def newest(self, flt: JournalFilter, limit: int, offset: int = 0) -> tuple[list[Entry], int]:
        """A page of the matching entries, newest first, and how many match in all."""
        page: list[Entry] = []
        total = 0
        for entry in reversed(self._entries):
            if flt.matches(entry):
                if offset <= total < offset + limit:
                    page.append(entry)
                total += 1
        return page, total

    def _push(self, entry: Entry) -> None:
        size = weight(entry)
        self._entries.append(entry)
        self._weights.append(size)
        self.bytes += size

    def _trim(self) -> int:
        """Drop the oldest entries until both bounds hold (the newest always stays, however
        heavy: a request is never unrecorded); answer how many went."""
        gone = 0
        while len(self._entries) > 1 and (
            len(self._entries) > self.capacity or self.bytes > self.max_bytes
        ):
            self._entries.popleft()
            self.bytes -= self._weights.popleft()
            gone += 1
        return gone

    def _refill(self, entries: Iterable[Entry]) -> int:
        """Replace the entries with `entries` (oldest first); answer how many did not fit."""
        self._entries = deque()
        self._weights = deque()
        self.bytes = 0
        for entry in entries:
            self._push(entry)
        return self._trim()

    def select(self, flt: JournalFilter) -> list[Entry]:
        return [entry for entry in self._entries if flt.matches(entry)]

    def query(
        self, flt: JournalFilter, limit: int = 100, offset: int = 0
    ) -> tuple[list[Entry], int]:
        matched = self.select(flt)
        return matched[offset : offset + limit], len(matched)

    def count(self, flt: JournalFilter) -> int:
        return sum(1 for entry in self._entries if flt.matches(entry))

    def get(self, seq: int) -> Entry | None:
        # Sequence numbers are dense within the deque, so index arithmetic finds the entry.
        if not self._entries:
            return None
        index = seq - self._entries[0]["seq"]
        if 0 <= index < len(self._entries):
            entry = self._entries[index]
            if entry["seq"] == seq:
                return entry
        return next((e for e in self._entries if e["seq"] == seq), None)

    async def wait(
        self, flt: JournalFilter, count: int, timeout: float
    ) -> tuple[bool, list[Entry]]:
        """Wait until `count` entries match; answer whether they did and what matched."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(flt, count, loop.create_future())
        waiter.matched = self.select(flt)
        if len(waiter.matched) >= count:
            return True, waiter.matched
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
            return True, waiter.matched
        except TimeoutError:
            return False, waiter.matched
        finally:
            self._waiters.remove(waiter)

    def clear(self, tenants: Iterable[str] | None = None) -> int:
        """Forget every entry, or only those of the given tenants; answer how many went."""
        before = len(self._entries)
        old = self._entries
        if tenants is None:
            self._refill(())
            self.dropped = 0
        else:
            keep = set(tenants)
            kept = [
                (e, w) for e, w in zip(old, self._weights, strict=True) if e["tenant"] not in keep
            ]
            self._entries = deque(e for e, _ in kept)
            self._weights = deque(w for _, w in kept)
            self.bytes = sum(self._weights)
        dispose(old)
        return before - len(self._entries)

    def stats(self) -> dict[str, int]:
        return {
            "size": len(self._entries),
            "capacity": self.capacity,
            "bytes": self.bytes,
            "max_bytes": self.max_bytes,
            "last_seq": self._seq,
            "dropped": self.dropped,
        }

    def snapshot(self, tenants: Iterable[str] | None = None) -> dict[str, Any]:
        entries = list(self._entries)
        if tenants is not None:
            keep = set(tenants)
            entries = [e for e in entries if e["tenant"] in keep]
        return {"last_seq": self._seq, "dropped": self.dropped, "entries": entries}

    def restore(self, snap: dict[str, Any]) -> None:
        entries = snap.get("entries", [])
        # A smaller journal than the one saved keeps the newest entries and counts the rest.
        gone = self._refill(entries)
        self._seq = max(
            int(snap.get("last_seq", 0)), self._entries[-1]["seq"] if self._entries else 0
        )
        self.dropped = int(snap.get("dropped", 0)) + gone
