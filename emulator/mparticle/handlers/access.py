"""Who is calling mParticle, and how each of its APIs answers errors.

- Tenants: every input key (server-to-server, Web SDK, feed) names its workspace; the Profile
  API names the workspace in its path.
- Authentication: the Events API takes an input's key and secret as HTTP Basic (missing → 401,
  present but wrong → 403); IDSync takes Basic key and secret, or `x-mp-key` with the HMAC
  digest (`Date`, `x-mp-signature`) signed by the input's secret, or `x-mp-key` alone where the
  input allows it (`idsync_key_only`, as the Web SDK sends it); the Web SDK's own endpoints
  name a web input's key in the path; the Profile API takes a bearer token from `POST /oauth/token`
  (https://docs.mparticle.com/developers/apis/http/,
  https://docs.mparticle.com/developers/apis/idsync/,
  https://docs.mparticle.com/developers/apis/profile-api/).
- Envelopes: each API's error shape is one `Envelope` below; the Events API's is the surface's.
- CORS: the Web SDK and IDSync answer pages on other origins (`cors`, an operation's `finish`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.core.call import Call
from emulator.core.errors import ApiError, Envelope
from emulator.core.jsonresp import JSONResponse
from emulator.core.tenants import TenantRegistry
from emulator.mparticle.profiles import ProfileError, Token
from emulator.mparticle.settings import Input, WorkspaceSettings
from emulator.mparticle.state import MParticleState
from emulator.mparticle.users import IdentityError

RATE_LIMIT_HEADER = "X-mp-rate-limit-exceeded"

# The Events API's error code for each status.
STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    413: "REQUEST_ENTITY_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
}


def status_code(status: int) -> str:
    return STATUS_CODES.get(status, "SERVER_ERROR" if status >= 500 else "ERROR")


# -- envelopes ---------------------------------------------------------------------------------


class EventsEnvelope(Envelope):
    """The Events API's `{"errors": [{"code", "message"}]}`: the code follows the status, and a
    body that breaks its contract gets one error per problem."""

    malformed = "Request body is not valid JSON."

    def render(self, error: ApiError, call: Call | None = None) -> JSONResponse:
        response = super().render(error, call)
        # A 429 names the limit it hit (https://docs.mparticle.com/guides/default-service-limits/,
        # "API Throttling"); an answer that names none (a fault rule) blames the input's own.
        if error.status == 429 and RATE_LIMIT_HEADER not in response.headers:
            response.headers[RATE_LIMIT_HEADER] = "app"
        return response

    def content(self, error: ApiError, call: Call | None) -> Any:
        code = status_code(error.status)
        return {"errors": [{"code": code, "message": m} for m in error.messages]}


class AliasEnvelope(EventsEnvelope):
    """The Web SDK's alias endpoint words its own 400s flat (`{"code", "message"}`); the key
    check it shares with the other Web SDK endpoints answers in the Events API's shape."""

    malformed = "Not valid JSON."

    def content(self, error: ApiError, call: Call | None) -> Any:
        if error.status == 400:
            return {"code": "BAD_REQUEST", "message": error.message}
        return super().content(error, call)


class IdSyncEnvelope(Envelope):
    """IDSync's `{"Errors": [...], "ErrorCode", "StatusCode", "RequestId"}`, the shape the Web
    SDK reads; `RequestId` echoes the request's `request_id` when it has one."""

    malformed = "Request body is not valid JSON."
    malformed_code = "BAD_REQUEST"
    invalid_code = "BAD_REQUEST"

    def content(self, error: ApiError, call: Call | None) -> Any:
        code = error.code or status_code(error.status)
        return {
            "Errors": [{"code": code, "message": error.message}],
            "ErrorCode": code,
            "StatusCode": error.status,
            "RequestId": _request_id(call),
        }


def _request_id(call: Call | None) -> str | None:
    if call is None:
        return None
    try:
        body = call.json()
    except ApiError:
        return None
    request_id = body.get("request_id") if isinstance(body, dict) else None
    return request_id if isinstance(request_id, str) else None


class ProfileEnvelope(Envelope):
    """The Profile API's `{"errors": [{"code", "message"}]}`: one error, with its own code
    (`VALIDATION_ERROR`, `NOT_FOUND`, ...)."""

    malformed = "Not valid JSON."
    malformed_code = "BAD_REQUEST"
    invalid_code = "VALIDATION_ERROR"

    def content(self, error: ApiError, call: Call | None) -> Any:
        code = error.code or status_code(error.status)
        return {"errors": [{"code": code, "message": error.message}]}


class OAuthEnvelope(Envelope):
    """OAuth's `{"error", "error_description"}` (RFC 6749 §5.2,
    https://www.rfc-editor.org/rfc/rfc6749#section-5.2). An error without its own code (a fault
    rule) takes the code of its status: 401 as a refused client, 429 and 5xx as RFC 6749's
    `temporarily_unavailable` / `server_error` (§4.1.2.1)."""

    malformed = "The body is not valid JSON."
    malformed_code = "invalid_request"
    invalid_code = "invalid_request"

    def content(self, error: ApiError, call: Call | None) -> Any:
        return {
            "error": error.code or _oauth_code(error.status),
            "error_description": error.message,
        }


def _oauth_code(status: int) -> str:
    if status == 401:
        return "access_denied"
    if status == 429 or status == 503:
        return "temporarily_unavailable"
    return "server_error" if status >= 500 else "invalid_request"


# OpenDSR's `reason` for an answer without its own (a fault rule): documented choice.
DSR_REASONS = {401: "Unauthorized", 404: "NotFoundException", 429: "TooManyRequests"}


class DsrEnvelope(Envelope):
    """OpenDSR's `{"code": status, "message", "errors": [{"domain", "reason", "message"}]}`
    (https://docs.mparticle.com/developers/apis/dsr-api/v3/, "Errors")."""

    malformed = "The body is not valid JSON."
    malformed_code = "ValidationException"
    invalid_code = "ValidationException"

    def content(self, error: ApiError, call: Call | None) -> Any:
        domain = {401: "Authentication", 404: "NotFound", 409: "Conflict", 429: "RateLimit"}.get(
            error.status, "Validation" if error.status < 500 else "Server"
        )
        reason = error.code or DSR_REASONS.get(
            error.status, "InvalidOperationException" if error.status < 500 else "ServerError"
        )
        return {
            "code": error.status,
            "message": error.message,
            "errors": [{"domain": domain, "reason": reason, "message": m} for m in error.messages],
        }


EVENTS = EventsEnvelope()
DSR = DsrEnvelope()
ALIAS = AliasEnvelope()
IDSYNC = IdSyncEnvelope()
PROFILE = ProfileEnvelope()
OAUTH = OAuthEnvelope()


def cors(call: Call, response: Response) -> None:
    """The Web SDK calls from pages on other origins: echo the origin on every answer."""
    origin = call.request.headers.get("origin")
    response.headers["Access-Control-Allow-Origin"] = origin or "*"
    response.headers["Access-Control-Allow-Headers"] = "content-type, x-mp-key"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Expose-Headers"] = "x-mp-max-age"
    if origin:
        response.headers["Vary"] = "Origin"


# -- callers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """An input and the workspace it belongs to."""

    workspace: str
    input: Input


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The Basic key and secret, decoded once per request (tenant resolution and auth both ask)."""
    if "ctmp.basic" not in request.scope:
        request.scope["ctmp.basic"] = _decode_basic(request)
    found: tuple[str, str] | None = request.scope["ctmp.basic"]
    return found


def _decode_basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, sep, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    return (key, secret) if sep else (key, "")


def _secret_matches(given: str, expected: str | None) -> bool:
    return secrets.compare_digest(given.encode(), (expected or "").encode())


def idsync_signature(secret: str, method: str, date: str, path: str, body: bytes) -> str:
    """IDSync's HMAC digest: hex HMAC-SHA256, keyed by the API secret's UTF-8 bytes, of
    `METHOD \n DATE \n PATH BODY` (https://docs.mparticle.com/developers/apis/idsync/,
    HMAC-based digest Authentication)."""
    message = f"{method}\n{date}\n{path}".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _check_signature(call: Call, owner: Source, signature: str) -> None:
    """The request's `x-mp-signature` against its input's secret. Documented choices (the docs
    are silent): PATH is the path as received, without the query string; `Date` is signed but
    not compared with the clock (the emulator's clock may be frozen or moved)."""
    date = call.request.headers.get("date")
    if owner.input.secret is None:
        raise IdentityError(401, "UNAUTHORIZED", "This key has no secret to sign with.")
    if not date:
        raise IdentityError(401, "UNAUTHORIZED", "A signed request needs a Date header.")
    request = call.request
    expected = idsync_signature(
        owner.input.secret, request.method, date, request.url.path, call.body
    )
    if not secrets.compare_digest(signature.strip().lower().encode(), expected.encode()):
        raise IdentityError(401, "UNAUTHORIZED", "x-mp-signature does not match.")


class Access:
    """The workspaces' credentials, indexed (rebuilt when the tenants change)."""

    def __init__(self, tenants: TenantRegistry, state: MParticleState) -> None:
        self.tenants = tenants
        self.state = state
        self._inputs: dict[str, Source] = {}  # input key -> its input and workspace
        self._clients: dict[str, tuple[str, str]] = {}  # client id -> (workspace, secret)

    def tenants_changed(self) -> None:
        workspaces = self.tenants.settings_of(WorkspaceSettings)
        self._clients = {
            c.client_id: (ws.id, c.client_secret) for ws in workspaces for c in ws.api_clients
        }
        self._inputs = {item.key: Source(ws.id, item) for ws in workspaces for item in ws.inputs}

    def workspace(self, workspace_id: str) -> WorkspaceSettings | None:
        return self.tenants.settings(workspace_id, WorkspaceSettings)

    def events_per_second(self, workspace_id: str) -> int:
        """Events API batches a second this workspace takes (0: no limit)."""
        settings = self.workspace(workspace_id)
        return 0 if settings is None else settings.events_batches_per_second

    def dsr_limits(self, workspace_id: str) -> tuple[int, int]:
        """OpenDSR calls a minute and new requests a day this workspace may make (0: none)."""
        settings = self.workspace(workspace_id)
        if settings is None:
            return 0, 0
        return settings.dsr_requests_per_minute, settings.dsr_new_requests_per_day

    def dedup_window(self, workspace_id: str) -> int:
        """Seconds a `source_request_id` de-duplicates a resend in this workspace (0: off)."""
        settings = self.workspace(workspace_id)
        return 0 if settings is None else settings.source_request_id_window

    def check_tenant(self, doc: dict[str, Any]) -> list[str]:
        """Input keys are unique across workspaces: a key alone names its workspace."""
        problems = []
        keys = [item["key"] for item in doc["inputs"]]
        for key in {k for k in keys if keys.count(k) > 1}:
            problems.append(f"input key {key!r} is used twice")
        for key in keys:
            owner = self._inputs.get(key)
            if owner is not None and owner.workspace != doc["id"]:
                problems.append(
                    f"input key {key!r} already belongs to workspace {owner.workspace!r}"
                )
        return problems

    def resolve_tenant(self, request: Request) -> str | None:
        """The workspace the request authenticates as, by the checks its API makes (None when
        they fail): the journal and fault rules see only a proven workspace, never a claimed
        one. A web key proves its workspace (the Web SDK sends no secret)."""
        key = request.path_params.get("key")
        if key is not None:  # the Web SDK's paths
            owner = self._inputs.get(key)
            return owner.workspace if owner is not None and owner.input.kind == "web" else None
        creds = basic_credentials(request)
        if creds is not None:
            owner = self._inputs.get(creds[0])
            if owner is not None and _secret_matches(creds[1], owner.input.secret):
                return owner.workspace
            return None
        mp_key = request.headers.get("x-mp-key")
        if mp_key:
            owner = self._inputs.get(mp_key)
            return owner.workspace if owner is not None else None
        parts = request.scope["path"].split("/")  # /userprofile/v1/[resolve/]{org}/{acct}/{ws}/..
        if len(parts) > 2 and parts[1] == "v1" and parts[2] in ("audiences", "workspace"):
            token = self._bearer(request)  # the Platform API: the token's own workspace
            return token.workspace if token is not None else None

        if len(parts) > 4 and parts[1] == "platform":  # /platform/v2/workspaces/{ws}/...
            token = self._bearer(request)
            return parts[4] if token is not None and token.workspace == parts[4] else None
        if len(parts) > 3 and parts[1] == "userprofile":
            at = 6 if parts[3] == "resolve" else 5
            workspace = parts[at] if len(parts) > at else None  # a short path names none
            token = self._bearer(request)
            return workspace if token is not None and token.workspace == workspace else None
        return None

    def _bearer(self, request: Request) -> Token | None:
        """The unexpired OAuth token the request's bearer credentials name."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        found = self.state.tokens.get(token) if scheme.lower() == "bearer" else None
        return found if found is not None and found.expires > self.state.clock.now() else None

    # -- per API ---------------------------------------------------------------------------
    def server_input(self, call: Call) -> Source:
        """The server-side input the request's Basic credentials name (Events API)."""
        creds = basic_credentials(call.request)
        if creds is None:
            raise ApiError(401, "Authorization header is missing.")
        owner = self._inputs.get(creds[0])
        if (
            owner is None
            or owner.input.kind == "web"
            or not _secret_matches(creds[1], owner.input.secret)
        ):
            raise ApiError(403, "The API key and secret are not valid.")
        return owner

    def dsr_workspace(self, call: Call) -> str:
        """The workspace an OpenDSR request is for: Basic with a server input's key and secret,
        as the Events API takes them; anything else is OpenDSR's 401."""
        creds = basic_credentials(call.request)
        owner = self._inputs.get(creds[0]) if creds is not None else None
        if (
            creds is None
            or owner is None
            or owner.input.kind == "web"
            or not _secret_matches(creds[1], owner.input.secret)
        ):
            raise ApiError(401, "The API key and secret are not valid.", code="Unauthorized")
        return owner.workspace

    def idsync_workspace(self, call: Call) -> str:
        """The workspace an IDSync request belongs to: Basic needs a server input's secret;
        `x-mp-key` needs a valid `x-mp-signature`, or none where the input allows key-only
        authentication. 401 otherwise (IDSync answers bad keys so)."""
        creds = basic_credentials(call.request)
        if creds is not None:
            owner = self._inputs.get(creds[0])
            if owner is None or not _secret_matches(creds[1], owner.input.secret):
                raise IdentityError(401, "UNAUTHORIZED", "The API key and secret are not valid.")
            return owner.workspace
        key = call.request.headers.get("x-mp-key")
        if not key:
            raise IdentityError(401, "UNAUTHORIZED", "x-mp-key or Basic credentials needed.")
        owner = self._inputs.get(key)
        if owner is None:
            raise IdentityError(401, "UNAUTHORIZED", f"Unknown API key {key!r}.")
        signature = call.request.headers.get("x-mp-signature")
        if signature is not None:
            _check_signature(call, owner, signature)
        elif not owner.input.idsync_key_only:
            raise IdentityError(
                401, "UNAUTHORIZED", "Key-only authentication is off for this key: sign it."
            )
        return owner.workspace

    def web_input(self, call: Call, status: int = 401) -> Source:
        """The web input the path's API key names (the Web SDK sends no credentials)."""
        owner = self._inputs.get(call.path_param("key"))
        if owner is None or owner.input.kind != "web":
            raise ApiError(status, "Unknown web API key.")
        return owner

    def api_client(self, client_id: str, client_secret: str) -> str:
        """The workspace whose API client these are (OAuth)."""
        client = self._clients.get(client_id)
        if client is None or not _secret_matches(client_secret, client[1]):
            raise ApiError(401, "Unauthorized", code="access_denied")
        return client[0]

    def profile_workspace(self, call: Call) -> str:
        """The workspace the Profile API path names, once the bearer token may read it."""
        found = self._bearer(call.request)
        if found is None:
            raise ProfileError(401, "UNAUTHORIZED", "A valid bearer token is needed.")
        params = call.request.path_params
        workspace = self.workspace(params["workspace"])
        if workspace is None:
            raise ProfileError(404, "NOT_FOUND", f"No workspace {params['workspace']}.")
        if found.workspace != workspace.id:
            raise ProfileError(403, "FORBIDDEN", "The token is for another workspace.")
        org, account = params["org"], params["account"]
        if workspace.org_id not in (None, org) or workspace.account_id not in (None, account):
            raise ProfileError(404, "NOT_FOUND", "The org or account does not match.")
        return workspace.id

    def platform_account(self, call: Call) -> tuple[WorkspaceSettings, list[WorkspaceSettings]]:
        """The Platform API's caller (https://docs.mparticle.com/developers/apis/platform/): the
        bearer token's workspace and the workspaces of the account `accountId` names, which must
        be the token's (a workspace without an `account_id` is an account of its own)."""
        found = self._bearer(call.request)
        if found is None:
            raise ProfileError(401, "UNAUTHORIZED", "A valid bearer token is needed.")
        account = call.query("accountId")
        if not account:
            raise ProfileError(401, "UNAUTHORIZED", "The accountId query parameter is required.")
        own = self.workspace(found.workspace)
        if own is None:
            raise ProfileError(401, "UNAUTHORIZED", "The token's workspace is gone.")
        if account != (own.account_id or own.id):
            raise ProfileError(403, "FORBIDDEN", f"The token cannot read account {account}.")
        siblings = [
            ws
            for ws in self.tenants.settings_of(WorkspaceSettings)
            if (ws.account_id or ws.id) == account
        ]
        return own, siblings

    def platform_workspace(self, call: Call) -> tuple[str, Token]:
        """The workspace a Platform API path (`/platform/v2/workspaces/{workspace}/...`) names,
        once the bearer token may use it, and the token (the Data Planning API,
        https://docs.mparticle.com/developers/apis/dataplanning-api/, Authentication)."""
        found = self._bearer(call.request)
        if found is None:
            raise ProfileError(401, "UNAUTHORIZED", "A valid bearer token is needed.")
        workspace_id = call.request.path_params["workspace"]
        if self.workspace(workspace_id) is None:
            raise ProfileError(404, "NOT_FOUND", f"No workspace {workspace_id}.")
        if found.workspace != workspace_id:
            raise ProfileError(403, "FORBIDDEN", "The token is for another workspace.")
        return workspace_id, found
