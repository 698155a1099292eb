"""The one error type, and the envelopes that render it.

Anything under a handler that ends a request with an answer other than success raises
`ApiError`: an authentication failure, a body that is not JSON or breaks its contract, a domain
rule (a stopped export, an unknown cursor). The pipeline renders it once, through the `Envelope`
of the API that was called, so each platform API answers in its own shape without a handler ever
building an error response itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from emulator.core.contracts import ContractError, Verdict
from emulator.core.jsonresp import JSONResponse

if TYPE_CHECKING:
    from emulator.core.call import Call


class ApiError(Exception):
    """An answer other than success.

    `code` is the platform's error code where it has one (`BAD_REQUEST`, `LOOKUP_ERROR`,
    `invalid_request`); `problems` are the contract errors behind a 400, for envelopes that list
    them all; `retry_after` becomes a `Retry-After` header.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        problems: Sequence[ContractError] = (),
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.problems = list(problems)
        self.retry_after = retry_after
        # Further answer headers the platform documents (mParticle's X-mp-rate-limit-exceeded).
        self.headers = dict(headers or {})

    @property
    def messages(self) -> list[str]:
        """One message per contract problem (`$.path: message`), else the message alone."""
        if self.problems:
            return [f"{p.path}: {p.message}" for p in self.problems]
        return [self.message]

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.message!r}, code={self.code!r})"


class Envelope:
    """How one platform API words and shapes its errors.

    Subclasses implement `content` (the JSON of the answer) and may override the wording of a
    body that is not JSON or breaks its contract; `render` adds the status and `Retry-After`.
    `reasons` are the platform's own texts per status, for an answer with no message of its
    own (a fault rule without `message`); other statuses take the standard reason phrase.
    """

    malformed: str = "Malformed request"
    malformed_code: str | None = None
    invalid_code: str | None = None
    reasons: dict[int, str] = {}

    def reason(self, status: int) -> str:
        """The platform's text for `status` (docs/error-shapes.md)."""
        if status in self.reasons:
            return self.reasons[status]
        try:
            return HTTPStatus(status).phrase
        except ValueError:
            return "Error"

    def render(self, error: ApiError, call: Call | None = None) -> JSONResponse:
        response = JSONResponse(self.content(error, call), status_code=error.status)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        response.headers.update(error.headers)
        return response

    def content(self, error: ApiError, call: Call | None) -> Any:
        raise NotImplementedError

    def not_json(self, reason: str) -> ApiError:
        """The body could not be parsed (`reason` is the parser's message)."""
        return ApiError(400, self.malformed, code=self.malformed_code)

    def too_deep(self, limit: int) -> ApiError:
        """The body nests deeper than `limit` levels (`emulator.core.nesting`)."""
        return ApiError(
            400,
            f"The body is nested deeper than {limit} levels.",
            code=self.invalid_code or self.malformed_code,
        )

    def invalid(self, contract: str, verdict: Verdict) -> ApiError:
        """The body breaks `contract`: the first problem is the message, all are attached."""
        first = verdict.errors[0]
        return ApiError(
            400,
            f"{first.path}: {first.message}",
            code=self.invalid_code,
            problems=verdict.errors,
        )
