"""The overview page: what the emulator holds, at a glance, with links into each area."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from starlette.requests import Request

from emulator.inspector.pages import View, ui_page

if TYPE_CHECKING:
    from emulator.runtime import Emulator


class Home:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    @ui_page("", nav="Overview", order=0)
    async def overview(self, request: Request) -> View:
        emulator = self.emulator
        tenants = Counter(str(t.get("kind", "?")) for t in emulator.tenants.all())
        journal = emulator.journal.stats()
        return View(
            "home.html",
            {
                "health": emulator.health(),
                "tenant_kinds": sorted(tenants.items()),
                "journal": journal,
                "clock": emulator.clock.now(),
            },
            title="Overview",
        )
