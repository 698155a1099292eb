"""Control operations on the emulator clock and on fault rules."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from emulator.admin.journal import ERR, E
from emulator.core.call import ControlCall
from emulator.core.control import invalid, not_found
from emulator.core.jsonresp import JSONResponse
from emulator.core.operations import Param, control

if TYPE_CHECKING:
    from emulator.runtime import Emulator


def _instant(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid(f"'at' is not an ISO 8601 date-time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise invalid("'at' needs a UTC offset (e.g. Z)")
    return parsed.timestamp()


class ClockControl:
    def __init__(self, emulator: Emulator) -> None:
        self.clock = emulator.clock

    @control("GET", "/clock", summary="The emulator clock", responses={200: E + "clock"})
    async def get_clock(self, call: ControlCall) -> dict[str, Any]:
        return self.clock.snapshot()

    @control(
        "POST",
        "/clock/freeze",
        summary="Stop the clock (now, or at `at`)",
        request=E + "clock-instant",
        request_required=False,
        responses={200: E + "clock", 400: ERR},
    )
    async def freeze(self, call: ControlCall) -> dict[str, Any]:
        at = (call.body or {}).get("at")
        self.clock.freeze(None if at is None else _instant(at))
        return self.clock.snapshot()

    @control(
        "POST",
        "/clock/unfreeze",
        summary="Let the clock run from where it is",
        responses={200: E + "clock"},
    )
    async def unfreeze(self, call: ControlCall) -> dict[str, Any]:
        self.clock.unfreeze()
        return self.clock.snapshot()

    @control(
        "POST",
        "/clock/set",
        summary="Move the clock to `at`",
        request=E + "clock-set",
        responses={200: E + "clock", 400: ERR},
    )
    async def set(self, call: ControlCall) -> dict[str, Any]:
        self.clock.set(_instant(call.body["at"]))
        return self.clock.snapshot()

    @control(
        "POST",
        "/clock/advance",
        summary="Move the clock forward",
        request=E + "clock-advance",
        responses={200: E + "clock", 400: ERR},
    )
    async def advance(self, call: ControlCall) -> dict[str, Any]:
        self.clock.advance(float(call.body["seconds"]))
        return self.clock.snapshot()


class FaultControl:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.faults = emulator.faults

    @control("GET", "/faults", summary="Fault rules", responses={200: E + "fault-list"})
    async def list_faults(self, call: ControlCall) -> dict[str, Any]:
        return {"faults": self.faults.snapshot()}

    @control(
        "POST",
        "/faults",
        summary="Add a fault rule",
        request=E + "fault",
        responses={201: E + "fault-rule", 400: ERR},
    )
    async def add_fault(self, call: ControlCall) -> Response:
        rule = self.faults.add(call.body)
        self.emulator.changes += 1
        return JSONResponse(rule.as_dict(), status_code=201)

    @control(
        "DELETE", "/faults", summary="Remove every fault rule", responses={200: E + "fault-list"}
    )
    async def clear_faults(self, call: ControlCall) -> dict[str, Any]:
        cleared = len(self.faults.rules())
        self.faults.clear()
        return {"faults": [], "cleared": cleared}

    @control(
        "DELETE",
        "/faults/{fault_id}",
        summary="Remove one fault rule",
        params=[Param("fault_id", "path", {"type": "string"}, required=True)],
        responses={200: E + "deleted", 404: ERR},
    )
    async def delete_fault(self, call: ControlCall) -> dict[str, Any]:
        fault_id = call.path_param("fault_id")
        if not self.faults.remove(fault_id):
            raise not_found(f"no fault rule {fault_id!r}")
        return {"deleted": fault_id}
