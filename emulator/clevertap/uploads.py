"""`/1/upload`: each record checked on its own (records.py) and applied to the account; a
rejected record is reported in `unprocessed` and the others still count."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.clevertap.models import Account
from emulator.clevertap.records import Limits, check, echo, simple_event, simple_profile
from emulator.clevertap.values import Rejected


@dataclass(slots=True)
class Outcome:
    processed: int
    # (index of the record, its `unprocessed` entry), in record order.
    rejected: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # (index of the record, property, what a limit changed): accepted, but not as sent.
    trimmed: list[tuple[int, str, str]] = field(default_factory=list)

    def answer(self) -> dict[str, Any]:
        unprocessed = [entry for _, entry in self.rejected]
        status = "success" if not unprocessed else "partial" if self.processed else "fail"
        return {"status": status, "processed": self.processed, "unprocessed": unprocessed}


def upload(
    account: Account, records: list[Any], now: int, limits: Limits, dry_run: bool
) -> Outcome:
    """Check and (unless `dry_run`) apply `records`. A dry run stores nothing, but new event
    names still count towards the account's limit."""
    dry_names: set[str] | None = set() if dry_run else None
    rejected: list[tuple[int, dict[str, Any]]] = []
    trimmed: list[tuple[int, str, str]] = []
    known_names = account.event_names
    apply_event, apply_profile = account.apply_event, account.apply_profile
    for number, record in enumerate(records, 1):
        # One-pass paths for the commonest records; anything else goes through `check`.
        kind = record.get("type") if type(record) is dict else None
        if kind == "event":
            event = simple_event(record, now, limits)
            if event is not None and event[2] in known_names:
                if dry_names is None:
                    apply_event(*event, now)
                continue
        elif kind == "profile":
            profile = simple_profile(record, limits)
            if profile is not None and account.has_room(*profile, limits.max_profile_properties):
                if dry_names is None:
                    apply_profile(*profile, now)
                continue
        try:
            accepted = check(record, now, limits)
            if accepted.kind == "event" and accepted.name not in known_names:
                account.check_event_name(accepted.name, dry_names)
            if dry_names is None:
                applied = account.apply(accepted, now, limits.max_profile_properties)
                for key, change in applied:
                    trimmed.append((number - 1, key, change))
        except Rejected as refused:
            rejected.append((number - 1, unprocessed(refused, number, record, now)))
    return Outcome(len(records) - len(rejected), rejected, trimmed)


def unprocessed(rejected: Rejected, number: int, record: Any, now: int) -> dict[str, Any]:
    defaulted = isinstance(record, dict) and "ts" not in record and rejected.code != 525
    return {
        "status": "fail",
        "code": rejected.code,
        "error": rejected.error(number),
        "record": echo(record, now if defaulted else None),
    }
