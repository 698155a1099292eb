"""mParticle HTTP handlers (thin): the Events API and IDSync.

Events API, per `shared/reference/mparticle-api.md` §1: HTTP Basic with an input's key and secret
(missing → 401, present but wrong → 403), 202 on success, `{"errors": [{"code", "message"}]}` on
400, request over 256 KB or a batch over 128 KB → 413, at most 100 batches in a bulk upload. The
same operations answer under `/s2s/v2/...`, as partner feeds call them. Each accepted batch is
resolved to a user (its `mpid`, else IDSync's identify over its identities) and applied to it.

IDSync (§4): `/v1/identify|login|logout|search` and `/v1/{mpid}/modify`, also under
`/identity/v1/`, authenticated by `x-mp-key` (any input's key, as the Web SDK sends it) or by Basic
key and secret; errors in the `{"Errors": [...], "ErrorCode", "StatusCode"}` shape the Web SDK
reads. The strategy is in `models.py`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.admin.errors import ControlError
from emulator.admin.views import page_view, rows_view
from emulator.core.contracts import ContractError, Verdict
from emulator.core.jsonresp import Fragment, JSONResponse, dumps, fragment, tight
from emulator.core.reaper import dispose
from emulator.core.rows import TenantRows
from emulator.core.surface import NO_BODY, BadJSON, Call, Operation, Param, Surface
from emulator.mparticle import profiles
from emulator.mparticle.models import (
    LOGIN_ID,
    IdentityError,
    Resolution,
    Workspace,
    idsync_key,
    parse_mpid,
)
from emulator.runtime import Emulator

MAX_REQUEST_BYTES = 256 * 1024
MAX_BATCH_BYTES = 128 * 1024
_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_ENTITY_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
}


def errors(status: int, *messages: str, retry_after: int | None = None) -> JSONResponse:
    code = _CODES.get(status, "SERVER_ERROR" if status >= 500 else "ERROR")
    response = JSONResponse(
        {"errors": [{"code": code, "message": m} for m in messages]}, status_code=status
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The Basic key and secret, decoded once per request (tenant resolution and auth both ask)."""
    if "ctmp.basic" not in request.scope:
        request.scope["ctmp.basic"] = _decode_basic(request)
    return request.scope["ctmp.basic"]  # type: ignore[no-any-return]


def _decode_basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, sep, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    return (key, secret) if sep else (key, "")


def identity_error(call: Call, status: int, code: str, message: str) -> JSONResponse:
    """IDSync's error shape; `RequestId` echoes the request's `request_id` when it has one."""
    try:
        body = call.json()
    except BadJSON:
        body = None
    request_id = body.get("request_id") if isinstance(body, dict) else None
    return JSONResponse(
        {
            "Errors": [{"code": code, "message": message}],
            "ErrorCode": code,
            "StatusCode": status,
            "RequestId": request_id if isinstance(request_id, str) else None,
        },
        status_code=status,
    )


class MParticleSurface(Surface):
    name = "mparticle"
    tenant_kind = "mparticle_workspace"
    tenant_contract = "mparticle/workspace"
    path_prefixes = (
        "/v2/",
        "/s2s/",
        "/v1/",
        "/identity/",
        "/oauth/",
        "/userprofile/",
        "/v3/",
        "/JS/",
        "/webevents/",
        "/tags/",
    )

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        # Accepted batches: as received, and what they resolved to.
        self.batches = TenantRows()
        self.data: dict[str, Workspace] = {}
        # Profile API bearer tokens (transient: a reset forgets them, as a restart would).
        self._tokens: dict[str, profiles.Token] = {}
        self._clients: dict[str, tuple[str, str]] = {}  # client id -> (workspace, secret)
        # Moving the clock can end (or start) windowed audience memberships.
        emulator.clock.on_change(lambda now: self._refresh_audiences("clock moved"))
        # input key -> (workspace id, input)
        self._inputs: dict[str, tuple[str, dict[str, Any]]] = {}

    def tenants_changed(self) -> None:
        workspaces = self.emulator.tenants.of_kind(self.tenant_kind)
        self._clients = {
            c["client_id"]: (ws["id"], c["client_secret"])
            for ws in workspaces
            for c in ws.get("api_clients", [])
        }
        self._inputs = {
            item["key"]: (ws["id"], item)
            for ws in self.emulator.tenants.of_kind(self.tenant_kind)
            for item in ws["inputs"]
        }

    def check_tenant(self, doc: dict[str, Any]) -> list[str]:
        problems = []
        keys = [item["key"] for item in doc["inputs"]]
        for key in {k for k in keys if keys.count(k) > 1}:
            problems.append(f"input key {key!r} is used twice")
        for key in keys:
            owner = self._inputs.get(key)
            if owner is not None and owner[0] != doc["id"]:
                problems.append(f"input key {key!r} already belongs to workspace {owner[0]!r}")
        return problems

    def workspace(self, workspace_id: str) -> Workspace:
        found = self.data.get(workspace_id)
        if found is None:
            found = self.data[workspace_id] = Workspace(
                self.emulator.ids.mpid, self.emulator.clock.now
            )
            publish = self.emulator.publish
            found.on_audience = lambda action, audience: publish(
                "mparticle.audience", workspace=workspace_id, action=action, audience=audience
            )
            found.on_membership = lambda change, user, audience: publish(
                "mparticle.membership",
                workspace=workspace_id,
                change=change,
                user=user,
                audience=audience,
            )
        return found

    # -- pipeline hooks --------------------------------------------------------------------
    def resolve_tenant(self, request: Request) -> str | None:
        creds = basic_credentials(request)
        key = request.path_params.get("key") or (
            creds[0] if creds else request.headers.get("x-mp-key")
        )
        owner = self._inputs.get(key) if key else None
        if owner is not None:
            return owner[0]
        parts = request.scope["path"].split("/")  # /userprofile/v1/[resolve/]{org}/{acct}/{ws}/..
        if len(parts) > 5 and parts[1] == "userprofile":
            workspace = parts[6] if parts[3] == "resolve" else parts[5]
            return workspace if self.owns(workspace) else None
        return None

    def error_response(self, status: int, message: str, retry_after: int | None = None) -> Response:
        return errors(status, message, retry_after=retry_after)

    def authenticate(self, call: Call) -> tuple[str, dict[str, Any]] | Response:
        """The server-side input the request's Basic credentials name, or mParticle's 401/403."""
        creds = basic_credentials(call.request)
        if creds is None:
            return errors(401, "Authorization header is missing.")
        owner = self._inputs.get(creds[0])
        if (
            owner is None
            or owner[1]["kind"] == "web"
            or not secrets.compare_digest(creds[1].encode(), owner[1].get("secret", "").encode())
        ):
            return errors(403, "The API key and secret are not valid.")
        return owner

    # -- handlers --------------------------------------------------------------------------
    async def _accept(self, call: Call, bulk: bool, historical: bool = False) -> Response:
        owner = self.authenticate(call)
        if isinstance(owner, Response):
            return owner
        if len(call.body) > MAX_REQUEST_BYTES:
            return errors(413, f"Request body exceeds {MAX_REQUEST_BYTES} bytes.")
        try:
            body = call.json()
        except BadJSON:
            return errors(400, "Request body is not valid JSON.")
        batches = self._checked_batches(call, body, bulk)
        if isinstance(batches, Response):
            return batches
        if owner[1]["kind"] != "feed" and any(b.get("partner_identities") for b, _ in batches):
            return errors(400, "partner_identities are accepted only from a feed input.")
        self._store(owner, batches, historical)
        return Response(status_code=202)

    def _checked_batches(
        self, call: Call, body: Any, bulk: bool
    ) -> list[tuple[dict[str, Any], bytes]] | Response:
        """The batches, each with its JSON (for the size limit and the stored copy)."""
        contracts, mode = self.emulator.contracts, self.emulator.config.mode
        if bulk:
            verdict = call.validate("mparticle/bulk", body)
            if not verdict.valid:
                return errors(400, *(f"{e.path}: {e.message}" for e in verdict.errors))
            batches = [(batch, dumps(batch)) for batch in body]
        else:
            batches = [(body, call.body)]
        merged = Verdict("mparticle/batch")
        for index, (batch, raw) in enumerate(batches):
            if len(raw) > MAX_BATCH_BYTES:
                call.verdict = merged
                return errors(413, f"Batch {index} exceeds {MAX_BATCH_BYTES} bytes.")
            verdict = contracts.validate("mparticle/batch", batch, mode)
            prefix = f"$[{index}]" if bulk else "$"
            merged.errors += [_repath(e, prefix) for e in verdict.errors]
            merged.warnings += [_repath(e, prefix) for e in verdict.warnings]
        call.verdict = merged
        if not merged.valid:
            return errors(400, *(f"{e.path}: {e.message}" for e in merged.errors))
        return batches

    def _store(
        self,
        owner: tuple[str, dict[str, Any]],
        batches: list[tuple[dict[str, Any], bytes]],
        historical: bool,
    ) -> None:
        workspace_id, source = owner
        workspace = self.workspace(workspace_id)
        received = self.emulator.clock.now()
        received_ms = int(received * 1000)
        for batch, raw in batches:
            skipped = _historical_skip(batch, received_ms) if historical else None
            if skipped is not None:
                # Accepted (202) but not processed, as mParticle's historical endpoint does.
                self.batches.add(
                    workspace_id,
                    {
                        "received": received,
                        "input": source["key"],
                        "historical": True,
                        "batch": Fragment(tight(raw)),
                        "resolved": fragment({"skipped": skipped}),
                    },
                )
                continue
            if source["kind"] == "feed":
                _stamp_feed(batch, source.get("name") or source["key"])
            resolution = workspace.resolve_batch(batch, parse_mpid(batch.get("mpid")))
            stamped = workspace.apply_batch(resolution.user, batch, received_ms)
            workspace.settle("batch")
            self.batches.add(
                workspace_id,
                {
                    "received": received,
                    "input": source["key"],
                    "historical": historical,
                    # Serialised (one object each, nothing for the collector to walk): the
                    # batch as received, and as processed (its MPID, every timestamp, a feed's
                    # stamp) with what it resolved to.
                    "batch": Fragment(tight(raw)),
                    "resolved": fragment(
                        {
                            "mpid": str(resolution.user.mpid),
                            "user_created": resolution.created,
                            "matched_identities": resolution.matched,
                            "events": len(batch.get("events") or ()),
                            "timestamps_stamped": stamped,
                            "batch": {**batch, "mpid": resolution.user.mpid},
                        }
                    ),
                },
            )
            # Event outputs (the bridge's forwarding to CleverTap) take it from here.
            self.emulator.publish(
                "mparticle.batch",
                workspace=workspace_id,
                source=source,
                batch=batch,
                mpid=resolution.user.mpid,
                received_ms=received_ms,
                historical=historical,
            )
        self.emulator.changes += 1

    async def events(self, call: Call) -> Response:
        return await self._accept(call, bulk=False)

    async def bulk_events(self, call: Call) -> Response:
        return await self._accept(call, bulk=True)

    async def historical(self, call: Call) -> Response:
        return await self._accept(call, bulk=True, historical=True)

    # -- IDSync ----------------------------------------------------------------------------
    def _identity_caller(self, call: Call) -> str | Response:
        """The workspace an IDSync request belongs to: `x-mp-key` names any input, Basic needs
        a server input's secret. 401 otherwise (IDSync answers bad keys so)."""
        creds = basic_credentials(call.request)
        if creds is not None:
            owner = self._inputs.get(creds[0])
            if owner is None or not secrets.compare_digest(
                creds[1].encode(), owner[1].get("secret", "").encode()
            ):
                message = "The API key and secret are not valid."
                return identity_error(call, 401, "UNAUTHORIZED", message)
            return owner[0]
        key = call.request.headers.get("x-mp-key")
        if not key:
            message = "x-mp-key or Basic credentials needed."
            return identity_error(call, 401, "UNAUTHORIZED", message)
        owner = self._inputs.get(key)
        if owner is None:
            return identity_error(call, 401, "UNAUTHORIZED", f"Unknown API key {key!r}.")
        return owner[0]

    def _identity_body(self, call: Call, contract: str) -> Any:
        try:
            body = call.json()
        except BadJSON:
            return identity_error(call, 400, "BAD_REQUEST", "Request body is not valid JSON.")
        verdict = call.validate(contract, body)
        if not verdict.valid:
            first = verdict.errors[0]
            return identity_error(call, 400, "BAD_REQUEST", f"{first.path}: {first.message}")
        return body

    async def _identity(self, call: Call, action: str) -> Response:
        workspace_id = self._identity_caller(call)
        if isinstance(workspace_id, Response):
            return workspace_id
        body = self._identity_body(call, "mparticle/identity-request")
        if isinstance(body, Response):
            return body
        spelled: dict[str, str] = {}  # our key -> the request's spelling, for matched_identities
        known: dict[str, str] = {}
        for key, value in body["known_identities"].items():
            name = idsync_key(key)
            if name is not None and isinstance(value, str) and value:
                known[name] = value
                spelled[name] = key
        if not known and action != "logout":
            return identity_error(call, 400, "LOOKUP_ERROR", "knownIdentities is empty.")
        workspace = self.workspace(workspace_id)
        try:
            if action == "identify":
                resolution = workspace.identify(known)
            elif action == "login":
                resolution = workspace.login(known, parse_mpid(body.get("previous_mpid")))
            elif action == "logout":
                resolution = workspace.logout(known)
            else:
                resolution = workspace.search(known)
        except IdentityError as exc:
            return identity_error(call, exc.status, exc.code, str(exc))
        workspace.settle(action)
        self.emulator.changes += 1
        return JSONResponse(self._identity_answer(resolution, known, spelled))

    @staticmethod
    def _identity_answer(
        resolution: Resolution, known: dict[str, str], spelled: dict[str, str]
    ) -> dict[str, Any]:
        user = resolution.user
        return {
            "context": None,
            "mpid": str(user.mpid),
            "matched_identities": {spelled[k]: v for k, v in resolution.matched.items()},
            "is_ephemeral": False,
            "is_logged_in": user.known and known.get(LOGIN_ID) == user.identities[LOGIN_ID],
        }

    async def identify(self, call: Call) -> Response:
        return await self._identity(call, "identify")

    async def login(self, call: Call) -> Response:
        return await self._identity(call, "login")

    async def logout(self, call: Call) -> Response:
        return await self._identity(call, "logout")

    async def search(self, call: Call) -> Response:
        return await self._identity(call, "search")

    async def modify(self, call: Call) -> Response:
        workspace_id = self._identity_caller(call)
        if isinstance(workspace_id, Response):
            return workspace_id
        body = self._identity_body(call, "mparticle/identity-modify")
        if isinstance(body, Response):
            return body
        mpid = parse_mpid(call.request.path_params.get("mpid"))
        if mpid is None:
            return identity_error(call, 400, "BAD_REQUEST", "The MPID in the path is not a number.")
        changes = []
        for change in body["identity_changes"]:
            name = idsync_key(change["identity_type"])
            if name is not None:
                changes.append((name, change.get("old_value"), change.get("new_value")))
        try:
            user = self.workspace(workspace_id).modify(mpid, changes)
        except IdentityError as exc:
            return identity_error(call, exc.status, exc.code, str(exc))
        self.workspace(workspace_id).settle("modify")
        self.emulator.changes += 1
        return JSONResponse(
            {
                "change_results": [
                    {"identity_type": c["identity_type"], "modified_mpid": str(user.mpid)}
                    for c in body["identity_changes"]
                ]
            }
        )

    # -- Web SDK ---------------------------------------------------------------------------
    def _web_input(self, call: Call) -> tuple[str, dict[str, Any]] | Response:
        """The web input the path's API key names (the Web SDK sends no credentials)."""
        owner = self._inputs.get(call.request.path_params.get("key", ""))
        if owner is None or owner[1]["kind"] != "web":
            return errors(401, "Unknown web API key.")
        return owner

    async def web_events(self, call: Call) -> Response:
        owner = self._web_input(call)
        if isinstance(owner, Response):
            return owner
        if len(call.body) > MAX_REQUEST_BYTES:
            return errors(413, f"Request body exceeds {MAX_REQUEST_BYTES} bytes.")
        try:
            body = call.json()  # sent as text/plain on purpose (no CORS preflight)
        except BadJSON:
            return errors(400, "Request body is not valid JSON.")
        batches = self._checked_batches(call, body, bulk=False)
        if isinstance(batches, Response):
            return batches
        for batch, _ in batches:
            if batch.get("partner_identities"):
                del batch["partner_identities"]
                call.notes.append("partner_identities dropped: accepted only from a feed input")
        self._store(owner, batches, False)
        return Response(status_code=202)

    async def web_config(self, call: Call) -> Response:
        owner = self._web_input(call)
        if isinstance(owner, Response):
            return errors(404, "Unknown web API key.")
        doc = self.emulator.tenants.get(owner[0]) or {}
        return JSONResponse(
            {
                "appName": doc.get("name", owner[0]),
                "kitConfigs": [],
                "pixelConfigs": [],
                "workspaceToken": f"EMU{owner[0]}",
                "flags": {},
            }
        )

    async def web_alias(self, call: Call) -> Response:
        owner = self._web_input(call)
        if isinstance(owner, Response):
            return owner
        try:
            body = call.json()
        except BadJSON:
            return JSONResponse({"code": "BAD_REQUEST", "message": "Not valid JSON."}, 400)
        verdict = call.validate("mparticle/alias", body)
        if not verdict.valid:
            first = verdict.errors[0]
            message = f"{first.path}: {first.message}"
            return JSONResponse({"code": "BAD_REQUEST", "message": message}, 400)
        data = body["data"]
        if str(data["source_mpid"]) == str(data["destination_mpid"]):
            return JSONResponse(
                {"code": "BAD_REQUEST", "message": "source and destination are the same"}, 400
            )
        self.workspace(owner[0]).aliases.append(
            {"time": self.emulator.clock.now(), "input": owner[1]["key"], **data}
        )
        self.emulator.changes += 1
        return Response(status_code=202)

    async def web_audience(self, call: Call) -> Response:
        owner = self._web_input(call)
        if isinstance(owner, Response):
            return owner
        mpid = parse_mpid(call.request.query_params.get("mpid"))
        if mpid is None:
            return errors(400, "mpid is required.")
        workspace = self.workspace(owner[0])
        workspace.refresh()
        user = workspace.user(mpid)
        found = workspace.memberships(user) if user is not None else []
        return JSONResponse({"audience_memberships": found})

    async def preflight(self, call: Call) -> Response:
        return Response(status_code=204)

    def _cors(self, handler: Any) -> Any:
        """The Web SDK calls from pages on other origins: echo the origin on every answer."""

        async def with_cors(call: Call) -> Response:
            response: Response = await handler(call)
            origin = call.request.headers.get("origin")
            response.headers["Access-Control-Allow-Origin"] = origin or "*"
            response.headers["Access-Control-Allow-Headers"] = "content-type, x-mp-key"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = "x-mp-max-age"
            if origin:
                response.headers["Vary"] = "Origin"
            return response

        return with_cors

    # -- Profile API -----------------------------------------------------------------------
    async def oauth_token(self, call: Call) -> Response:
        try:
            body = call.json()
        except BadJSON:
            return _oauth_error(400, "invalid_request", "The body is not valid JSON.")
        verdict = call.validate("mparticle/oauth-token-request", body)
        if not verdict.valid:
            first = verdict.errors[0]
            return _oauth_error(400, "invalid_request", f"{first.path}: {first.message}")
        client = self._clients.get(body["client_id"])
        if client is None or not secrets.compare_digest(
            body["client_secret"].encode(), client[1].encode()
        ):
            return _oauth_error(401, "access_denied", "Unauthorized")
        token = self.emulator.ids.token(32)
        now = self.emulator.clock.now()
        self._tokens[token] = profiles.Token(client[0], now + profiles.TOKEN_SECONDS)
        call.tenant = client[0]
        return JSONResponse(
            {"access_token": token, "expires_in": profiles.TOKEN_SECONDS, "token_type": "Bearer"}
        )

    def _profile_caller(self, call: Call) -> str:
        """The workspace the path names, once the bearer token may read it."""
        scheme, _, token = call.request.headers.get("authorization", "").partition(" ")
        found = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if found is None or found.expires <= self.emulator.clock.now():
            raise profiles.ProfileError(401, "UNAUTHORIZED", "A valid bearer token is needed.")
        params = call.request.path_params
        doc = self.emulator.tenants.get(params["workspace"])
        if doc is None or doc["kind"] != self.tenant_kind:
            raise profiles.ProfileError(404, "NOT_FOUND", f"No workspace {params['workspace']}.")
        if found.workspace != doc["id"]:
            raise profiles.ProfileError(403, "FORBIDDEN", "The token is for another workspace.")
        if params["org"] != doc.get("org_id", params["org"]) or params["account"] != doc.get(
            "account_id", params["account"]
        ):
            raise profiles.ProfileError(404, "NOT_FOUND", "The org or account does not match.")
        return str(doc["id"])

    async def profile_by_mpid(self, call: Call) -> Response:
        try:
            workspace_id = self._profile_caller(call)
            fields = profiles.parse_fields(call.request.query_params.get("fields"))
            mpid = parse_mpid(call.request.path_params["mpid"])
            user = self.workspace(workspace_id).user(mpid) if mpid is not None else None
            if user is None:
                raise profiles.ProfileError(404, "NOT_FOUND", "No user with that MPID.")
        except profiles.ProfileError as exc:
            return _platform_error(exc)
        return JSONResponse(self._profile(workspace_id, user, fields))

    def _profile(self, workspace_id: str, user: Any, fields: list[str]) -> dict[str, Any]:
        workspace = self.workspace(workspace_id)
        workspace.refresh()
        return profiles.profile(user, fields, workspace.memberships(user))

    async def profile_resolve(self, call: Call) -> Response:
        try:
            workspace_id = self._profile_caller(call)
            fields = profiles.parse_fields(call.request.query_params.get("fields"))
            try:
                body = call.json()
            except BadJSON:
                raise profiles.ProfileError(400, "BAD_REQUEST", "Not valid JSON.") from None
            verdict = call.validate("mparticle/profile-resolve", body)
            if not verdict.valid:
                first = verdict.errors[0]
                raise profiles.ProfileError(
                    400, "VALIDATION_ERROR", f"{first.path}: {first.message}"
                )
            kind = idsync_key(body["identity"]["type"]) or body["identity"]["type"]
            workspace = self.workspace(workspace_id)
            user = workspace.holder(kind, body["identity"]["value"])
            if user is None:
                raise profiles.ProfileError(404, "NOT_FOUND", "No user with that identity.")
        except profiles.ProfileError as exc:
            return _platform_error(exc)
        return JSONResponse(self._profile(workspace_id, user, fields))

    # -- declaration -----------------------------------------------------------------------
    def operations(self) -> list[Operation]:
        err = "mparticle/error"
        responses: dict[int, str | None] = {202: NO_BODY, 400: err, 401: err, 403: err, 413: err}
        ops = []
        for prefix in ("", "/s2s"):
            ops += [
                Operation(
                    "POST",
                    prefix + "/v2/events",
                    self.events,
                    "Upload one batch",
                    request="mparticle/batch",
                    responses=responses,
                    security=["mparticleBasic"],
                ),
                Operation(
                    "POST",
                    prefix + "/v2/bulkevents",
                    self.bulk_events,
                    "Upload up to 100 batches",
                    request="mparticle/bulk",
                    responses=responses,
                    security=["mparticleBasic"],
                ),
                Operation(
                    "POST",
                    prefix + "/v2/bulkevents/historical",
                    self.historical,
                    "Upload up to 100 batches of historical data",
                    request="mparticle/bulk",
                    responses=responses,
                    security=["mparticleBasic"],
                ),
            ]
        fields = Param(
            "fields",
            "query",
            {"type": "string"},
            required=True,
            description="comma list of " + ", ".join(profiles.FIELDS),
        )
        place = [
            Param(name, "path", {"type": "string"}, required=True)
            for name in ("org", "account", "workspace")
        ]
        pf_answers: dict[int, str | None] = {
            200: "mparticle/profile",
            400: "mparticle/platform-error",
            401: "mparticle/platform-error",
            403: "mparticle/platform-error",
            404: "mparticle/platform-error",
        }
        ops += [
            Operation(
                "POST",
                "/oauth/token",
                self.oauth_token,
                "OAuth client credentials: a bearer token for the Profile API (8 h)",
                request="mparticle/oauth-token-request",
                responses={
                    200: "mparticle/oauth-token",
                    400: "mparticle/oauth-error",
                    401: "mparticle/oauth-error",
                },
                tags=["mParticle Profile API"],
            ),
            # resolve first: the by-MPID path would also match it (org = "resolve")
            Operation(
                "POST",
                "/userprofile/v1/resolve/{org}/{account}/{workspace}",
                self.profile_resolve,
                "A user profile by an identity",
                request="mparticle/profile-resolve",
                params=[*place, fields],
                responses=pf_answers,
                security=["mparticleBearer"],
                tags=["mParticle Profile API"],
            ),
            Operation(
                "GET",
                "/userprofile/v1/{org}/{account}/{workspace}/{mpid}",
                self.profile_by_mpid,
                "A user profile by MPID",
                params=[*place, Param("mpid", "path", {"type": "string"}, required=True), fields],
                responses=pf_answers,
                security=["mparticleBearer"],
                tags=["mParticle Profile API"],
            ),
        ]
        id_err = "mparticle/identity-error"
        id_answers: dict[int, str | None] = {
            200: "mparticle/identity-response",
            400: id_err,
            401: id_err,
            404: id_err,
        }
        for prefix in ("", "/identity"):
            for action, handler, summary in (
                ("identify", self.identify, "IDSync identify: the MPID of known identities"),
                ("login", self.login, "IDSync login"),
                ("logout", self.logout, "IDSync logout: a new anonymous user"),
                ("search", self.search, "IDSync search: like identify, never creates"),
            ):
                ops.append(
                    Operation(
                        "POST",
                        f"{prefix}/v1/{action}",
                        self._cors(handler),
                        summary,
                        request="mparticle/identity-request",
                        responses=id_answers,
                        tags=["mParticle IDSync"],
                    )
                )
            ops.append(
                Operation(
                    "POST",
                    prefix + "/v1/{mpid}/modify",
                    self._cors(self.modify),
                    "IDSync modify: change an existing user's identities",
                    request="mparticle/identity-modify",
                    params=[Param("mpid", "path", {"type": "string"}, required=True)],
                    responses={**id_answers, 200: "mparticle/identity-modify-response"},
                    tags=["mParticle IDSync"],
                )
            )
        ops += self._web_operations()
        # CORS preflight for every path a browser calls.
        for path in sorted({op.path for op in ops if "mparticleBasic" not in op.security}):
            if path.startswith(("/oauth/", "/userprofile/")):
                continue
            ops.append(
                Operation(
                    "OPTIONS",
                    path,
                    self._cors(self.preflight),
                    "CORS preflight",
                    request_required=False,
                    params=_path_params(path),
                    responses={204: NO_BODY},
                    tags=["mParticle Web SDK"],
                )
            )
        return ops

    def _web_operations(self) -> list[Operation]:
        key = Param("key", "path", {"type": "string"}, required=True)
        err = "mparticle/error"
        ops = []
        # The default hosts' paths, and the `domain` (CNAME) layout of the same calls.
        for events_base, config_base, alias_base in (
            ("/v3/JS", "/JS/v2", "/v1/identity"),
            ("/webevents/v3/JS", "/tags/JS/v2", "/webevents/v1/identity"),
        ):
            ops += [
                Operation(
                    "POST",
                    events_base + "/{key}/events",
                    self._cors(self.web_events),
                    "Web SDK batch (JSON sent as text/plain)",
                    request="mparticle/batch",
                    request_media="text/plain",
                    params=[key],
                    responses={202: NO_BODY, 400: err, 401: err, 413: err},
                    tags=["mParticle Web SDK"],
                ),
                Operation(
                    "GET",
                    config_base + "/{key}/config",
                    self._cors(self.web_config),
                    "Web SDK configuration",
                    params=[key, Param("env", "query", {"type": "string"})],
                    responses={200: "mparticle/web-config", 404: err},
                    tags=["mParticle Web SDK"],
                ),
                Operation(
                    "POST",
                    alias_base + "/{key}/Alias",
                    self._cors(self.web_alias),
                    "Web SDK alias request (recorded)",
                    request="mparticle/alias",
                    params=[key],
                    responses={202: NO_BODY, 400: None, 401: err},
                    tags=["mParticle Web SDK"],
                ),
            ]
        ops.append(
            Operation(
                "GET",
                "/v1/{key}/audience",
                self._cors(self.web_audience),
                "Web SDK: a user's audience memberships",
                params=[key, Param("mpid", "query", {"type": "string"}, required=True)],
                responses={200: "mparticle/audience-memberships", 400: err, 401: err},
                tags=["mParticle Web SDK"],
            )
        )
        return ops

    def control_operations(self) -> list[Operation]:
        return [
            rows_view(
                "/mparticle/{tenant}/batches",
                self.batches,
                "batches",
                self.owns,
                "Batches a workspace accepted, as received and as resolved, oldest first",
            ),
            page_view(
                "/mparticle/{tenant}/users",
                "users",
                self._users_view,
                self.owns,
                "Users: identities, attributes, event counts, MPID history",
                [
                    Param("mpid", "query", {"type": "string"}),
                    Param("identity", "query", {"type": "string"}, description="any identity"),
                ],
            ),
            page_view(
                "/mparticle/{tenant}/audiences",
                "audiences",
                self._audiences_view,
                self.owns,
                "Audiences with their criteria and current members",
            ),
            Operation(
                "POST",
                "/mparticle/{tenant}/audiences",
                self._add_audience,
                "Define an audience (evaluated at once, then as data and the clock move)",
                request="mparticle/audience",
                params=[Param("tenant", "path", {"type": "string"}, required=True)],
                responses={201: None, 400: "emulator/error", 404: "emulator/error"},
            ),
            Operation(
                "DELETE",
                "/mparticle/{tenant}/audiences/{audience_id}",
                self._remove_audience,
                "Remove an audience",
                params=[
                    Param("tenant", "path", {"type": "string"}, required=True),
                    Param("audience_id", "path", {"type": "string"}, required=True),
                ],
                responses={200: "emulator/deleted", 404: "emulator/error"},
            ),
            page_view(
                "/mparticle/{tenant}/memberships",
                "memberships",
                self._memberships_view,
                self.owns,
                "Audience membership changes (add/delete, time, reason), oldest first",
                [
                    Param("audience_id", "query", {"type": "string"}),
                    Param("mpid", "query", {"type": "string"}),
                ],
            ),
            page_view(
                "/mparticle/{tenant}/aliases",
                "aliases",
                lambda tenant, q: list(self.workspace(tenant).aliases),
                self.owns,
                "Alias requests the Web SDK sent, oldest first (recorded; no data moves)",
            ),
            Operation(
                "GET",
                "/mparticle/{tenant}/users/{mpid}",
                self._user_view,
                "One user by MPID",
                params=[
                    Param("tenant", "path", {"type": "string"}, required=True),
                    Param("mpid", "path", {"type": "string"}, required=True),
                ],
                responses={200: None, 404: "emulator/error"},
            ),
        ]

    def _refresh_audiences(self, trigger: str) -> None:
        for workspace in self.data.values():
            workspace.refresh(trigger)

    def _audiences_view(self, tenant: str, q: dict[str, Any]) -> list[dict[str, Any]]:
        workspace = self.workspace(tenant)
        workspace.refresh()
        return [
            {**a, "members": [str(m) for m in sorted(workspace.members[a["id"]])]}
            for a in workspace.audiences.values()
        ]

    def _memberships_view(self, tenant: str, q: dict[str, Any]) -> list[dict[str, Any]]:
        workspace = self.workspace(tenant)
        workspace.refresh()
        return [
            c
            for c in workspace.membership_changes
            if q.get("audience_id") in (None, str(c["audience_id"]))
            and q.get("mpid") in (None, c["mpid"])
        ]

    async def _add_audience(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        tenant = request.path_params["tenant"]
        if not self.owns(tenant):
            raise ControlError(404, "not_found", f"no tenant {tenant!r} here")
        workspace = self.workspace(tenant)
        if body.get("id") in workspace.audiences:
            raise ControlError(409, "conflict", f"audience {body['id']} exists")
        audience = workspace.add_audience(
            body["name"], body["criteria"], body.get("id"), body.get("export", "recurring")
        )
        self.emulator.changes += 1
        members = [str(m) for m in sorted(workspace.members[audience["id"]])]
        return JSONResponse({**audience, "members": members}, status_code=201)

    async def _remove_audience(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        tenant = request.path_params["tenant"]
        raw = request.path_params["audience_id"]
        if not self.owns(tenant) or not (raw.isascii() and raw.isdigit()):
            raise ControlError(404, "not_found", "no such audience")
        if not self.workspace(tenant).remove_audience(int(raw)):
            raise ControlError(404, "not_found", "no such audience")
        self.emulator.changes += 1
        return JSONResponse({"deleted": raw})

    def _users_view(self, tenant: str, q: dict[str, Any]) -> list[dict[str, Any]]:
        self.workspace(tenant).refresh()
        users = self.workspace(tenant).users.values()
        wanted_mpid = parse_mpid(q.get("mpid")) if "mpid" in q else None
        workspace = self.workspace(tenant)
        return [
            {**user.view(), "audience_memberships": workspace.memberships(user)}
            for user in users
            if ("mpid" not in q or user.mpid == wanted_mpid)
            and ("identity" not in q or q["identity"] in user.identities.values())
        ]

    async def _user_view(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        tenant = request.path_params["tenant"]
        if not self.owns(tenant):
            raise ControlError(404, "not_found", f"no tenant {tenant!r} here")
        mpid = parse_mpid(request.path_params["mpid"])
        user = self.workspace(tenant).user(mpid) if mpid is not None else None
        if user is None:
            raise ControlError(404, "not_found", "no user with that MPID")
        workspace = self.workspace(tenant)
        workspace.refresh()
        return JSONResponse({**user.view(), "audience_memberships": workspace.memberships(user)})

    def security_schemes(self) -> dict[str, Any]:
        return {
            "mparticleBasic": {"type": "http", "scheme": "basic"},
            "mparticleBearer": {"type": "http", "scheme": "bearer"},
        }

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        return {
            "batches": self.batches.export(tenants),
            "users": [
                {"tenant": tenant, **workspace.export()}
                for tenant, workspace in self.data.items()
                if (tenants is None or tenant in tenants) and not workspace.empty()
            ],
        }

    def import_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.batches.load(tables.get("batches", []))
        old, self.data = self.data, {}
        dispose(old)
        for row in tables.get("users", []):
            self.workspace(row["tenant"]).load(row)

    def reset(self, tenants: Any) -> None:
        self.batches.reset(tenants)
        if tenants is None:
            self._tokens.clear()
            old, self.data = self.data, {}
            dispose(old)
        else:
            for tenant in tenants:
                dispose(self.data.pop(tenant, None))


FEED_ATTRIBUTE = "mParticle Source Feed"
HISTORICAL_MIN_AGE_MS = 72 * 3600 * 1000


def _historical_skip(batch: dict[str, Any], received_ms: int) -> str | None:
    """Why the historical endpoint would not process a batch (reference §1.1), or None."""
    events = batch.get("events") or []
    if not events:
        return "a historical batch needs events"
    for index, event in enumerate(events):
        ts = (event.get("data") or {}).get("timestamp_unixtime_ms")
        if not isinstance(ts, int):
            return f"event {index} has no timestamp_unixtime_ms"
        if ts > received_ms - HISTORICAL_MIN_AGE_MS:
            return f"event {index} is less than 72 hours old"
    return None


def _stamp_feed(batch: dict[str, Any], feed: str) -> None:
    """Events a feed brings carry the feed's name, as mParticle stamps them."""
    for event in batch.get("events") or ():
        data = event.get("data")
        if not isinstance(data, dict):
            data = event["data"] = {}
        attributes = data.get("custom_attributes")
        if not isinstance(attributes, dict):
            attributes = data["custom_attributes"] = {}
        attributes[FEED_ATTRIBUTE] = feed


def _path_params(path: str) -> list[Param]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [Param(name, "path", {"type": "string"}, required=True) for name in names]


def _oauth_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": message}, status_code=status)


def _platform_error(exc: profiles.ProfileError) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"code": exc.code, "message": str(exc)}]}, status_code=exc.status
    )


def _repath(error: ContractError, prefix: str) -> ContractError:
    return ContractError(prefix + error.path[1:], error.message, error.kind)
