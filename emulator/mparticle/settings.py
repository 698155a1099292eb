"""An mParticle workspace's settings (contract `mparticle/workspace`), parsed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

from emulator.core.settings import TenantSettings
from emulator.mparticle.limits import OverLimit

# The CleverTap feed's partner identity (https://docs.clevertap.com/docs/mparticle-import-audience).
DEFAULT_PARTNER_IDENTITY = "CleverTap_User_ID"


@dataclass(frozen=True, slots=True)
class Input:
    """Where data comes in: a server-to-server input, a Web SDK input, or a partner feed."""

    kind: Literal["s2s", "web", "feed"]
    key: str
    name: str | None = None
    secret: str | None = None  # s2s and feed inputs have one; the Web SDK sends none
    # A feed's registered partner identity: the only one its batches may carry.
    partner_identity: str = DEFAULT_PARTNER_IDENTITY
    # IDSync takes this key in `x-mp-key` without a signature ("API key-only Authentication").
    idsync_key_only: bool = True
    # What the server does past a limit whose outcome mParticle documents only for its SDKs
    # (limits.py): truncate, drop the attribute, or refuse the batch.
    over_limit: OverLimit = "truncate"

    @property
    def label(self) -> str:
        return self.name or self.key


@dataclass(frozen=True, slots=True)
class ApiClient:
    """Platform API credentials for `POST /oauth/token` (the Profile API's bearer token)."""

    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class WorkspaceSettings(TenantSettings):
    kind = "mparticle_workspace"
    contract = "mparticle/workspace"

    id: str
    inputs: tuple[Input, ...]
    api_clients: tuple[ApiClient, ...]
    name: str | None = None
    org_id: str | None = None
    account_id: str | None = None
    # Seconds a source_request_id de-duplicates a resend (0: off); default in the contract.
    source_request_id_window: int = 0
    # Events API batches a second before 429 (0: no limit); default in the contract.
    events_batches_per_second: int = 0
    # OpenDSR calls a minute and new requests a day before 429 (0: no limit); defaults in the
    # contract.
    dsr_requests_per_minute: int = 0
    dsr_new_requests_per_day: int = 0

    @classmethod
    def parse(cls, document: dict[str, Any]) -> Self:
        return cls(
            id=document["id"],
            inputs=tuple(Input(**item) for item in document["inputs"]),
            api_clients=tuple(ApiClient(**item) for item in document["api_clients"]),
            name=document.get("name"),
            org_id=document.get("org_id"),
            account_id=document.get("account_id"),
            source_request_id_window=document["source_request_id_window"],
            events_batches_per_second=document["events_batches_per_second"],
            dsr_requests_per_minute=document["dsr_requests_per_minute"],
            dsr_new_requests_per_day=document["dsr_new_requests_per_day"],
        )

    def feeds(self) -> list[Input]:
        return [i for i in self.inputs if i.kind == "feed"]
