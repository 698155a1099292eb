"""The Data Planning API (https://docs.mparticle.com/developers/apis/dataplanning-api/ and its
OpenAPI, https://docs.mparticle.com/downloads/mparticle.dataplanning.oas.yaml): data plans and
their versions (create, list, get, update, delete) and `validate` (a batch against a version
document), under `/platform/v2/workspaces/{workspace}/plans`, with the OAuth bearer token of the
Profile API. Errors in the Platform API's `{"errors": [{"code", "message"}]}` (access.py)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.core.call import Call
from emulator.core.operations import NO_BODY, Param, operation
from emulator.mparticle.handlers.access import PROFILE, Access
from emulator.mparticle.plans import NO_VERSION, PlanError, check_document
from emulator.mparticle.profiles import Token
from emulator.mparticle.state import MParticleState

TAGS = ["mParticle Data Planning API"]
BEARER = ["mparticleBearer"]
ERROR = "mparticle/platform-error"
BASE = "/platform/v2/workspaces/{workspace}/plans"
WORKSPACE = Param("workspace", "path", {"type": "string"}, required=True)
PLAN = Param("plan_id", "path", {"type": "string"}, required=True, description="the plan's slug")
VERSION = Param("plan_version", "path", {"type": "string"}, required=True)
FAILS: dict[int, str | None] = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR}
# The Data Planning API's validate errors (its OpenAPI, ValidateDataPlanBadRequest).
INVALID_BATCH = "Invalid Event Batch."


def _who(token: Token) -> str:
    """`created_by` as the API words a client's change (`client_id:...`)."""
    return f"client_id:{token.client_id}"


def _number(call: Call) -> int:
    raw = call.path_param("plan_version")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        plan, workspace = call.path_param("plan_id"), call.path_param("workspace")
        raise PlanError(404, NO_VERSION.format(version=raw, plan=plan, workspace=workspace))
    return int(raw)


class DataPlanning:
    def __init__(self, access: Access, state: MParticleState) -> None:
        self.access = access
        self.state = state

    def _enter(self, call: Call) -> tuple[str, Token]:
        return self.access.platform_workspace(call)

    def _changed(self, call: Call) -> None:
        call.emulator.changes += 1

    # -- plans ---------------------------------------------------------------------------
    @operation(
        "GET",
        BASE,
        summary="All data plans of a workspace (versions without their documents)",
        params=[WORKSPACE],
        responses={200: "mparticle/data-plan-list", **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def list_plans(self, call: Call) -> list[Any]:
        workspace, _ = self._enter(call)
        return self.state.plans.all(workspace)

    @operation(
        "POST",
        BASE,
        summary="Create a data plan (with its versions)",
        request="mparticle/data-plan",
        params=[WORKSPACE],
        responses={200: "mparticle/data-plan", **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def create_plan(self, call: Call) -> dict[str, Any]:
        workspace, token = self._enter(call)
        body = call.checked("mparticle/data-plan")
        plan = self.state.plans.create(workspace, body, _who(token))
        self._changed(call)
        return plan

    @operation(
        "GET",
        BASE + "/{plan_id}",
        summary="One data plan with all its versions",
        params=[WORKSPACE, PLAN],
        responses={200: "mparticle/data-plan", **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def get_plan(self, call: Call) -> dict[str, Any]:
        workspace, _ = self._enter(call)
        return self.state.plans.get(workspace, call.path_param("plan_id"))

    @operation(
        "PATCH",
        BASE + "/{plan_id}",
        summary="Update a data plan's name or description",
        request="mparticle/data-plan-patch",
        params=[WORKSPACE, PLAN],
        responses={200: "mparticle/data-plan", **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def update_plan(self, call: Call) -> dict[str, Any]:
        workspace, token = self._enter(call)
        body = call.checked("mparticle/data-plan-patch")
        plan = self.state.plans.update(workspace, call.path_param("plan_id"), body, _who(token))
        self._changed(call)
        return plan

    @operation(
        "DELETE",
        BASE + "/{plan_id}",
        summary="Delete a data plan",
        params=[WORKSPACE, PLAN],
        responses={204: NO_BODY, **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def delete_plan(self, call: Call) -> Response:
        workspace, _ = self._enter(call)
        self.state.plans.delete(workspace, call.path_param("plan_id"))
        self._changed(call)
        return Response(status_code=204)

    # -- versions ------------------------------------------------------------------------
    @operation(
        "POST",
        BASE + "/{plan_id}/versions",
        summary="Create a data plan version",
        request="mparticle/data-plan-version",
        params=[WORKSPACE, PLAN],
        responses={200: "mparticle/data-plan-version", **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def create_version(self, call: Call) -> dict[str, Any]:
        workspace, token = self._enter(call)
        body = call.checked("mparticle/data-plan-version")
        plan_id = call.path_param("plan_id")
        version = self.state.plans.create_version(workspace, plan_id, body, _who(token))
        self._changed(call)
        return version

    @operation(
        "GET",
        BASE + "/{plan_id}/versions/{plan_version}",
        summary="One data plan version",
        params=[WORKSPACE, PLAN, VERSION],
        responses={200: "mparticle/data-plan-version", **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def get_version(self, call: Call) -> dict[str, Any]:
        workspace, _ = self._enter(call)
        return self.state.plans.version(workspace, call.path_param("plan_id"), _number(call))

    @operation(
        "PATCH",
        BASE + "/{plan_id}/versions/{plan_version}",
        summary="Update a data plan version (live at once)",
        request="mparticle/data-plan-version-patch",
        params=[WORKSPACE, PLAN, VERSION],
        responses={200: "mparticle/data-plan-version", **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def update_version(self, call: Call) -> dict[str, Any]:
        workspace, token = self._enter(call)
        body = call.checked("mparticle/data-plan-version-patch")
        plan_id, number = call.path_param("plan_id"), _number(call)
        version = self.state.plans.update_version(workspace, plan_id, number, body, _who(token))
        self._changed(call)
        return version

    @operation(
        "DELETE",
        BASE + "/{plan_id}/versions/{plan_version}",
        summary="Delete a data plan version (not the last, nor one active in production)",
        params=[WORKSPACE, PLAN, VERSION],
        responses={204: NO_BODY, **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def delete_version(self, call: Call) -> Response:
        workspace, _ = self._enter(call)
        self.state.plans.delete_version(workspace, call.path_param("plan_id"), _number(call))
        self._changed(call)
        return Response(status_code=204)

    # -- validate ------------------------------------------------------------------------
    @operation(
        "POST",
        BASE + "/validate",
        summary="Validate a batch against a version document (nothing stored)",
        request="mparticle/data-plan-validate",
        params=[WORKSPACE],
        responses={200: "mparticle/data-plan-results", **FAILS},
        security=BEARER,
        tags=TAGS,
        envelope=PROFILE,
    )
    async def validate(self, call: Call) -> dict[str, Any]:
        self._enter(call)
        body = call.checked("mparticle/data-plan-validate")
        validator = check_document(body["document"])
        batch = body["batch"]
        emulator = call.emulator
        if not emulator.contracts.validate("mparticle/batch", batch, emulator.config.mode).valid:
            raise PlanError(400, INVALID_BATCH)
        return {"results": [result for _, result in validator.validate(batch)], "batch": batch}
