"""The controls page: reset, clock, faults, state and a scenario run. The page shows the state of
each through the functions the control API answers with (`clock.snapshot()`,
`faults.snapshot()`); every change is made by the page's script through the control API itself
(static/controls.js), so the same guard, token and contracts apply.

A scenario runs in an app of its own (`emulator.scenarios.runner.run`, as `ctmp-emulator replay`
runs each file): its tenants, clock and state never touch the running emulator, which a developer
is watching. That is the one operation the page adds (`POST /_emulator/ui/controls/scenario`,
JSON `{"yaml": ...}`), since it writes nothing here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.core.control import CONTROL, invalid
from emulator.core.errors import ApiError
from emulator.core.jsonresp import JSONDecodeError, loads
from emulator.core.limits import BodyRefused, read_body
from emulator.inspector.pages import View, ui_page

if TYPE_CHECKING:
    from emulator.runtime import Emulator

MAX_SCENARIO_BYTES = 1024 * 1024
KINDS = {
    "clevertap_account": "CleverTap account",
    "mparticle_workspace": "mParticle workspace",
    "connection": "connection",
}
FAULT_FIELDS = (
    ("platform", "clevertap or mparticle"),
    ("tenant", "any"),
    ("method", "any"),
    ("path", "/1/upload, /v2/*"),
    ("status", "429"),
    ("message", "the platform's"),
    ("retry_after", "seconds"),
    ("latency_ms", "ms"),
    ("times", "every time"),
    ("probability", "0..1"),
)


class ControlsPage:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    @ui_page("/controls", nav="Controls", order=50)
    async def controls(self, request: Request) -> View:
        emulator = self.emulator
        return View(
            "controls/index.html",
            {
                "clock": emulator.clock.snapshot(),
                "faults": emulator.faults.snapshot(),
                "fault_fields": FAULT_FIELDS,
                "tenants": [
                    (str(t["id"]), KINDS.get(str(t.get("kind")), str(t.get("kind"))))
                    for t in emulator.tenants.all()
                ],
                "journal": emulator.journal.stats(),
            },
            title="Controls",
        )

    @ui_page("/controls/scenario", methods=("POST",))
    async def run_scenario(self, request: Request) -> Response:
        """Run the posted scenario (`{"yaml": text, "name": file name}`) in an app of its own;
        answer its verdict, step by step."""
        # Imported here: the runner builds an app, which holds this page (scenarios sit above).
        from emulator.scenarios.loader import ScenarioError, parse
        from emulator.scenarios.runner import run

        config = self.emulator.config
        try:  # a script reads the answer: errors in the control API's JSON envelope
            raw = await read_body(request, MAX_SCENARIO_BYTES, config.body_timeout)
            try:
                body = loads(raw)
            except JSONDecodeError as exc:
                raise invalid(f"the body is not JSON: {exc}") from None
            text, name = (body.get("yaml"), body.get("name")) if isinstance(body, dict) else (0, 0)
            if not isinstance(text, str) or not isinstance(name, str | None):
                raise invalid('the body is {"yaml": "<scenario>", "name": "<file name>"}')
        except ApiError as refused:
            return CONTROL.render(refused)
        except BodyRefused as refused:
            return CONTROL.render(
                refused.error("too_large" if refused.status == 413 else "timeout")
            )
        try:
            scenario = parse(text, name or "uploaded.yaml", self.emulator.contracts)
        except ScenarioError as exc:
            problems = [p.text() for p in exc.problems]
            return JSONResponse({"ok": False, "loaded": False, "problems": problems})
        outcome = await run(scenario)
        return JSONResponse(verdict(outcome))


def verdict(outcome: Any) -> dict[str, Any]:
    """A scenario's outcome as the page shows it."""
    return {
        "ok": outcome.ok,
        "loaded": True,
        "name": outcome.scenario.name,
        "seconds": round(outcome.seconds, 3),
        "setup_error": outcome.setup_error,
        "steps": [
            {"n": s.index + 1, "label": s.label, "line": s.line, "ok": s.ok, "problems": s.problems}
            for s in outcome.steps
        ],
    }
