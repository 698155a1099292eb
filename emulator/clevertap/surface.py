"""CleverTap HTTP handlers (thin): authenticate, validate, call the model, shape the answer.

Auth and envelope follow `shared/reference/clevertap-api.md` §2: header names are matched
case-insensitively (Starlette's headers are), an unknown account answers 401 "Account ID is not
valid", a wrong or missing passcode 401 "Invalid Credentials", malformed JSON 400 "Malformed
request", and every answer (404 and 405 too) is CleverTap's JSON envelope.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.admin.views import rows_view
from emulator.core.jsonresp import JSONResponse, fragment
from emulator.core.rows import TenantRows
from emulator.core.surface import BadJSON, Call, Operation, Param, Surface
from emulator.runtime import Emulator

ACCOUNT_HEADER = "x-clevertap-account-id"
PASSCODE_HEADER = "x-clevertap-passcode"
API_HOST = "api.clevertap.com"


def fail(status: int, message: str, retry_after: int | None = None) -> JSONResponse:
    response = JSONResponse(
        {"status": "fail", "error": message, "code": status}, status_code=status
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


class CleverTapSurface(Surface):
    name = "clevertap"
    tenant_kind = "clevertap_account"
    tenant_contract = "clevertap/account"
    path_prefixes = ("/1/",)

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        # Accepted upload records as received; profiles and events build on them (issue 3).
        self.records = TenantRows()
        self._accounts: dict[str, dict[str, Any]] = {}

    def tenants_changed(self) -> None:
        self._accounts = {a["id"]: a for a in self.emulator.tenants.of_kind(self.tenant_kind)}

    # -- pipeline hooks --------------------------------------------------------------------
    def resolve_tenant(self, request: Request) -> str | None:
        account_id = request.headers.get(ACCOUNT_HEADER)
        return account_id if account_id in self._accounts else None

    def error_response(self, status: int, message: str, retry_after: int | None = None) -> Response:
        return fail(status, message, retry_after)

    def authenticate(self, call: Call) -> Response | None:
        """None when the account and passcode are right, else CleverTap's 401."""
        headers = call.request.headers
        account = self._accounts.get(headers.get(ACCOUNT_HEADER, ""))
        if account is None or not self._region_matches(headers.get("host", ""), account):
            return fail(401, "Account ID is not valid")
        given = headers.get(PASSCODE_HEADER, "")
        if not secrets.compare_digest(given.encode(), account["passcode"].encode()):
            return fail(401, "Invalid Credentials")
        return None

    @staticmethod
    def _region_matches(host: str, account: dict[str, Any]) -> bool:
        """`<region>.api.clevertap.com` must name the account's region; other hosts reach it."""
        host = host.split(":", 1)[0].lower()
        if host == API_HOST:  # the bare host is Europe's
            return bool(account["region"] == "eu1")
        if not host.endswith("." + API_HOST):
            return True
        return bool(host[: -len(API_HOST) - 1] == account["region"])

    # -- handlers --------------------------------------------------------------------------
    async def upload(self, call: Call) -> Response:
        denied = self.authenticate(call)
        if denied is not None:
            return denied
        try:
            body = call.json()
        except BadJSON:
            return fail(400, "Malformed request")
        verdict = call.validate("clevertap/upload", body)
        if not verdict.valid:
            first = verdict.errors[0]
            return fail(400, f"{first.path}: {first.message}")
        records = body["d"]
        if call.request.query_params.get("dryRun") != "1":
            received = self.emulator.clock.now()
            for record in records:
                # Kept serialised until the CleverTap models (profiles, events) build on them.
                self.records.add(
                    call.tenant or "", {"received": received, "record": fragment(record)}
                )
        return JSONResponse({"status": "success", "processed": len(records), "unprocessed": []})

    # -- declaration -----------------------------------------------------------------------
    def operations(self) -> list[Operation]:
        err = "clevertap/error"
        return [
            Operation(
                "POST",
                "/1/upload",
                self.upload,
                "Upload events, profiles and device tokens (up to 1000 records)",
                request="clevertap/upload",
                params=[Param("dryRun", "query", {"enum": ["0", "1"]})],
                responses={200: "clevertap/upload-response", 400: err, 401: err},
                security=["clevertapAccount", "clevertapPasscode"],
            )
        ]

    def control_operations(self) -> list[Operation]:
        return [
            rows_view(
                "/clevertap/{tenant}/records",
                self.records,
                "records",
                self.owns,
                "Upload records an account accepted, oldest first",
            )
        ]

    def security_schemes(self) -> dict[str, Any]:
        return {
            "clevertapAccount": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CleverTap-Account-Id",
            },
            "clevertapPasscode": {"type": "apiKey", "in": "header", "name": "X-CleverTap-Passcode"},
        }

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        return {"records": self.records.export(tenants)}

    def import_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.records.load(tables.get("records", []))

    def reset(self, tenants: Any) -> None:
        self.records.reset(tenants)
