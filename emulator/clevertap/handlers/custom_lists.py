"""The Custom List API (https://developer.clevertap.com/docs/custom-list-endpoints): the
pre-signed upload URL, the emulator's stand-in for S3 that takes the file, and the completion
call that makes the segment (custom_lists.py)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.clevertap import custom_lists
from emulator.clevertap.custom_lists import CustomLists
from emulator.clevertap.handlers.access import ERR, Access, clevertap_operation
from emulator.core.call import Call
from emulator.core.operations import NO_BODY, Param, operation

ANSWER = "clevertap/custom-list-response"


class CustomListApi:
    def __init__(self, access: Access, uploads: CustomLists) -> None:
        self.access = access
        self.uploads = uploads

    @clevertap_operation(
        "POST",
        "/get_custom_list_segment_url",
        summary="Custom List API step 1: a pre-signed URL to upload the list to (24 h)",
        answer=ANSWER,
    )
    async def presigned_url(self, call: Call) -> dict[str, Any]:
        account_id, _ = self.access.enter_as(call)
        token = self.uploads.issue(account_id, call.emulator.clock.now())
        base = str(call.request.base_url).rstrip("/")
        return {"status": "success", "presignedS3URL": f"{base}/{custom_lists.UPLOAD_PATH}/{token}"}

    @operation(
        "PUT",
        f"/{custom_lists.UPLOAD_PATH}/{{token}}",
        summary="Custom List API step 2: the CSV PUT to the pre-signed URL (S3 on the platform)",
        params=[Param("token", "path", {"type": "string"}, required=True)],
        responses={200: NO_BODY, 403: ERR},
        tags=("CleverTap",),
    )
    async def upload(self, call: Call) -> Response:
        self.uploads.put(call.path_param("token"), call.body, call.emulator.clock.now())
        return Response(status_code=200)

    @clevertap_operation(
        "POST",
        "/upload_custom_list_segment_completed",
        summary="Custom List API step 3: make the segment from the uploaded list",
        answer=ANSWER,
        request="clevertap/custom-list-completed",
    )
    async def completed(self, call: Call) -> dict[str, Any]:
        account_id, account = self.access.enter_as(call)
        body = call.checked("clevertap/custom-list-completed")
        now = call.emulator.clock.now()
        data = self.uploads.take(account_id, body["url"], now)
        segment = custom_lists.complete(account, body, data, now)
        call.emulator.changes += 1
        return {"status": "success", "Segment ID": segment["id"]}
