"""What CleverTap tells the rest of the emulator, and what it is told back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.core.events import Event


@dataclass(frozen=True, slots=True)
class ExportRunStarted(Event):
    """An mParticle export run began: `batches` are Events API batches for the account's feed.
    Whoever delivers them publishes `ExportRunFinished` once each got its final answer."""

    account: str
    export: dict[str, Any]  # the export's view
    run: dict[str, Any]  # the run's view
    batches: list[dict[str, Any]]
    # Only this connection carries them (a journey's export step naming one); None: every
    # connection carrying the account's feed.
    connection: str | None = None


@dataclass(frozen=True, slots=True)
class ExportRunFinished(Event):
    """Every delivery of a run has its final answer (or nothing could carry it: `skipped`)."""

    account: str
    export_id: str
    run_id: str
    delivered: int = 0
    failed: int = 0
    skipped: str | None = None
    error: str | None = None
    deliveries: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """As the run records it (`exports.finish_run`)."""
        out: dict[str, Any] = {
            "delivered": self.delivered,
            "failed": self.failed,
            "skipped": self.skipped,
            "deliveries": list(self.deliveries),
        }
        if self.error is not None:
            out["error"] = self.error
        return out
