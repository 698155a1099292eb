"""The data plans of each workspace (the Data Planning API's state) and how a batch that names
one in `context.data_plan` is checked against it.

Plain Python state, no HTTP. Plans and versions are kept as the API answers them
(https://docs.mparticle.com/developers/apis/dataplanning-api/): a plan is `data_plan_id` (a
slug), name, description and `data_plan_versions`; a version is its number, description,
`activated_environment` (`none`, `development`, or `production`: production and development),
`version_document` and, an emulator field, its block settings `blok` (planning.py).

A batch is validated only when it names a plan with a version active in its environment: the
pinned `plan_version`, else the latest version active there
(https://docs.mparticle.com/guides/data-master/data-planning/, Step 3: "Data that has not been
tagged with an existing plan ID and environment is not validated"). A batch naming an unknown
plan or version, or one not active in its environment, is accepted unvalidated, and the
request's verdict says why (the docs name no error for it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

from emulator.core.clock import Clock
from emulator.core.errors import ApiError
from emulator.core.rows import TenantRows
from emulator.mparticle.planning import PlanDocumentError, PlanValidator, Report

BLOCK_SETTINGS = ("ev", "ea", "ua", "id")
# The Data Planning API's documented messages (its OpenAPI, DataPlanNotFound,
# DataPlanVersionNotFound, DeletePlanVersionBadRequest, ValidateDataPlanBadRequest).
NO_PLAN = "The specified plan ID {plan} in workspace {workspace} was not found."
NO_VERSION = (
    "The specified version {version} in plan ID {plan} was not found in workspace {workspace}."
)
LAST_VERSION = "Unable to delete plan version - plans must contain at least one plan version."
ACTIVE_IN_PROD = (
    "Unable to delete plan version - this version is active in prod and cannot be deleted."
)
INVALID_DOCUMENT = "Invalid data plan document."
# The largest version number (a 32-bit integer, as the API's OpenAPI types it and the contract
# bounds it); a version numbered automatically past it is refused, not answered out of range.
MAX_VERSION = 2_147_483_647
NO_NEXT_VERSION = (
    "Version {version} of plan ID {plan} is the largest version number: give the new version "
    "a `version` that is free."
)
# Violations kept per workspace, newest last (the oldest fall off).
MAX_VIOLATIONS = 10_000


class PlanError(ApiError):
    """A Data Planning API error, `{"errors": [{"code", "message"}]}` (the Platform API's)."""

    CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message, code=self.CODES.get(status, "ERROR"))


def slug(name: str) -> str:
    """A plan id made from its name: lower case, runs of other characters as `_`."""
    made = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return made[:128] or "data_plan"


def _active(version: dict[str, Any], environment: Any) -> bool:
    where: str = version.get("activated_environment", "none")
    return where == "production" or (where == "development" and environment == "development")


def _version_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 1:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) >= 1:
        return int(value)
    return None


def check_document(document: dict[str, Any]) -> PlanValidator:
    """The compiled document, or a 400 naming what is wrong with it."""
    try:
        return PlanValidator(document)
    except PlanDocumentError as exc:
        raise PlanError(400, f"{INVALID_DOCUMENT} {exc}") from None


class DataPlans:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.plans: dict[str, dict[str, dict[str, Any]]] = {}  # workspace -> id -> plan
        self._compiled: dict[tuple[str, str, int], PlanValidator] = {}
        # Batches a plan found violations in (or blocked data of), per workspace.
        self.violations = TenantRows()

    def _stamp(self) -> str:
        """The API's timestamp form (`2020-04-19T14:45:44.403`, UTC)."""
        now = self.clock.now()
        return (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"
        )

    # -- plans -------------------------------------------------------------------------------
    def all(self, workspace: str) -> list[dict[str, Any]]:
        """Every plan, versions without their documents (the list answer leaves out data
        points)."""
        return [
            {
                **plan,
                "data_plan_versions": [
                    {k: v for k, v in version.items() if k != "version_document"}
                    for version in plan["data_plan_versions"]
                ],
            }
            for plan in self.plans.get(workspace, {}).values()
        ]

    def get(self, workspace: str, plan_id: str) -> dict[str, Any]:
        found = self.plans.get(workspace, {}).get(plan_id)
        if found is None:
            raise PlanError(404, NO_PLAN.format(plan=plan_id, workspace=workspace))
        return found

    def create(self, workspace: str, body: dict[str, Any], who: str) -> dict[str, Any]:
        plan_id = body.get("data_plan_id") or slug(body.get("data_plan_name") or "")
        plans = self.plans.setdefault(workspace, {})
        if plan_id in plans:
            raise PlanError(
                400, f"A data plan with ID {plan_id} already exists in workspace {workspace}."
            )
        plan: dict[str, Any] = {
            "data_plan_id": plan_id,
            "data_plan_name": body.get("data_plan_name", plan_id),
            "data_plan_versions": [],
            "created_on": self._stamp(),
            "created_by": who,
        }
        if "data_plan_description" in body:
            plan["data_plan_description"] = body["data_plan_description"]
        for given in body.get("data_plan_versions") or ():
            self._add_version(plan, self._new_version(plan, given, who))
        plans[plan_id] = plan
        return plan

    def update(
        self, workspace: str, plan_id: str, body: dict[str, Any], who: str
    ) -> dict[str, Any]:
        plan = self.get(workspace, plan_id)
        for key in ("data_plan_name", "data_plan_description"):
            if key in body:
                plan[key] = body[key]
        plan["last_modified_on"], plan["last_modified_by"] = self._stamp(), who
        return plan

    def delete(self, workspace: str, plan_id: str) -> None:
        plan = self.get(workspace, plan_id)
        for version in plan["data_plan_versions"]:
            self._compiled.pop((workspace, plan_id, version["version"]), None)
        del self.plans[workspace][plan_id]

    # -- versions ----------------------------------------------------------------------------
    def _new_version(self, plan: dict[str, Any], body: dict[str, Any], who: str) -> dict[str, Any]:
        taken = [v["version"] for v in plan["data_plan_versions"]]
        # A given number is kept as an integer (the contract takes 3.0 for 3).
        number = int(body.get("version") or max(taken, default=0) + 1)
        if number > MAX_VERSION:
            last = max(taken)
            raise PlanError(400, NO_NEXT_VERSION.format(version=last, plan=plan["data_plan_id"]))
        document = body.get("version_document") or {"data_points": []}
        check_document(document)
        version: dict[str, Any] = {
            "version": number,
            "data_plan_id": plan["data_plan_id"],
            "activated_environment": body.get("activated_environment", "none"),
            "version_document": document,
            "blok": {k: bool((body.get("blok") or {}).get(k, False)) for k in BLOCK_SETTINGS},
            "created_on": self._stamp(),
            "created_by": who,
        }
        if "version_description" in body:
            version["version_description"] = body["version_description"]
        return version

    def version(self, workspace: str, plan_id: str, number: int) -> dict[str, Any]:
        plan = self.get(workspace, plan_id)
        found: dict[str, Any]
        for found in plan["data_plan_versions"]:
            if found["version"] == number:
                return found
        raise PlanError(404, NO_VERSION.format(version=number, plan=plan_id, workspace=workspace))

    def create_version(
        self, workspace: str, plan_id: str, body: dict[str, Any], who: str
    ) -> dict[str, Any]:
        plan = self.get(workspace, plan_id)
        return self._add_version(plan, self._new_version(plan, body, who))

    @staticmethod
    def _add_version(plan: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
        number = version["version"]
        if any(v["version"] == number for v in plan["data_plan_versions"]):
            raise PlanError(
                400, f"Version {number} of plan ID {plan['data_plan_id']} already exists."
            )
        plan["data_plan_versions"].append(version)
        plan["data_plan_versions"].sort(key=lambda v: int(v["version"]))
        return version

    def update_version(
        self, workspace: str, plan_id: str, number: int, body: dict[str, Any], who: str
    ) -> dict[str, Any]:
        version = self.version(workspace, plan_id, number)
        if "version_document" in body:
            check_document(body["version_document"])
        for key in ("activated_environment", "version_description", "version_document"):
            if key in body:
                version[key] = body[key]
        if "blok" in body:
            version["blok"] = {
                **version["blok"],
                **{k: bool(v) for k, v in body["blok"].items() if k in BLOCK_SETTINGS},
            }
        version["last_modified_on"], version["last_modified_by"] = self._stamp(), who
        self._compiled.pop((workspace, plan_id, number), None)  # updates are live at once
        return version

    def delete_version(self, workspace: str, plan_id: str, number: int) -> None:
        plan = self.get(workspace, plan_id)
        version = self.version(workspace, plan_id, number)
        if len(plan["data_plan_versions"]) == 1:
            raise PlanError(400, LAST_VERSION)
        if version.get("activated_environment") == "production":
            raise PlanError(400, ACTIVE_IN_PROD)
        plan["data_plan_versions"].remove(version)
        self._compiled.pop((workspace, plan_id, number), None)

    # -- batches -----------------------------------------------------------------------------
    def enforce(self, workspace: str, batch: dict[str, Any]) -> Report | None:
        """Validate `batch` against the plan its `context.data_plan` names and remove, in place,
        what the version blocks; None when it names no plan."""
        context = batch.get("context")
        tag = context.get("data_plan") if isinstance(context, dict) else None
        plan_id = tag.get("plan_id") if isinstance(tag, dict) else None
        if not isinstance(plan_id, str) or not plan_id or not isinstance(tag, dict):
            return None
        pinned = tag.get("plan_version")
        number = _version_number(pinned)
        environment = batch.get("environment")
        report = Report(plan_id, number)
        plan = self.plans.get(workspace, {}).get(plan_id)
        if plan is None:
            report.skipped = f"no data plan {plan_id!r} in this workspace: not validated"
            return report
        if pinned is not None and number is None:
            report.skipped = f"plan_version {pinned!r} is not a version number: not validated"
            return report
        active = [v for v in plan["data_plan_versions"] if _active(v, environment)]
        if number is not None:
            chosen = [v for v in active if v["version"] == number]
            if not chosen:
                known = any(v["version"] == number for v in plan["data_plan_versions"])
                why = "is not active in" if known else "does not exist for"
                report.skipped = (
                    f"version {number} of {plan_id!r} {why} environment {environment!r}: "
                    "not validated"
                )
                return report
        elif not active:
            report.skipped = (
                f"no version of {plan_id!r} is active in environment {environment!r}: not validated"
            )
            return report
        version = chosen[0] if number is not None else max(active, key=lambda v: int(v["version"]))
        report.version = version["version"]
        validator = self._validator(workspace, plan_id, version)
        report.results = validator.validate(batch)
        report.blocked = validator.block(batch, version.get("blok") or {})
        return report

    def _validator(self, workspace: str, plan_id: str, version: dict[str, Any]) -> PlanValidator:
        key = (workspace, plan_id, version["version"])
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = PlanValidator(version["version_document"])
        return found

    def record(self, workspace: str, row: dict[str, Any]) -> None:
        """Keep one batch's violations (the newest MAX_VIOLATIONS per workspace)."""
        self.violations.add(workspace, row)
        rows = self.violations.rows(workspace)
        if len(rows) > MAX_VIOLATIONS:
            del rows[: len(rows) - MAX_VIOLATIONS]

    # -- state -------------------------------------------------------------------------------
    def export(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        """The `plans` and `plan_violations` tables, each only when it has rows."""
        tables = {
            "plans": [
                {"tenant": tenant, **plan}
                for tenant, plans in self.plans.items()
                if tenants is None or tenant in tenants
                for plan in plans.values()
            ],
            "plan_violations": self.violations.export(tenants),
        }
        return {name: rows for name, rows in tables.items() if rows}

    def load(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Plans from a state document, each version's document checked as the API checks it."""
        self.plans, self._compiled = {}, {}
        for row in tables.get("plans", []):
            plan = {k: v for k, v in row.items() if k != "tenant"}
            for version in plan["data_plan_versions"]:
                check_document(version["version_document"])
            self.plans.setdefault(row["tenant"], {})[plan["data_plan_id"]] = plan
        self.violations.load(tables.get("plan_violations", []))

    def reset(self, tenants: Iterable[str] | None) -> None:
        self.violations.reset(tenants)
        if tenants is None:
            self.plans, self._compiled = {}, {}
            return
        for tenant in tenants:
            self.plans.pop(tenant, None)
            self._compiled = {k: v for k, v in self._compiled.items() if k[0] != tenant}
