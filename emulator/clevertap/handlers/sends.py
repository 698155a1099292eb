"""Sends to user ids (`/1/send/{push,email,sms,webpush}.json`): validated, resolved to the users
`to` names and captured, never sent (the rules are in the domain module `sends`)."""

from __future__ import annotations

from typing import Any

from emulator.clevertap import sends
from emulator.clevertap.handlers.access import Access, clevertap_operation
from emulator.core.call import Call

ANSWER = "clevertap/send-response"


class Sends:
    def __init__(self, access: Access) -> None:
        self.access = access

    def _send(self, call: Call, channel: str) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked(f"clevertap/send-{channel}")
        now = call.emulator.clock.now()
        answer = sends.send(account, channel, body, now, sends.next_id(account))
        call.emulator.changes += 1
        return answer

    @clevertap_operation(
        "POST",
        "/1/send/push.json",
        summary="Send a push notification to user ids (captured)",
        answer=ANSWER,
        request="clevertap/send-push",
    )
    async def push(self, call: Call) -> dict[str, Any]:
        return self._send(call, "push")

    @clevertap_operation(
        "POST",
        "/1/send/email.json",
        summary="Send an email to user ids (captured)",
        answer=ANSWER,
        request="clevertap/send-email",
    )
    async def email(self, call: Call) -> dict[str, Any]:
        return self._send(call, "email")

    @clevertap_operation(
        "POST",
        "/1/send/sms.json",
        summary="Send an SMS to user ids (captured)",
        answer=ANSWER,
        request="clevertap/send-sms",
    )
    async def sms(self, call: Call) -> dict[str, Any]:
        return self._send(call, "sms")

    @clevertap_operation(
        "POST",
        "/1/send/webpush.json",
        summary="Send a web push notification to user ids (captured)",
        answer=ANSWER,
        request="clevertap/send-webpush",
    )
    async def webpush(self, call: Call) -> dict[str, Any]:
        return self._send(call, "webpush")
