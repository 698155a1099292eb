"""CleverTap's platform API as a client on the wire calls it: `/1/upload`, `/1/profile.json` and
any other path, with an account's id and passcode headers; and the records tests upload."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.drivers.defaults import ACCOUNT, PASSCODE

UPLOAD_ANSWER_KEYS = {"status", "processed", "unprocessed"}
CURSOR = re.compile(r"[A-Za-z0-9_-]+")


def ct_headers(account: str = ACCOUNT, passcode: str = PASSCODE) -> dict[str, str]:
    """An account's id and passcode headers, with the JSON content type (a new dict each call:
    HTTP clients may add to the dict they get)."""
    return {
        "X-CleverTap-Account-Id": account,
        "X-CleverTap-Passcode": passcode,
        "Content-Type": "application/json",
    }


def ct_fail(status: int, message: str) -> dict[str, Any]:
    """CleverTap's fail envelope."""
    return {"status": "fail", "error": message, "code": status}


NOT_FOUND = ct_fail(404, "Profile not found")


def event_record(identity: str, name: str, ts: int | None = None, **props: Any) -> dict[str, Any]:
    """An upload event record with `props` as its evtData (no `ts`: the emulator's clock)."""
    record: dict[str, Any] = {"type": "event", "identity": identity, "evtName": name}
    record["evtData"] = props
    if ts is not None:
        record["ts"] = ts
    return record


def profile_record(identity: str, **data: Any) -> dict[str, Any]:
    """An upload profile record with `data` as its profileData."""
    return {"type": "profile", "identity": identity, "profileData": data}


def token_record(object_id: str, token: str, kind: str = "fcm") -> dict[str, Any]:
    """An upload device-token record for a CleverTap ID (`chrome`: with the web push keys)."""
    data: dict[str, Any] = {"id": token, "type": kind}
    if kind == "chrome":
        data["keys"] = {"p256dh": "p256dh-key", "auth": "auth-key"}
    return {"type": "token", "objectId": object_id, "tokenData": data}


def ok(response: httpx.Response) -> dict[str, Any]:
    """A 200 answer whose status is `success`."""
    assert response.status_code == 200, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["status"] == "success", body
    return body


def bad_request(response: httpx.Response) -> dict[str, Any]:
    """A 400 in CleverTap's fail envelope, with a message."""
    assert response.status_code == 400, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["status"] == "fail" and body["code"] == 400, body
    assert isinstance(body["error"], str) and body["error"], body
    return body


class CleverTapDriver:
    """One account's view of CleverTap's API on the session's HTTP client (base URL: the
    emulator). `headers=` on any call replaces the account's headers for that call."""

    def __init__(self, http: httpx.Client, account: str = ACCOUNT, passcode: str = PASSCODE):
        self.http = http
        self.account = account
        self.passcode = passcode

    @property
    def headers(self) -> dict[str, str]:
        return ct_headers(self.account, self.passcode)

    def for_account(self, account: str, passcode: str) -> CleverTapDriver:
        """The same driver with another account's credentials."""
        return CleverTapDriver(self.http, account, passcode)

    # -- any request ---------------------------------------------------------------------------
    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """`method path` with the account's headers (unless `headers`); nothing checked."""
        return self.http.request(
            method, path, headers=self.headers if headers is None else headers, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """POST `body` as JSON (or `content=` as given); nothing checked."""
        if "content" not in kwargs:
            kwargs["json"] = body
        return self.request("POST", path, **kwargs)

    def post_ok(self, path: str, body: Any, **kwargs: Any) -> dict[str, Any]:
        """POST `body`; the answer must be HTTP 200; answers its JSON."""
        response = self.post(path, body, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        answer: dict[str, Any] = response.json()
        return answer

    # -- /1/upload -----------------------------------------------------------------------------
    def send(self, *records: Any, path: str = "/1/upload", **kwargs: Any) -> httpx.Response:
        """POST `{"d": records}` to `/1/upload` (or `path`); nothing checked."""
        return self.post(path, {"d": list(records)}, **kwargs)

    def send_together(
        self, batches: Sequence[Sequence[Any]], path: str = "/1/upload"
    ) -> list[httpx.Response]:
        """POST every batch as `{"d": batch}` at the same time, a thread each (httpx's client is
        thread-safe); the answers in the batches' order, nothing checked."""
        return self.post_together(path, [{"d": list(batch)} for batch in batches])

    def post_together(self, path: str, bodies: Sequence[Any]) -> list[httpx.Response]:
        """POST every body to `path` at the same time, a thread each (httpx's client is
        thread-safe); the answers in the bodies' order, nothing checked."""
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            return list(pool.map(lambda body: self.post(path, body), bodies))

    def upload(self, *records: Any, path: str = "/1/upload", **kwargs: Any) -> dict[str, Any]:
        """Upload `records`; the answer must be HTTP 200 JSON in the upload-answer shape
        (`status`, `processed`, `unprocessed`), whatever the records' fate."""
        response = self.send(*records, path=path, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json"), response.headers
        answer: dict[str, Any] = response.json()
        assert set(answer) == UPLOAD_ANSWER_KEYS, answer
        return answer

    def upload_ok(self, *records: Any, **kwargs: Any) -> dict[str, Any]:
        """Upload `records`; every one must be taken: `success`, all processed, none refused."""
        answer = self.upload(*records, **kwargs)
        assert answer == {"status": "success", "processed": len(records), "unprocessed": []}, answer
        return answer

    # -- /1/targets/*.json ---------------------------------------------------------------------
    def create_campaign(self, body: dict[str, Any]) -> dict[str, Any]:
        """`targets/create.json`; the answer must be HTTP 200 with `status` success."""
        return ok(self.post("/1/targets/create.json", body))

    def campaign_result(self, campaign_id: int) -> dict[str, Any]:
        """`targets/result.json`'s HTTP 200 answer (success or fail)."""
        return self.post_ok("/1/targets/result.json", {"id": campaign_id})

    # -- /1/send/*.json -------------------------------------------------------------------------
    def send_to(self, channel: str, body: dict[str, Any]) -> httpx.Response:
        """POST `body` to `/1/send/{channel}.json`; nothing checked."""
        return self.post(f"/1/send/{channel}.json", body)

    def send_ok(self, channel: str, body: dict[str, Any]) -> dict[str, Any]:
        """A send to user ids CleverTap queues: HTTP 200 with its documented answer."""
        answer = ok(self.send_to(channel, body))
        assert answer == {"status": "success", "message": "Added to queue for processing"}
        return answer

    # -- /1/partners/mparticle/audiences ---------------------------------------------------------
    def partner_sync(
        self,
        audience: tuple[int, str],
        *customers: str,
        action: str = "add",
        emails: dict[str, str] | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """What mParticle's audience output sends when `customers` (Customer IDs, each with
        its email from `emails`, if any) join (`add`) or leave (`delete`) `audience` (id,
        name): one Firehose membership change; answers CleverTap's HTTP 200 response."""
        users = [
            {
                "user_identities": [
                    {"type": kind, "encoding": "raw", "value": value}
                    for kind, value in (("customer", c), ("email", (emails or {}).get(c)))
                    if value is not None
                ],
                "audiences": [
                    {
                        "audience_id": audience[0],
                        "audience_name": audience[1],
                        "audience_subscription_settings": {},
                        "action": action,
                    }
                ],
            }
            for c in customers
        ]
        message = {
            "type": "audience_membership_change_request",
            "id": message_id or f"sync-{audience[0]}-{action}-{'-'.join(customers)}",
            "timestamp_ms": 0,
            "firehose_version": "3.2.0",
            "account": {"account_id": 1, "account_settings": {}},
            "user_profiles": users,
        }
        return self.post_ok("/1/partners/mparticle/audiences", message)

    # -- /1/profile.json -----------------------------------------------------------------------
    def lookup(self, *, headers: dict[str, str] | None = None, **query: Any) -> dict[str, Any]:
        """profile.json's answer (found or not), which must be HTTP 200."""
        response = self.request("GET", "/1/profile.json", params=query, headers=headers)
        assert response.status_code == 200, (response.status_code, response.text)
        answer: dict[str, Any] = response.json()
        return answer

    def profile(self, *, headers: dict[str, str] | None = None, **query: Any) -> dict[str, Any]:
        """The record of the profile profile.json finds (it must find one)."""
        answer = self.lookup(headers=headers, **query)
        assert answer["status"] == "success", (query, answer)
        record: dict[str, Any] = answer["record"]
        return record

    def no_profile(self, *, headers: dict[str, str] | None = None, **query: Any) -> None:
        """profile.json finds no profile: CleverTap's 404 fail envelope (in an HTTP 200)."""
        answer = self.lookup(headers=headers, **query)
        assert answer == NOT_FOUND, (query, answer)

    def find_profile(self, *, base: str | None = None, **query: Any) -> dict[str, Any] | None:
        """The record profile.json finds, or None when it answers "not found" (code 404); at
        `base` (another emulator's URL) instead of the session's emulator when given."""
        path = "/1/profile.json" if base is None else f"{base}/1/profile.json"
        response = self.request("GET", path, params=query)
        assert response.status_code == 200, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        if body["status"] == "fail":
            assert body["code"] == 404, body
            return None
        assert body["status"] == "success", body
        record: dict[str, Any] = body["record"]
        return record

    def object_id(self, identity: str) -> str:
        """The CleverTap ID (first platformInfo objectId) of the profile of `identity`."""
        object_id: str = self.profile(identity=identity)["platformInfo"][0]["objectId"]
        return object_id

    # -- cursor downloads (events.json, profiles.json) -------------------------------------------
    def create_cursor(
        self, kind: str, query: Any, batch_size: int | None = None, form: str = "post", **kw: Any
    ) -> str:
        """Create a `/1/{kind}.json` download (`form` "post": the query as the JSON body; "get":
        as `?query=`); answers its cursor, whose shape is checked."""
        params: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
        if form == "post":
            response = self.request("POST", f"/1/{kind}.json", params=params, json=query, **kw)
        else:
            params["query"] = json.dumps(query)
            response = self.request("GET", f"/1/{kind}.json", params=params, **kw)
        body = ok(response)
        assert set(body) == {"status", "cursor"}, body
        assert CURSOR.fullmatch(body["cursor"]), body
        cursor: str = body["cursor"]
        return cursor

    def pages(self, kind: str, cursor: str, method: str = "GET", **kw: Any) -> list[dict[str, Any]]:
        """Every page, following next_cursor (pasted raw into the URL, as clients do)."""
        out: list[dict[str, Any]] = []
        while cursor:
            assert len(out) < 200, "the download does not end"
            page = ok(self.request(method, f"/1/{kind}.json?cursor={cursor}", **kw))
            assert "cursor" not in page, page  # a client reading `cursor or next_cursor` would loop
            out.append(page)
            cursor = page.get("next_cursor", "")
            if cursor:
                assert CURSOR.fullmatch(cursor), page
        return out

    def download(
        self,
        kind: str,
        query: Any,
        batch_size: int | None = None,
        form: str = "post",
        method: str = "GET",
        **kw: Any,
    ) -> list[dict[str, Any]]:
        """The records of a whole download: create the cursor, then read every page."""
        cursor = self.create_cursor(kind, query, batch_size, form, **kw)
        return [r for p in self.pages(kind, cursor, method, **kw) for r in p.get("records", [])]

    # -- the Custom List API -------------------------------------------------------------------
    def custom_list_url(self) -> str:
        """Step 1 (`POST /get_custom_list_segment_url`): the pre-signed URL, the answer's shape
        checked."""
        answer = ok(self.post("/get_custom_list_segment_url"))
        assert set(answer) == {"status", "presignedS3URL"}, answer
        url: str = answer["presignedS3URL"]
        return url

    def put_custom_list(self, url: str, rows: Sequence[tuple[str, str]]) -> httpx.Response:
        """Step 2: PUT a `Type,Identity` CSV of `rows` to the pre-signed URL (no CleverTap
        headers, as to S3); nothing checked."""
        text = "Type,Identity\n" + "".join(f"{kind},{value}\n" for kind, value in rows)
        return self.http.put(url, content=text.encode(), headers={"Content-Type": "text/csv"})

    def complete_custom_list(self, name: str, url: str, **extra: Any) -> httpx.Response:
        """Step 3 (`POST /upload_custom_list_segment_completed`); nothing checked."""
        body = {
            "name": name,
            "email": "owner@example.com",
            "filename": "list.csv",
            "creator": "tests",
            "url": url,
            **extra,
        }
        return self.post("/upload_custom_list_segment_completed", body)

    def custom_list(self, name: str, *rows: tuple[str, str], **extra: Any) -> int:
        """All three steps; answers the new segment's id (`Segment ID`)."""
        url = self.custom_list_url()
        put = self.put_custom_list(url, rows)
        assert put.status_code == 200, put.text
        answer = ok(self.complete_custom_list(name, url, **extra))
        assert set(answer) == {"status", "Segment ID"}, answer
        segment_id: int = answer["Segment ID"]
        return segment_id

    # -- API Segments (/api/createSegment, /api/updateSegment) --------------------------------
    def create_segments(self, body: Any) -> httpx.Response:
        """POST `body` to `/api/createSegment`; nothing checked."""
        return self.post("/api/createSegment", body)

    def create_segment(self, name: str, customer_segment_id: str) -> int:
        """One API segment made (top-level array body, as the page's sample); answers its
        `ct_segment_id`, the answer's shape checked."""
        answer = ok(
            self.create_segments(
                [{"segment_name": name, "customer_segment_id": customer_segment_id}]
            )
        )
        assert set(answer) == {"status", "segments"}, answer
        (made,) = answer["segments"]
        assert made["segment_name"] == name and made["customer_segment_id"] == customer_segment_id
        segment_id: int = made["ct_segment_id"]
        return segment_id

    def update_segments(self, *entries: dict[str, Any]) -> httpx.Response:
        """POST `{"bulk_profiles": entries}` to `/api/updateSegment`; nothing checked."""
        return self.post("/api/updateSegment", {"bulk_profiles": list(entries)})

    def update_segments_answer(self, *entries: dict[str, Any]) -> dict[str, Any]:
        """Update Segment's HTTP 200 answer (upload-answer shape, whatever was skipped)."""
        response = self.update_segments(*entries)
        assert response.status_code == 200, (response.status_code, response.text)
        answer: dict[str, Any] = response.json()
        assert set(answer) == UPLOAD_ANSWER_KEYS, answer
        return answer


def bulk_entry(users: Sequence[dict[str, str]], *segments: dict[str, Any]) -> dict[str, Any]:
    """One `bulk_profiles` entry of the Update Segment API."""
    return {"user_profiles": list(users), "segments": list(segments)}
