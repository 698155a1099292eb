"""Who is calling and how CleverTap answers errors.

Auth and envelope as CleverTap documents them (https://developer.clevertap.com/docs/api-overview):
header names match case-insensitively (Starlette's headers do), an unknown account answers 401
"Account ID is not valid", a wrong or missing passcode 401 "Invalid Credentials", malformed JSON
400 "Malformed request", and every answer (404 and 405 too) is CleverTap's JSON envelope
`{"status": "fail", "error": ..., "code": <HTTP status>}`. What the emulator chose where the
platform is undocumented is in docs/clevertap-behaviour.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request

from emulator.clevertap.accounts import AccountStore
from emulator.clevertap.models import Account
from emulator.clevertap.records import Limits
from emulator.clevertap.settings import AccountSettings
from emulator.core.call import Call
from emulator.core.errors import ApiError, Envelope
from emulator.core.operations import Param, PlatformMethod, operation
from emulator.core.tenants import TenantRegistry

ACCOUNT_HEADER = "x-clevertap-account-id"
PASSCODE_HEADER = "x-clevertap-passcode"
API_HOST = "api.clevertap.com"
SECURITY = ("clevertapAccount", "clevertapPasscode")
SECURITY_SCHEMES: dict[str, Any] = {
    "clevertapAccount": {"type": "apiKey", "in": "header", "name": "X-CleverTap-Account-Id"},
    "clevertapPasscode": {"type": "apiKey", "in": "header", "name": "X-CleverTap-Passcode"},
}
ERR = "clevertap/error"
# Where a request's authentication is kept once decided (`Access._authenticate`).
AUTH_SCOPE_KEY = "ctmp.clevertap.auth"


class CleverTapEnvelope(Envelope):
    """`{"status": "fail", "error": <message>, "code": <HTTP status>}`; the texts CleverTap
    gives for a malformed body, bad credentials and its concurrency limit
    (https://developer.clevertap.com/docs/api-errors,
    https://developer.clevertap.com/docs/api-request-limit)."""

    malformed = "Malformed request"
    reasons = {
        400: "Malformed request",
        401: "Invalid Credentials",
        429: "Too many concurrent requests",
    }

    def content(self, error: ApiError, call: Call | None) -> Any:
        return {"status": "fail", "error": error.message, "code": error.status}


ENVELOPE = CleverTapEnvelope()


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, message)


def clevertap_operation(
    method: str,
    *paths: str,
    summary: str,
    answer: str,
    request: str | None = None,
    request_required: bool = True,
    params: Sequence[Param] = (),
) -> Callable[[PlatformMethod], PlatformMethod]:
    """A CleverTap operation: account headers, and 400/401 in CleverTap's envelope."""
    return operation(
        method,
        *paths,
        summary=summary,
        request=request,
        request_required=request_required,
        params=params,
        responses={200: answer, 400: ERR, 401: ERR},
        security=SECURITY,
        tags=("CleverTap",),
    )


class Access:
    """The configured accounts (rebuilt when tenants change) and each request's account."""

    def __init__(self, tenants: TenantRegistry, store: AccountStore) -> None:
        self.tenants = tenants
        self.store = store
        self._accounts: dict[str, AccountSettings] = {}
        self._limits: dict[str, Limits] = {}

    def tenants_changed(self) -> None:
        self._accounts = {a.id: a for a in self.tenants.settings_of(AccountSettings)}
        self._limits = {k: Limits.from_options(a.options) for k, a in self._accounts.items()}
        self.store.keep_only(self._accounts)

    def resolve(self, request: Request) -> str | None:
        """The account the request authenticates as (None when its credentials fail): the
        journal and fault rules see only a proven account, never a claimed one."""
        try:
            return self._authenticate(request).id
        except Unauthorized:
            return None

    def enter(self, call: Call) -> Account:
        """The calling account's data, once its id, region host and passcode are right."""
        return self.store.account(self._authenticate(call.request).id)

    def enter_as(self, call: Call) -> tuple[str, Account]:
        """The calling account's id and data (`enter`, for state kept outside the account)."""
        account_id = self._authenticate(call.request).id
        return account_id, self.store.account(account_id)

    def _authenticate(self, request: Request) -> AccountSettings:
        """The account the request's credentials prove, or `Unauthorized`. Decided once per
        request: admission, tenant resolution and the handler all ask, and the answer is kept
        on the request's scope with the accounts it was decided against (a tenant change in
        between decides again)."""
        kept = request.scope.get(AUTH_SCOPE_KEY)
        if kept is not None and kept[0] is self._accounts:
            found: AccountSettings | str = kept[1]
        else:
            try:
                found = self._check(request)
            except Unauthorized as refused:
                found = refused.message  # raised anew each time: no traceback piles up
            request.scope[AUTH_SCOPE_KEY] = (self._accounts, found)
        if isinstance(found, str):
            raise Unauthorized(found)
        return found

    def _check(self, request: Request) -> AccountSettings:
        headers = request.headers
        settings = self._accounts.get(headers.get(ACCOUNT_HEADER, ""))
        if settings is None or not _region_matches(headers.get("host", ""), settings.region):
            raise Unauthorized("Account ID is not valid")
        given = headers.get(PASSCODE_HEADER, "")
        if not secrets.compare_digest(given.encode(), settings.passcode.encode()):
            raise Unauthorized("Invalid Credentials")
        return settings

    def settings(self, tenant: str) -> AccountSettings:
        return self._accounts[tenant]

    def limits(self, tenant: str) -> Limits:
        return self._limits[tenant]


def _region_matches(host: str, region: str) -> bool:
    """`<region>.api.clevertap.com` must name the account's region; other hosts reach it."""
    host = host.split(":", 1)[0].lower()
    if host == API_HOST:  # the bare host is Europe's
        return region == "eu1"
    if not host.endswith("." + API_HOST):
        return True
    return host[: -len(API_HOST) - 1] == region
