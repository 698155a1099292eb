"""The request objects handlers get: `Call` for platform operations, `ControlCall` for the
control API."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from emulator.core.contracts import Verdict
from emulator.core.errors import ApiError, Envelope
from emulator.core.jsonresp import JSONDecodeError
from emulator.core.nesting import NestingError, parse

if TYPE_CHECKING:
    from emulator.runtime import Emulator

# The platform request being handled (set by the pipeline): listener failures are attached to
# its journal entry.
current_call: ContextVar[Call | None] = ContextVar("current_call", default=None)

_UNPARSED: Any = object()

# The emulator's own flows (emulator/bridge/delivery.py) mark their requests so the journal can
# tell them from a client's (`origin`): in-process by this ASGI scope key, over HTTP (a
# connection's `base_url`) by their user agent.
FLOW_SCOPE_KEY = "ctmp.origin"
FLOW_USER_AGENT = "ctmp-emulator-bridge"
# Set by the pipeline on the request's scope: the journal entry's `seq`.
JOURNAL_SEQ_KEY = "ctmp.seq"
# The delivery an in-process flow request carries (its journal entry links to it).
DELIVERY_SCOPE_KEY = "ctmp.delivery"


def link(kind: str, tenant: str, ident: str | int) -> None:
    """Note on the request being handled (if any) that it touched `kind` `ident` of `tenant`
    (an mParticle user, a delivery): its journal entry links there. One list append."""
    call = current_call.get()
    if call is not None:
        call.links.append((kind, tenant, ident))


def request_origin(request: Request) -> str:
    """`flow` for a request a flow made, else `client`."""
    if request.scope.get(FLOW_SCOPE_KEY) == "flow":
        return "flow"
    return "flow" if request.headers.get("user-agent") == FLOW_USER_AGENT else "client"


class Call:
    """One platform request on its way through the pipeline.

    Handlers read the body through `json()` (parsed once) or `checked()` (parsed and held to a
    contract, the verdict kept for the journal). The parsed body is the handler's to keep: the
    journal holds the raw bytes.
    """

    __slots__ = (
        "_json",
        "body",
        "emulator",
        "envelope",
        "links",
        "listener_errors",
        "notes",
        "parts",
        "path",
        "receipt",
        "refusal",
        "request",
        "tenant",
        "verdict",
    )

    def __init__(
        self, request: Request, body: bytes, emulator: Emulator, envelope: Envelope
    ) -> None:
        self.request = request
        # The request path, without building Starlette's URL object (a cost on every call).
        self.path: str = request.scope.get("root_path", "") + request.scope["path"]
        self.body = body
        self.emulator = emulator
        # How the operation answers errors: `json()` and `checked()` word theirs with it.
        self.envelope = envelope
        self.tenant: str | None = None
        self.verdict: Verdict | None = None
        self.notes: list[str] = []
        # One verdict per independent part of a request that takes some parts and refuses
        # others (an Events API bulk request's batches), for the journal.
        self.parts: list[dict[str, Any]] = []
        self.listener_errors: list[str] = []
        # Made on demand (`journal_receipt`): filled with the journal entry's `seq` once the
        # request is journaled, so what a handler stored can name the request that carried it.
        self.receipt: dict[str, int] | None = None
        self.links: list[tuple[str, str, str | int]] = []
        # Why the handler refused the request (its `ApiError`), for the log line.
        self.refusal: str | None = None
        self._json: Any = _UNPARSED

    def journal_receipt(self) -> dict[str, int]:
        """A dict the pipeline fills with this request's journal `seq` after the handler ran
        (empty until then): store it with what the request made."""
        if self.receipt is None:
            self.receipt = {}
        return self.receipt

    @property
    def parsed(self) -> bool:
        """Whether the body was parsed as JSON successfully."""
        return self._json is not _UNPARSED and not isinstance(self._json, ApiError)

    def parsed_or_none(self) -> Any:
        """The parsed body if a handler parsed it successfully, else None."""
        return self._json if self.parsed else None

    def json(self) -> Any:
        """The body as JSON; `ApiError` (the envelope's 'malformed' answer) when it is not, or
        when it nests deeper than the configured limit."""
        if self._json is _UNPARSED:
            try:
                self._json = self.parse(self.body)
            except ApiError as refused:
                self._json = refused
        if isinstance(self._json, ApiError):
            raise self._json
        return self._json

    def parse(self, raw: bytes | str) -> Any:
        """`raw` (the body, or JSON in a query parameter) parsed under the nesting limit; the
        envelope's `ApiError` when it is not JSON or nests too deep."""
        try:
            return parse(raw, self.emulator.config.max_json_depth)
        except NestingError as exc:
            raise self.envelope.too_deep(exc.limit) from None
        except JSONDecodeError as exc:
            raise self.envelope.not_json(str(exc)) from None

    def validate(self, contract: str, instance: Any) -> Verdict:
        """Hold `instance` to `contract` and keep the verdict for the journal (no raising)."""
        emulator = self.emulator
        self.verdict = emulator.contracts.validate(contract, instance, emulator.config.mode)
        return self.verdict

    def checked(self, contract: str, *, optional: bool = False) -> Any:
        """The JSON body, held to `contract`: parse, validate, and raise the envelope's answer
        naming the first problem. `optional`: an empty body is `{}`."""
        if optional and not self.body.strip():
            return {}
        body = self.json()
        verdict = self.validate(contract, body)
        if not verdict.valid:
            raise self.envelope.invalid(contract, verdict)
        return body

    def query(self, name: str) -> str | None:
        if not self.request.scope.get("query_string"):
            return None  # most requests have none: no parse
        return self.request.query_params.get(name)

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])


class ControlCall:
    """One control API request: its typed query (checked against the operation's parameters)
    and its body (checked against the operation's contract); `authenticated`: it carries the
    admin token, or there is none (only health answers without it)."""

    __slots__ = ("authenticated", "body", "query", "request")

    def __init__(
        self, request: Request, query: dict[str, Any], body: Any, authenticated: bool = True
    ) -> None:
        self.request = request
        self.query = query
        self.body = body
        self.authenticated = authenticated

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])
