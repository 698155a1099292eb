"""CleverTap's Custom List API (https://developer.clevertap.com/docs/custom-list-endpoints): a
custom list segment made in three steps, (1) ask for a pre-signed upload URL, (2) PUT the CSV
there, (3) tell CleverTap the upload is complete, naming the segment. Plain Python, no HTTP.

The pre-signed URL is S3's on the platform; on the emulator it is the emulator's own
`PUT /custom_list_uploads/{token}`, valid 24 hours on the emulator's clock (the documented
validity, https://developer.clevertap.com/docs/custom-list-api-teams). The CSV has a
`Type,Identity` header and one row per user: `i` and an identity, or `g` and a CleverTap ID
(objectId) (https://docs.clevertap.com/docs/custom-list-segments). Members are resolved to
profiles when the upload is completed (`segments.add_custom_list`); unknown users are left out.
Pending uploads live in memory only (a state document carries the segments they made, not URLs
still waiting for a file).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from emulator.clevertap.models import Account
from emulator.clevertap.segments import add_custom_list
from emulator.core.errors import ApiError

URL_SECONDS = 24 * 3600
UPLOAD_PATH = "custom_list_uploads"
MAX_PENDING = 1000  # pre-signed URLs kept at once; the oldest go first


@dataclass(slots=True)
class Upload:
    account: str
    expires: float
    body: bytes | None = None


class CustomLists:
    """The pre-signed URLs handed out, by token, and the file PUT to each."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token
        self._uploads: dict[str, Upload] = {}

    def issue(self, account: str, now: float) -> str:
        """A new upload token for `account`, valid URL_SECONDS."""
        self._uploads = {k: u for k, u in self._uploads.items() if u.expires > now}
        while len(self._uploads) >= MAX_PENDING:
            del self._uploads[next(iter(self._uploads))]
        token = self._token()
        self._uploads[token] = Upload(account, now + URL_SECONDS)
        return token

    def put(self, token: str, body: bytes, now: float) -> None:
        """The file PUT to a pre-signed URL; 403 (as S3 answers) for an unknown or expired one."""
        upload = self._uploads.get(token)
        if upload is None or upload.expires <= now:
            raise ApiError(403, "The upload URL is not valid or has expired.")
        upload.body = body

    def take(self, account: str, url: str, now: float) -> bytes:
        """The file uploaded to `url` for `account` (the URL is used up)."""
        token = url.rstrip("/").rsplit("/", 1)[-1]
        upload = self._uploads.get(token)
        if upload is None or upload.account != account or f"/{UPLOAD_PATH}/" not in url:
            raise ApiError(400, "The url was not issued by get_custom_list_segment_url.")
        if upload.expires <= now:
            raise ApiError(400, "The upload URL has expired.")
        if upload.body is None:
            raise ApiError(400, "No file was uploaded to the url.")
        del self._uploads[token]
        return upload.body

    def forget(self, tenants: Iterable[str] | None) -> None:
        if tenants is None:
            self._uploads.clear()
        else:
            gone = set(tenants)
            self._uploads = {k: u for k, u in self._uploads.items() if u.account not in gone}


def parse_csv(data: bytes) -> dict[str, list[str]]:
    """The CSV's identities (`i`) and CleverTap IDs (`g`); 400 for a row of another type or a
    file that is not UTF-8 text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "The uploaded file is not UTF-8 CSV.") from None
    found: dict[str, list[str]] = {"identities": [], "objectIds": []}
    for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if n == 1 and cells[0].lower() == "type":
            continue  # the `Type,Identity` header
        kind = cells[0].lower()
        if kind not in ("i", "g") or len(cells) < 2 or not cells[1]:
            raise ApiError(400, f"Row {n} of the file is not `i,<identity>` or `g,<CleverTap ID>`.")
        found["identities" if kind == "i" else "objectIds"].append(cells[1])
    return found


def complete(account: Account, body: dict[str, Any], data: bytes, now: float) -> dict[str, Any]:
    """Make the custom list segment `body` names (contract `clevertap/custom-list-completed`)
    from the uploaded file; with `replace`, an existing custom list of that name gets the new
    members and keeps its id."""
    members = parse_csv(data)
    segment, _ = add_custom_list(account, {"name": body["name"], **members}, now)
    segment.update(source="Custom List API", creator=body.get("creator"), file=body.get("filename"))
    if body.get("replace"):
        older = [
            s
            for s in account.segments
            if s is not segment and s["name"] == body["name"] and s.get("type") == "Custom List"
        ]
        if older:
            account.segments.remove(segment)
            older[0].update(members=segment["members"], created=now, file=segment["file"])
            return older[0]
    return segment
