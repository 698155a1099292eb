"""mParticle's audience output (Firehose audience messages) applied as "Partner - mParticle"
segments (the rules are in the domain module `partners`)."""

from __future__ import annotations

from typing import Any

from emulator.clevertap import partners
from emulator.clevertap.handlers.access import Access, clevertap_operation
from emulator.core.call import Call
from emulator.core.contracts import LENIENT
from emulator.core.errors import ApiError

CONTRACT = "clevertap/firehose-audience"


class Partners:
    def __init__(self, access: Access) -> None:
        self.access = access

    @clevertap_operation(
        "POST",
        "/1/partners/mparticle/audiences",
        summary="mParticle audience output: Firehose audience subscription and membership "
        "change messages, applied as Partner - mParticle segments",
        answer="clevertap/firehose-response",
        request=CONTRACT,
    )
    async def mparticle_audiences(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        message = self._message(call)
        emulator = call.emulator
        answer = partners.apply_firehose(account, message, emulator.clock.now())
        call.notes.extend(partners.notes(message, answer))
        emulator.changes += 1
        return answer

    @staticmethod
    def _message(call: Call) -> Any:
        """The checked body; a 400 names the field that is wrong for the message's `type`
        (the contract's oneOf alone says only "neither kind")."""
        try:
            return call.checked(CONTRACT)
        except ApiError:
            verdict = call.verdict
            if verdict is None or verdict.valid:
                raise
            emulator = call.emulator
            detailed = partners.explain(
                emulator.contracts.schema(CONTRACT),
                call.json(),
                lenient=emulator.config.mode == LENIENT,
            )
            if not detailed:
                raise
            verdict.errors = detailed
            raise call.envelope.invalid(CONTRACT, verdict) from None
