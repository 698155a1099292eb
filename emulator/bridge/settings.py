"""A connection's settings (contract `bridge/connection`), parsed once; defaults are the
contract's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from emulator.core.settings import TenantSettings


@dataclass(frozen=True, slots=True)
class EventOutput:
    """mParticle → CleverTap event forwarding."""

    enabled: bool
    user_id: str
    forward_web_server_side: bool
    screen_view: str
    device_only_user: str = "skip"
    base_url: str | None = None
    # The output's own CleverTap credentials (mParticle's output settings: Configuration Name,
    # Account ID, Passcode, Account Token, Region); None: the connected account's.
    configuration_name: str | None = None
    account_id: str | None = None
    passcode: str | None = None
    account_token: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class AudienceOutput:
    """mParticle audiences → CleverTap segments."""

    enabled: bool
    connect: str = "all"  # "all": every audience, with `user_id`; "explicit": Connect step only
    user_id: str = "customerId"
    base_url: str | None = None
    # The output's own CleverTap credentials (mParticle's output settings: Configuration Name,
    # Account ID, Passcode, Account Token, Region); None: the connected account's.
    configuration_name: str | None = None
    account_id: str | None = None
    passcode: str | None = None
    account_token: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """CleverTap exports → the workspace's feed input (`input_key`, else its first feed)."""

    enabled: bool
    input_key: str | None = None
    base_url: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How the flows retry a 429, a 5xx or a connection error."""

    max_attempts: int
    backoff_ms: int
    max_backoff_ms: int

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt `attempt + 1`: doubling from `backoff_ms`, at least the
        answer's Retry-After, never more than `max_backoff_ms`."""
        backoff = float(self.backoff_ms * 2 ** (attempt - 1))
        if retry_after is not None:
            backoff = max(backoff, retry_after * 1000)
        return min(backoff, float(self.max_backoff_ms)) / 1000


@dataclass(frozen=True, slots=True)
class ConnectionSettings(TenantSettings):
    kind = "connection"
    contract = "bridge/connection"

    id: str
    workspace: str
    account: str
    enabled: bool
    event_output: EventOutput
    audience_output: AudienceOutput
    feed: FeedSettings
    delivery: DeliveryPolicy
    # Erasure requests are forwarded to the account as profile deletes (bridge/dsr.py).
    dsr_forward_erasure: bool = False

    @classmethod
    def parse(cls, document: dict[str, Any]) -> Self:
        return cls(
            id=document["id"],
            workspace=document["workspace"],
            account=document["account"],
            enabled=document["enabled"],
            event_output=EventOutput(**document["event_output"]),
            audience_output=AudienceOutput(**document["audience_output"]),
            feed=FeedSettings(**document["feed"]),
            delivery=DeliveryPolicy(**document["delivery"]),
            dsr_forward_erasure=document.get("dsr_forward_erasure", False),
        )

    def carries(self, flow: str) -> bool:
        """Whether the connection and its `flow` section (event_output, ...) are enabled."""
        section: EventOutput | AudienceOutput | FeedSettings = getattr(self, flow)
        return self.enabled and section.enabled
