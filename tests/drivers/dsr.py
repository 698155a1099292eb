"""mParticle's data subject requests (OpenDSR) as a client calls them: v1
`/v1/opengdpr_requests`, v2 and v3 `/requests`, status, cancel and discovery, with the
workspace's s2s key and secret; the requests tests send; and a status-callback receiver that
keeps what arrives and checks its signature against the processor certificate."""

from __future__ import annotations

import base64
import http.server
import threading
import uuid
from types import TracebackType
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.drivers.defaults import S2S

SUBMIT_PATHS = {1: "/v1/opengdpr_requests", 2: "/v2/requests", 3: "/v3/requests"}
STATUS_PATHS = {1: "/v1/opengdpr_requests/", 2: "/v2/requests/", 3: "/v3/requests/"}


def dsr_request(
    version: int,
    kind: str = "erasure",
    identities: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A request in the version's shape: v1/v2 identities as an array, v3 as a map; v2/v3
    carry `regulation` (gdpr); `extra` is merged in (e.g. status_callback_urls, extensions)."""
    identities = identities or {"email": "jane@example.com"}
    body: dict[str, Any] = {
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": kind,
        "submitted_time": "2026-01-01T00:00:00Z",
        "api_version": f"{version}.0",
    }
    if version == 3:
        body["subject_identities"] = {
            k: {"value": v, "encoding": "raw"} for k, v in identities.items()
        }
    else:
        body["subject_identities"] = [
            {"identity_type": k, "identity_value": v, "identity_format": "raw"}
            for k, v in identities.items()
        ]
    if version > 1:
        body["regulation"] = "gdpr"
    return {**body, **extra}


def skip_waiting() -> dict[str, Any]:
    return {"extensions": {"opendsr.mparticle.com": {"skip_waiting_period": True}}}


def verify(certificate_pem: bytes, body: bytes, signature: str) -> bool:
    """Whether `signature` (base64 RSA-SHA256) over `body` verifies with the certificate."""
    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


class DsrDriver:
    """OpenDSR on the session's HTTP client with the workspace's Basic credentials."""

    def __init__(self, http: httpx.Client, auth: tuple[str, str] = S2S) -> None:
        self.http = http
        self.auth = auth

    def submit(
        self, version: int, body: Any, auth: tuple[str, str] | None = None
    ) -> httpx.Response:
        return self.http.post(SUBMIT_PATHS[version], json=body, auth=auth or self.auth)

    def submitted(self, version: int, body: dict[str, Any]) -> dict[str, Any]:
        """Submit; must be 201; answers its body."""
        response = self.submit(version, body)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def status(self, version: int, request_id: str) -> httpx.Response:
        return self.http.get(STATUS_PATHS[version] + request_id, auth=self.auth)

    def request_status(self, version: int, request_id: str) -> str:
        response = self.status(version, request_id)
        assert response.status_code == 200, response.text
        status: str = response.json()["request_status"]
        return status

    def cancel(self, version: int, request_id: str) -> httpx.Response:
        return self.http.delete(STATUS_PATHS[version] + request_id, auth=self.auth)

    def group(self, version: int, group_id: str) -> httpx.Response:
        return self.http.get(SUBMIT_PATHS[version], params={"group_id": group_id}, auth=self.auth)

    def discovery(self, version: int) -> dict[str, Any]:
        response = self.http.get(f"/v{version}/discovery", auth=self.auth)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def certificate(self, version: int = 3) -> bytes:
        """The PEM the discovery document's `processor_certificate` names."""
        response = self.http.get(self.discovery(version)["processor_certificate"])
        assert response.status_code == 200, response.text
        return response.content


class CallbackReceiver:
    """A loopback HTTP server that keeps each POST (path, headers, raw body, the status it
    answered): 503 to the first `failures`, then 202."""

    def __init__(self, failures: int = 0) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                status = 503 if len(received) < failures else 202
                received.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": body,
                        "status": status,
                    }
                )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/opendsr/callbacks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
