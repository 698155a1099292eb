"""A CleverTap account's settings (contract `clevertap/account`), parsed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from emulator.core.settings import TenantSettings


@dataclass(frozen=True, slots=True)
class AccountOptions:
    """Behaviour switches (docs/clevertap-behaviour.md); defaults in the contract."""

    max_event_properties: int
    max_profile_properties: int
    discarded_events: tuple[str, ...]
    report_polls: int
    cursor_not_ready_polls: int
    # An empty download page without `records` (the docs' pages always carry it).
    omit_empty_records: bool = False
    # None: the system events CleverTap refuses (`records.RESTRICTED_EVENTS`).
    restricted_events: tuple[str, ...] | None = None
    # /1/upload requests of the account processed at once before 429 (0: no limit).
    concurrent_uploads: int = 15
    # /1/targets/create.json requests of the account processed at once before 429 (0: no limit).
    concurrent_campaign_creates: int = 15


@dataclass(frozen=True, slots=True)
class AccountSettings(TenantSettings):
    kind = "clevertap_account"
    contract = "clevertap/account"

    id: str
    passcode: str
    region: str
    options: AccountOptions
    name: str | None = None
    token: str | None = None

    @classmethod
    def parse(cls, document: dict[str, Any]) -> Self:
        options = dict(document["options"])
        for key in ("discarded_events", "restricted_events"):
            if key in options:
                options[key] = tuple(options[key])
        return cls(
            id=document["id"],
            passcode=document["passcode"],
            region=document["region"],
            options=AccountOptions(**options),
            name=document.get("name"),
            token=document.get("token"),
        )
