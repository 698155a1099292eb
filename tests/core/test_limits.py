"""Resource bounds (issue 12, items 15, 16, 21): the journal's byte bound, request bodies refused
while they arrive, header size, slow clients and the connection cap."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from emulator.config import Config
from emulator.core.journal import ENTRY_OVERHEAD, Journal, JournalFilter, weight
from emulator.server import ThreadedServer
from emulator.testing import EmulatorClient
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.clevertap import ct_fail, ct_headers, event_record
from tests.drivers.defaults import WEB_KEY
from tests.drivers.mparticle import tiny_batch
from tests.drivers.wire import closed_by_server, connect, read_answer, request_head

BODY_CAP = 4096
CONTROL_CAP = 8192
TIMEOUT = 1.0
# How long a test waits for what should take TIMEOUT: generous, the machine may be loaded.
PATIENCE = 15.0


@pytest.fixture(scope="module")
def tight_server() -> Iterator[str]:
    """An emulator with small bounds and one-second timeouts."""
    config = Config.defaults(
        port=0,
        log_requests=False,
        journal_bytes=40_000,
        max_body_bytes=BODY_CAP,
        max_control_body_bytes=CONTROL_CAP,
        max_header_bytes=4096,
        header_timeout=TIMEOUT,
        body_timeout=TIMEOUT,
    )
    with ThreadedServer(config) as server:
        yield server.url


@pytest.fixture
def tight(tight_server: str) -> Iterator[EmulatorClient]:
    with EmulatorClient(tight_server) as client:
        client.reset()
        yield client


@pytest.fixture
def tight_http(tight_server: str, tight: EmulatorClient) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tight_server, timeout=PATIENCE) as client:
        yield client


# -- item 15: the journal is bounded by bytes too ----------------------------------------------


def entry(tenant: str, body: str) -> dict[str, object]:
    return {"seq": 0, "tenant": tenant, "body": body}


def test_heavy_entries_push_the_oldest_out_and_count_them() -> None:
    journal = Journal(capacity=1000, max_bytes=5 * (ENTRY_OVERHEAD + 10_100))
    for i in range(12):
        journal.append(entry("t", f"{i:02d}" + "x" * 10_000))
    stats = journal.stats()
    assert stats["size"] == 5
    assert stats["dropped"] == 7
    assert stats["bytes"] <= stats["max_bytes"]
    assert [e["body"][:2] for e in journal.select(JournalFilter())] == [
        "07",
        "08",
        "09",
        "10",
        "11",
    ]


def test_an_entry_heavier_than_the_bound_is_still_kept_alone() -> None:
    journal = Journal(capacity=10, max_bytes=2000)
    journal.append(entry("t", "small"))
    journal.append(entry("t", "y" * 5000))
    assert [len(e["body"]) for e in journal.select(JournalFilter())] == [5000]
    assert journal.stats()["dropped"] == 1


def test_clearing_a_tenant_gives_its_bytes_back() -> None:
    journal = Journal(capacity=10, max_bytes=1_000_000)
    kept = journal.append(entry("a", "x" * 100))
    journal.append(entry("b", "y" * 50_000))
    journal.clear(["b"])
    assert journal.stats()["bytes"] == weight(kept)


def test_restoring_into_a_smaller_byte_bound_keeps_the_newest() -> None:
    saved = Journal(capacity=100, max_bytes=10_000_000)
    for i in range(10):
        saved.append(entry("t", f"{i}" + "z" * 3000))
    small = Journal(capacity=100, max_bytes=3 * (ENTRY_OVERHEAD + 3100))
    small.restore(saved.snapshot())
    assert [e["body"][0] for e in small.select(JournalFilter())] == ["7", "8", "9"]
    assert small.stats()["dropped"] == 7
    assert small.last_seq == 10


def test_health_shows_the_journal_bytes_and_what_fell_off(
    tight: EmulatorClient, tight_http: httpx.Client
) -> None:
    ct = CleverTapDriver(tight_http)
    for i in range(20):
        ct.post("/1/upload?dryRun=1", {"d": [event_record(f"u{i}", "e", note="n" * 3000)]})
    journal = tight.health()["journal"]
    assert journal["max_bytes"] == 40_000
    assert 0 < journal["bytes"] <= 40_000
    assert journal["size"] < 20
    assert journal["dropped"] == 20 - journal["size"]
    kept = tight.requests()
    assert [e["seq"] for e in kept] == list(range(21 - len(kept), 21))


# -- item 16: bodies over their limit, refused while they arrive ------------------------------


def test_mparticle_refuses_a_500_mb_body_from_its_length_without_reading_it(
    emulator: EmulatorHandle,
) -> None:
    headers = {**emulator.mparticle_headers, "Content-Length": "500000000"}
    head = request_head(emulator.url, "POST", "/v2/events", headers)
    with connect(emulator.url) as sock:
        sock.sendall(head + b'{"events": [')  # the rest never comes: the answer must not wait
        answer = read_answer(sock)
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    assert json.loads(body) == {
        "errors": [
            {"code": "REQUEST_ENTITY_TOO_LARGE", "message": "Request body exceeds 262144 bytes."}
        ]
    }
    [logged] = emulator.client.requests()
    assert (logged["status"], logged["body_size"], logged["body_truncated"]) == (
        413,
        500_000_000,
        True,
    )
    assert logged["error"] == "Request body exceeds 262144 bytes."


def test_a_streamed_body_over_the_cap_is_refused_in_clevertaps_envelope(
    tight: EmulatorClient, tight_http: httpx.Client
) -> None:
    chunks = (b'{"d": [' + b" " * 1000 for _ in range(100))  # chunked: no Content-Length
    response = tight_http.post("/1/upload", content=chunks, headers=ct_headers())
    assert response.status_code == 413
    assert response.json() == ct_fail(413, f"Request body exceeds {BODY_CAP} bytes.")
    assert response.headers["connection"] == "close"
    [logged] = tight.requests()
    assert logged["status"] == 413 and logged["body_truncated"] is True
    assert BODY_CAP < logged["body_size"] < 100 * 1007  # what arrived before the refusal


def test_idsync_over_the_cap_is_413_in_its_envelope(tight_http: httpx.Client) -> None:
    response = tight_http.post(
        "/v1/identify", content=b"x" * (BODY_CAP + 1), headers={"x-mp-key": WEB_KEY}
    )
    assert response.status_code == 413
    assert response.json()["Errors"] == [
        {"code": "REQUEST_ENTITY_TOO_LARGE", "message": f"Request body exceeds {BODY_CAP} bytes."}
    ]


def test_web_sdk_batch_over_256_kb_is_413_with_cors_headers(http: httpx.Client) -> None:
    origin = "http://localhost:3000"
    response = http.post(
        f"/v3/JS/{WEB_KEY}/events", content=b"x" * (256 * 1024 + 1), headers={"Origin": origin}
    )
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == origin
    assert response.json()["errors"][0]["code"] == "REQUEST_ENTITY_TOO_LARGE"


def test_a_body_at_the_cap_is_accepted(tight: EmulatorClient, tight_http: httpx.Client) -> None:
    raw = json.dumps({"d": [event_record("u1", "e")]}).encode()
    raw = raw[:-1] + b" " * (BODY_CAP - len(raw)) + b"}"
    assert len(raw) == BODY_CAP
    response = tight_http.post("/1/upload", content=raw, headers=ct_headers())
    assert response.status_code == 200, response.text


def test_a_control_body_over_its_cap_is_413_and_changes_nothing(
    tight: EmulatorClient, tight_http: httpx.Client
) -> None:
    MParticleDriver(tight_http).post(tiny_batch())
    document = tight.state()
    document["padding"] = "p" * CONTROL_CAP
    response = tight.http.put("/state", json=document)
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "too_large", "message": f"Request body exceeds {CONTROL_CAP} bytes."}
    }
    assert len(ControlViews(tight).mp_batches()) == 1


def test_a_body_slower_than_the_timeout_is_408_and_journaled(
    tight: EmulatorClient, tight_server: str
) -> None:
    head = request_head(
        tight_server, "POST", "/1/upload", {**ct_headers(), "Content-Length": "100"}
    )
    with connect(tight_server, timeout=PATIENCE) as sock:
        sock.sendall(head + b'{"d": [')
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    message = f"The request body did not arrive within {TIMEOUT:g} seconds."
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == ct_fail(408, message)
    [logged] = tight.requests()
    assert (logged["status"], logged["body"], logged["body_size"]) == (408, '{"d": [', 100)


def test_headers_over_the_limit_are_431_and_the_connection_closed(tight_server: str) -> None:
    head = request_head(tight_server, "GET", "/_emulator/health", {"X-Big": "b" * 5000})
    with connect(tight_server, timeout=PATIENCE) as sock:
        sock.sendall(head)
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


def test_headers_just_under_the_limit_are_served(tight_http: httpx.Client) -> None:
    response = tight_http.get("/_emulator/health", headers={"X-Big": "b" * 3500})
    assert response.status_code == 200


# -- item 21: slow clients and the connection cap ---------------------------------------------


def test_200_slow_header_clients_neither_block_others_nor_stay(
    tight: EmulatorClient, tight_server: str
) -> None:
    partial = request_head(tight_server, "GET", "/_emulator/health", {})[:-2]  # no blank line
    slow = [connect(tight_server, timeout=PATIENCE) for _ in range(200)]
    try:
        for sock in slow:
            sock.sendall(partial)
        # A normal client is served while they hang (the client's own timeout is the bound).
        with httpx.Client(base_url=tight_server, timeout=PATIENCE) as client:
            assert client.get("/_emulator/health").status_code == 200
        assert all(closed_by_server(sock, PATIENCE) for sock in slow)
    finally:
        for sock in slow:
            sock.close()


def test_an_idle_connection_that_sends_nothing_is_closed(tight_server: str) -> None:
    with connect(tight_server) as sock:
        assert closed_by_server(sock, PATIENCE)


@pytest.fixture(scope="module")
def capped_server() -> Iterator[str]:
    config = Config.defaults(port=0, log_requests=False, max_connections=20, header_timeout=60)
    with ThreadedServer(config) as server:
        yield server.url


def test_connections_past_the_cap_are_closed_at_once(capped_server: str) -> None:
    idle = [connect(capped_server) for _ in range(20)]
    try:
        # Each has reached the server once one of them answers: a request on the 20th.
        idle[-1].sendall(request_head(capped_server, "GET", "/_emulator/health", {}))
        assert idle[-1].recv(12) == b"HTTP/1.1 200"
        with connect(capped_server) as extra:
            assert closed_by_server(extra, PATIENCE)
    finally:
        for sock in idle:
            sock.close()
    # Below the cap again, clients are served.
    assert _served(capped_server)


def _served(url: str) -> bool:
    for _ in range(50):  # the server sees the closes a moment after they happen
        try:
            with httpx.Client(base_url=url, timeout=PATIENCE) as client:
                return client.get("/_emulator/health").status_code == 200
        except httpx.TransportError:
            time.sleep(0.1)
    return False
