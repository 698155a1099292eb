"""mParticle's platform API as a client on the wire calls it: the Events API (`/v2/events`,
`/v2/bulkevents`, with the s2s key and secret as Basic auth), IDSync (`/v1/{action}` with the web
key), the OAuth token of the Profile API; and the batches and events tests send."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import httpx

from tests.drivers.defaults import ENVIRONMENT, S2S, WEB, WORKSPACE

# A page the Web SDK runs on, and the org/account/workspace part of a Profile API path.
WEB_ORIGIN = "https://shop.example"
PROFILE_PLACE = f"10/100/{WORKSPACE}"
PLATFORM_ACCOUNT = "100"  # the default workspace's account (README)
IDSYNC_ANSWER_KEYS = {"context", "mpid", "matched_identities", "is_ephemeral", "is_logged_in"}
OAUTH_CLIENT = {
    "client_id": "emu-client-id",
    "client_secret": "emu-client-secret",
    "audience": "https://api.mparticle.com",
    "grant_type": "client_credentials",
}


# -- what tests send ---------------------------------------------------------------------------


def custom_event(name: str, ts: int | None = None, **attributes: Any) -> dict[str, Any]:
    """A `custom_event` named `name` of type `other` (`ts` in ms; `attributes` as its
    custom_attributes)."""
    data: dict[str, Any] = {"event_name": name, "custom_event_type": "other"}
    if ts is not None:
        data["timestamp_unixtime_ms"] = ts
    if attributes:
        data["custom_attributes"] = attributes
    return {"event_type": "custom_event", "data": data}


def mp_event(kind: str, ts: int | None = None, **data: Any) -> dict[str, Any]:
    """An event of any `event_type` with `data` (`ts` in ms)."""
    if ts is not None:
        data["timestamp_unixtime_ms"] = ts
    return {"event_type": kind, "data": data}


def commerce_event(ts: int | None = None, **data: Any) -> dict[str, Any]:
    return mp_event("commerce_event", ts, **data)


def mp_batch(
    *events: dict[str, Any],
    customer_id: str | None = None,
    identities: dict[str, Any] | None = None,
    environment: str | None = ENVIRONMENT,
    **extra: Any,
) -> dict[str, Any]:
    """An Events API batch of `events` (a `user_identities` only when some are given)."""
    ids = {} if customer_id is None else {"customer_id": customer_id}
    ids.update(identities or {})
    body: dict[str, Any] = {} if environment is None else {"environment": environment}
    body.update(events=list(events), **extra)
    if ids:
        body["user_identities"] = ids
    return body


def tiny_batch() -> dict[str, Any]:
    """The smallest batch the Events API takes: one custom event `x`, nothing else."""
    return mp_batch(custom_event("x"), environment=None)


# -- what tests check ----------------------------------------------------------------------------


def assert_mpid(mpid: Any) -> None:
    """An MPID on the wire: the decimal string of a signed 64-bit integer, never 0."""
    assert isinstance(mpid, str), mpid
    assert re.fullmatch(r"-?[1-9][0-9]*", mpid), mpid
    assert -(2**63) <= int(mpid) < 2**63


def idsync_answer(response: httpx.Response) -> dict[str, Any]:
    """A 200 IDSync answer, with its shape checked."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == IDSYNC_ANSWER_KEYS, body
    assert body["context"] is None
    assert body["is_ephemeral"] is False
    assert isinstance(body["is_logged_in"], bool)
    assert_mpid(body["mpid"])
    return body


def idsync_error(response: httpx.Response, status: int, code: str) -> None:
    """An IDSync error: `{"Errors": [one], "ErrorCode", "StatusCode", "RequestId"}`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"Errors", "ErrorCode", "StatusCode", "RequestId"}, body
    assert body["ErrorCode"] == code
    assert body["StatusCode"] == status
    assert len(body["Errors"]) == 1
    assert body["Errors"][0]["code"] == code
    assert isinstance(body["Errors"][0]["message"], str) and body["Errors"][0]["message"]


def mp_errors(response: httpx.Response, status: int, code: str) -> list[dict[str, str]]:
    """An Events API error: `{"errors": [...]}` with this status, every error of this code."""
    assert response.status_code == status, response.text
    errors: list[dict[str, str]] = response.json()["errors"]
    assert errors and all(e["code"] == code and e["message"] for e in errors)
    assert set(response.json()) == {"errors"}
    return errors


class MParticleDriver:
    """mParticle's API on the session's HTTP client (base URL: the emulator), with the default
    workspace's s2s key and secret (Basic auth) and web key unless told otherwise."""

    def __init__(
        self, http: httpx.Client, auth: tuple[str, str] = S2S, web: dict[str, str] = WEB
    ) -> None:
        self.http = http
        self.auth = auth
        self.web = web

    # -- the Events API ------------------------------------------------------------------------
    def post(
        self,
        body: Any = None,
        *,
        path: str = "/v2/events",
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """POST `body` as JSON (or `content`, typed JSON) with Basic `auth` (default: the s2s
        pair; none when only `headers` are given); nothing checked."""
        if auth is None and headers is None:
            auth = self.auth
        extra: dict[str, Any] = {} if auth is None else {"auth": auth}
        if content is not None:
            if headers is None:
                headers = {"Content-Type": "application/json"}
            return self.http.post(path, content=content, headers=headers, **extra)
        return self.http.post(path, json=body, headers=headers, **extra)

    def send(
        self, body: Any, *, path: str = "/v2/events", auth: tuple[str, str] | None = None
    ) -> None:
        """POST a batch (or, to `/v2/bulkevents`, a list of them): 202 with an empty body."""
        response = self.post(body, path=path, auth=auth)
        assert response.status_code == 202, (path, response.status_code, response.text)
        assert response.content == b"", response.content

    def send_web(self, body: Any, *, key: str | None = None) -> None:
        """POST a batch as the Web SDK does (`/v3/JS/{web key}/events`, JSON as text/plain):
        202."""
        response = self.post_web(body, key=key)
        assert response.status_code == 202, (response.status_code, response.text)

    def post_web(self, body: Any, *, key: str | None = None) -> httpx.Response:
        """POST a batch as the Web SDK does (JSON as text/plain, from a page's origin); nothing
        checked."""
        web_key = key if key is not None else self.web["x-mp-key"]
        return self.http.post(
            f"/v3/JS/{web_key}/events",
            content=json.dumps(body).encode(),
            headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": WEB_ORIGIN},
        )

    # -- IDSync --------------------------------------------------------------------------------
    def idsync(
        self,
        action: str,
        known: dict[str, Any],
        *,
        previous: Any = None,
        prefix: str = "",
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """`POST {prefix}/v1/{action}` with `known_identities` (and `previous_mpid`), the web key
        unless `headers` or `auth` is given, and query `params`; nothing checked."""
        body: dict[str, Any] = {"environment": ENVIRONMENT, "known_identities": known}
        if previous is not None:
            body["previous_mpid"] = previous
        if headers is None and auth is None:
            headers = self.web
        extra: dict[str, Any] = {} if auth is None else {"auth": auth}
        if params:
            extra["params"] = params
        return self.http.post(f"{prefix}/v1/{action}", json=body, headers=headers, **extra)

    def idsync_signed(
        self,
        path: str,
        body: dict[str, Any],
        *,
        key: str = S2S[0],
        secret: str = S2S[1],
        date: str = "20170712T224127Z",
        signed_path: str | None = None,
        query: str = "",
    ) -> httpx.Response:
        """`POST {path}{query}` with IDSync's HMAC digest, computed as the docs spell it
        (https://docs.mparticle.com/developers/apis/idsync/): hex HMAC-SHA256 keyed by the
        secret over `POST\n{date}\n{path}{body}` (`signed_path` signs another path)."""
        content = json.dumps(body).encode()
        message = f"POST\n{date}\n{signed_path or path}".encode() + content
        signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        headers = {
            "x-mp-key": key,
            "Date": date,
            "x-mp-signature": signature,
            "Content-Type": "application/json",
        }
        return self.http.post(path + query, content=content, headers=headers)

    def identify(self, **known: Any) -> dict[str, Any]:
        return idsync_answer(self.idsync("identify", known))

    def login(self, previous: Any = None, **known: Any) -> dict[str, Any]:
        return idsync_answer(self.idsync("login", known, previous=previous))

    def logout(self, previous: Any = None, **known: Any) -> dict[str, Any]:
        return idsync_answer(self.idsync("logout", known, previous=previous))

    def modify(
        self,
        mpid: str,
        *changes: tuple[str, str | None, str | None],
        prefix: str = "",
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """`POST /v1/{mpid}/modify` with `(identity_type, old_value, new_value)` changes."""
        body = {
            "environment": ENVIRONMENT,
            "identity_changes": [
                {"identity_type": kind, "old_value": old, "new_value": new}
                for kind, old, new in changes
            ],
        }
        return self.http.post(
            f"{prefix}/v1/{mpid}/modify", json=body, headers=self.web, params=params
        )

    # -- the Profile API and its token ---------------------------------------------------------
    def oauth(self, **override: Any) -> httpx.Response:
        """`POST /oauth/token` with the default API client (fields overridden); nothing checked."""
        return self.http.post("/oauth/token", json={**OAUTH_CLIENT, **override})

    def profile_get(self, mpid: str, access: str | None) -> httpx.Response:
        """`GET` the default workspace's profile `mpid` with a bearer token (none: no header);
        nothing checked."""
        headers = {} if access is None else {"Authorization": f"Bearer {access}"}
        return self.http.get(
            f"/userprofile/v1/{PROFILE_PLACE}/{mpid}",
            params={"fields": "user_identities"},
            headers=headers,
        )

    def token(self, **override: Any) -> str:
        """An OAuth access token (client credentials), with the answer's shape checked."""
        response = self.oauth(**override)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"access_token", "expires_in", "token_type"}
        assert body["expires_in"] == 28800
        assert body["token_type"] == "Bearer"
        assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 16
        access: str = body["access_token"]
        return access

    # -- the Platform API (audiences) ----------------------------------------------------------
    def platform(
        self,
        method: str,
        path: str,
        access: str | None,
        account: str | None = PLATFORM_ACCOUNT,
    ) -> httpx.Response:
        """`{method} /v1{path}?accountId={account}` with a bearer token (None: no header, no
        accountId); nothing checked."""
        headers = {} if access is None else {"Authorization": f"Bearer {access}"}
        params = {} if account is None else {"accountId": account}
        return self.http.request(method, f"/v1{path}", params=params, headers=headers)

    def platform_ok(self, path: str, access: str) -> Any:
        """`GET /v1{path}?accountId=100`: 200, its JSON."""
        response = self.platform("GET", path, access)
        assert response.status_code == 200, response.text
        return response.json()

    # -- the server-to-server alias -------------------------------------------------------------
    def alias(self, auth: tuple[str, str] | None = None, **fields: Any) -> httpx.Response:
        """`POST /v2/alias` with `request_type: alias`, `environment` and `fields`, Basic s2s
        credentials (or `auth`); nothing checked."""
        body = {"request_type": "alias", "environment": ENVIRONMENT, **fields}
        return self.post(body, path="/v2/alias", auth=auth)

    # -- the Data Planning API -----------------------------------------------------------------
    def plans_request(
        self,
        method: str,
        tail: str = "",
        body: Any = None,
        *,
        access: str | None,
        workspace: str = WORKSPACE,
    ) -> httpx.Response:
        """`{method} /platform/v2/workspaces/{workspace}/plans{tail}` with a bearer token (none:
        no header) and a JSON `body`; nothing checked
        (https://docs.mparticle.com/developers/apis/dataplanning-api/)."""
        headers = {} if access is None else {"Authorization": f"Bearer {access}"}
        path = f"/platform/v2/workspaces/{workspace}/plans{tail}"
        if body is None:
            return self.http.request(method, path, headers=headers)
        return self.http.request(method, path, json=body, headers=headers)

    def plans_ok(
        self, method: str, tail: str = "", body: Any = None, *, access: str, status: int = 200
    ) -> Any:
        """A Data Planning API call that must answer `status`: its JSON (None for a 204)."""
        response = self.plans_request(method, tail, body, access=access)
        assert response.status_code == status, (method, tail, response.status_code, response.text)
        return None if status == 204 else response.json()


def data_point(
    kind: str, definition: dict[str, Any] | None = None, **criteria: Any
) -> dict[str, Any]:
    """A data point of match type `kind` with `criteria` and a JSON Schema `definition`."""
    return {
        "description": f"{kind} {criteria}",
        "match": {"type": kind, "criteria": criteria},
        "validator": {"type": "json_schema", "definition": definition or {}},
    }


def plan_version(
    *points: dict[str, Any],
    version: int = 1,
    environment: str = "development",
    **blok: bool,
) -> dict[str, Any]:
    """A plan version of `points`, active in `environment`, with block settings `blok`."""
    return {
        "version": version,
        "activated_environment": environment,
        "version_document": {"data_points": list(points)},
        "blok": blok,
    }
