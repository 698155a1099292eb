"""Data subject requests (OpenDSR) over HTTP: v1 (OpenGDPR) `/v1/opengdpr_requests`, v2 and v3
`/requests`, each with status, cancel and `/discovery`, and the processor certificate and access
results those answers link to (https://docs.mparticle.com/developers/apis/dsr-api/v1/, /v2/,
/v3/). Basic auth with a server input's key and secret; errors in OpenDSR's envelope
(access.py `DSR`). The requests themselves are in dsr.py and subject_requests.py."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.core.call import Call
from emulator.core.jsonresp import JSONResponse, dumps
from emulator.core.operations import Param, operation
from emulator.core.security import delivery_problem
from emulator.mparticle import dsr
from emulator.mparticle.dsr_limits import DsrLimits
from emulator.mparticle.handlers.access import DSR, Access
from emulator.mparticle.state import MParticleState
from emulator.mparticle.subject_requests import signer

TAGS = ["mParticle OpenDSR"]
BASIC = ["mparticleBasic"]
ERROR = "mparticle/dsr-error"
CERTIFICATE_PATH = "/dsr/opendsr_cert.pem"
PEM = "application/x-pem-file"
RESULTS_PATH = "/dsr/results/{token}"
ID = Param("subject_request_id", "path", {"type": "string"}, required=True)
GROUP = Param("group_id", "query", {"type": "string"}, description="the group's requests only")
SUBMIT_ANSWERS: dict[int, str | None] = {
    201: "mparticle/dsr-submitted",
    400: ERROR,
    401: ERROR,
    409: ERROR,
    429: ERROR,
}
STATUS_ANSWERS: dict[int, str | None] = {
    200: "mparticle/dsr-status",
    401: ERROR,
    404: ERROR,
    429: ERROR,
}
CANCEL_ANSWERS: dict[int, str | None] = {
    200: "mparticle/dsr-submitted",
    400: ERROR,
    401: ERROR,
    404: ERROR,
    429: ERROR,
}


def _base(call: Call) -> str:
    return str(call.request.base_url).rstrip("/")


class OpenDsr:
    def __init__(self, access: Access, state: MParticleState, limits: DsrLimits) -> None:
        self.access = access
        self.state = state
        self.limits = limits

    def _enter(self, call: Call, submit: bool = False) -> dsr.Requests:
        """The caller's workspace's requests, moved on to the clock's now, once the call is
        within the workspace's OpenDSR limits (dsr_limits.py)."""
        workspace_id = self.access.dsr_workspace(call)
        call.tenant = workspace_id
        now = self.state.clock.now()
        self.limits.admit(workspace_id, now, *self.access.dsr_limits(workspace_id), submit)
        self.state.dsr.tick(now)
        return self.state.dsr.of(workspace_id)

    def _submit(self, call: Call, version: int) -> Response:
        requests = self._enter(call, submit=True)
        body = call.checked(f"mparticle/dsr-request-v{version}")
        allowed = call.emulator.config.allowed_delivery_hosts
        for url in body.get("status_callback_urls") or ():
            problem = delivery_problem(url, allowed)
            if problem is not None:
                raise dsr.DsrError(400, "status_callback_urls: " + problem.replace("base_url ", ""))
        now = self.state.clock.now()
        request = requests.submit(version, body, call.body, now, _base(call))
        self.limits.submitted(call.tenant or "", now)
        call.emulator.changes += 1
        answer = dsr.Requests.submitted(request, call.tenant or "")
        return JSONResponse(answer, status_code=201, headers=signer().headers(dumps(answer)))

    def _status(self, call: Call) -> dict[str, Any]:
        request = self._enter(call).get(call.path_param("subject_request_id"))
        return dsr.Requests.status(request, call.tenant or "", _base(call))

    def _cancel(self, call: Call) -> dict[str, Any]:
        requests = self._enter(call)
        request = requests.cancel(call.path_param("subject_request_id"), self.state.clock.now())
        call.emulator.changes += 1
        return dsr.Requests.cancelled(request, call.tenant or "")

    def _discovery(self, call: Call, version: int) -> dict[str, Any]:
        self._enter(call)
        kinds = list(dsr.IDENTITY_KEYS) + (list(dsr.EXTENSION_KEYS) if version > 1 else [])
        return {
            "api_version": f"{version}.0",
            "supported_identities": [{"identity_type": k, "identity_format": "raw"} for k in kinds],
            "supported_subject_request_types": list(dsr.REQUEST_TYPES),
            "processor_certificate": _base(call) + CERTIFICATE_PATH,
        }

    # -- v1 (OpenGDPR) ---------------------------------------------------------------------
    @operation(
        "POST",
        "/v1/opengdpr_requests",
        summary="Submit a data subject request (OpenGDPR v1)",
        request="mparticle/dsr-request-v1",
        responses=SUBMIT_ANSWERS,
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def submit_v1(self, call: Call) -> Response:
        return self._submit(call, 1)

    @operation(
        "POST",
        "/v2/requests",
        "/v2/requests/",
        summary="Submit a data subject request (OpenDSR v2)",
        request="mparticle/dsr-request-v2",
        responses=SUBMIT_ANSWERS,
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def submit_v2(self, call: Call) -> Response:
        return self._submit(call, 2)

    @operation(
        "POST",
        "/v3/requests",
        "/v3/requests/",
        summary="Submit a data subject request (OpenDSR v3)",
        request="mparticle/dsr-request-v3",
        responses=SUBMIT_ANSWERS,
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def submit_v3(self, call: Call) -> Response:
        return self._submit(call, 3)

    @operation(
        "GET",
        "/v1/opengdpr_requests/{subject_request_id}",
        "/v2/requests/{subject_request_id}",
        "/v3/requests/{subject_request_id}",
        summary="A data subject request's status",
        params=[ID],
        responses=STATUS_ANSWERS,
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def status(self, call: Call) -> dict[str, Any]:
        return self._status(call)

    @operation(
        "DELETE",
        "/v1/opengdpr_requests/{subject_request_id}",
        "/v2/requests/{subject_request_id}",
        "/v3/requests/{subject_request_id}",
        summary="Cancel a pending data subject request",
        params=[ID],
        responses=CANCEL_ANSWERS,
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def cancel(self, call: Call) -> dict[str, Any]:
        return self._cancel(call)

    @operation(
        "GET",
        "/v2/requests",
        "/v2/requests/",
        "/v3/requests",
        "/v3/requests/",
        summary="The workspace's data subject requests (of one group with `group_id`)",
        params=[GROUP],
        responses={200: "mparticle/dsr-status-list", 401: ERROR, 429: ERROR},
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def group(self, call: Call) -> Response:
        requests = self._enter(call)
        group = call.query("group_id")
        base = _base(call)
        return JSONResponse(
            [
                dsr.Requests.status(r, call.tenant or "", base)
                for r in requests.items.values()
                if r["version"] >= 2 and group in (None, r["group_id"])
            ]
        )

    @operation(
        "GET",
        "/v1/discovery",
        summary="OpenGDPR v1 discovery: identities, request types, the processor certificate",
        responses={200: "mparticle/dsr-discovery", 401: ERROR, 429: ERROR},
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def discovery_v1(self, call: Call) -> dict[str, Any]:
        return self._discovery(call, 1)

    @operation(
        "GET",
        "/v2/discovery",
        "/v2/discovery/",
        summary="OpenDSR v2 discovery: identities, request types, the processor certificate",
        responses={200: "mparticle/dsr-discovery", 401: ERROR, 429: ERROR},
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def discovery_v2(self, call: Call) -> dict[str, Any]:
        return self._discovery(call, 2)

    @operation(
        "GET",
        "/v3/discovery",
        "/v3/discovery/",
        summary="OpenDSR v3 discovery: identities, request types, the processor certificate",
        responses={200: "mparticle/dsr-discovery", 401: ERROR, 429: ERROR},
        security=BASIC,
        tags=TAGS,
        envelope=DSR,
    )
    async def discovery_v3(self, call: Call) -> dict[str, Any]:
        return self._discovery(call, 3)

    # -- what the answers link to (no credentials: a signed download link's part) ----------------
    @operation(
        "GET",
        CERTIFICATE_PATH,
        summary="The processor's signing certificate (self-signed X.509, PEM)",
        responses={200: None},
        response_media=(PEM,),
        tags=TAGS,
        envelope=DSR,
    )
    async def certificate(self, call: Call) -> Response:
        return Response(signer().certificate_pem, media_type=PEM)

    @operation(
        "GET",
        RESULTS_PATH,
        summary="An access or portability request's results (the status's `results_url`)",
        params=[Param("token", "path", {"type": "string"}, required=True)],
        responses={200: None, 404: ERROR},
        tags=TAGS,
        envelope=DSR,
    )
    async def results(self, call: Call) -> Response:
        token = call.path_param("token")
        for workspace_id, requests in self.state.dsr.workspaces.items():
            for request in requests.items.values():
                if request["results_token"] == token:
                    call.tenant = workspace_id
                    return JSONResponse(request["result"])
        raise dsr.DsrError(404, "No results at this address.", "NotFoundException")
