"""The control API a web page cannot drive (issue 12, items 17 to 20; docs/architecture.md,
"Control API security"): no cross-site writes (CSRF), no reads through a rebound DNS name, no
deliveries to foreign hosts, faults and the journal see only authenticated tenants, and the
token, data file and health give nothing away."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from emulator.config import Config
from emulator.core.security import HostPolicy, allowed_origin
from emulator.server import ThreadedServer
from emulator.testing.client import EmulatorClient
from emulator.testing.defaults import basic_auth
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.clevertap import event_record
from tests.drivers.defaults import ACCOUNT, CONNECTION, WEB_KEY, WORKSPACE
from tests.drivers.mparticle import custom_event, mp_batch

if TYPE_CHECKING:
    from tests.conftest import RunEmulator

EVIL = "http://evil.example"
JSON = "application/json"


def _refused(response: httpx.Response, status: int, code: str) -> None:
    """The control envelope's refusal, with a message saying why."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"], error


Serve = Callable[..., EmulatorClient]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve(token=, **config)`: an emulator of its own with these settings (and `token` as
    its admin token), as its control client holding the token."""
    started: list[tuple[ThreadedServer, EmulatorClient]] = []

    def start(token: str | None = None, **settings: Any) -> EmulatorClient:
        config = Config.defaults(port=0, seed=5, log_requests=False, admin_token=token, **settings)
        server = ThreadedServer(config).start()
        client = EmulatorClient(server.url, token=token)
        started.append((server, client))
        return client

    try:
        yield start
    finally:
        for server, client in started:
            client.close()
            server.stop()


# -- 17: cross-site requests ---------------------------------------------------------------------


def test_a_text_plain_post_from_a_foreign_origin_changes_nothing(
    ctl: httpx.Client, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(event_record("u1", "Charged"))
    views.freeze(1_700_000_000)
    page = {"Origin": EVIL, "Content-Type": "text/plain"}
    attacker = views.connection()
    attacker["event_output"] = {"base_url": "http://evil.example"}
    writes = [
        ("POST", "/reset", ""),
        ("POST", "/faults", json.dumps({"status": 500})),
        ("POST", "/clock/advance", json.dumps({"seconds": 86400})),
        ("PUT", f"/tenants/{CONNECTION}", json.dumps(attacker)),
        ("PUT", "/state", json.dumps({})),
    ]
    for method, path, body in writes:
        answer = ctl.request(method, path, content=body, headers=page)
        _refused(answer, 403, "origin_not_allowed")
        # Declared JSON does not help a foreign page either (and needs a preflight it fails).
        answer = ctl.request(method, path, content=body, headers={**page, "Content-Type": JSON})
        _refused(answer, 403, "origin_not_allowed")
    assert len(views.ct_events()) == 1
    assert views.faults() == []
    assert views.get("/clock")["now"] == 1_700_000_000
    assert "base_url" not in views.connection()["event_output"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_control_writes_must_be_json(
    ctl: httpx.Client, views: ControlViews, content_type: str
) -> None:
    body = json.dumps({"status": 503}).encode()
    answer = ctl.post("/faults", content=body, headers={"Content-Type": content_type})
    _refused(answer, 415, "unsupported_media_type")
    _refused(ctl.post("/faults", content=body), 415, "unsupported_media_type")  # no type at all
    assert views.faults() == []
    # JSON with parameters, and a write without a body (as `curl -X POST` sends it), pass.
    typed = {"Content-Type": f"{JSON}; charset=utf-8"}
    assert ctl.post("/faults", content=body, headers=typed).status_code == 201
    assert ctl.post("/reset").status_code == 200


def test_loopback_origins_and_the_emulators_own_may_drive_it(
    ctl: httpx.Client, views: ControlViews
) -> None:
    for origin in ("http://localhost:3000", "http://127.0.0.1:5173", "https://app.localhost"):
        answer = ctl.post("/clock/advance", json={"seconds": 1}, headers={"Origin": origin})
        assert answer.status_code == 200, (origin, answer.text)
    _refused(ctl.get("/state", headers={"Origin": "null"}), 403, "origin_not_allowed")
    _refused(ctl.get("/state", headers={"Origin": "http://["}), 403, "origin_not_allowed")
    policy = HostPolicy("0.0.0.0", None)
    assert allowed_origin("http://emulator:8787", "emulator:8787", policy)  # a UI it serves
    assert not allowed_origin("http://emulator:8787", "localhost:8787", policy)
    assert allowed_origin("http://ui.test", "x", HostPolicy("127.0.0.1", ["ui.test"]))
    assert not allowed_origin(EVIL, "x", HostPolicy("0.0.0.0", ["*"]))  # any Host, not any page


def test_the_web_sdk_still_answers_foreign_pages(http: httpx.Client, views: ControlViews) -> None:
    batch = mp_batch(custom_event("page view"), customer_id="c1")
    answer = http.post(
        f"/v3/JS/{WEB_KEY}/events",
        content=json.dumps(batch).encode(),
        headers={"Origin": EVIL, "Content-Type": "text/plain;charset=UTF-8", "Host": "shop.test"},
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["access-control-allow-origin"] == EVIL
    assert len(views.mp_batches()) == 1


def test_a_connection_delivers_to_loopback_only(ctl: httpx.Client, views: ControlViews) -> None:
    doc = views.connection()
    for flow in ("event_output", "audience_output", "feed"):
        # Not on loopback, not http(s), and URLs urlsplit refuses (a 500 once, schemathesis).
        bad = ("http://evil.example/collect", "https://10.0.0.8", "file:///etc/passwd")
        for url in (*bad, "http://[", "http://localhost:99999/"):
            doc[flow] = {**doc.get(flow, {}), "base_url": url}
            answer = ctl.put(f"/tenants/{CONNECTION}", json=doc)
            assert answer.status_code == 400, (flow, url, answer.text)
            assert "base_url" in answer.text, answer.text
            del doc[flow]["base_url"]
    assert "base_url" not in json.dumps(views.connection())
    views.configure(event_output={"base_url": "http://localhost:9"})
    views.configure(feed={"base_url": "http://[::1]:9/"})


def test_allowed_delivery_hosts_opens_a_host(serve: Serve) -> None:
    client = serve(allowed_delivery_hosts=["hooks.example.test"])
    doc = next(t for t in client.tenants() if t["id"] == CONNECTION)
    doc["event_output"] = {"base_url": "https://hooks.example.test/ct"}
    assert client.put_tenant(doc)["event_output"]["base_url"] == "https://hooks.example.test/ct"
    doc["event_output"] = {"base_url": "https://other.example.test/ct"}
    with pytest.raises(RuntimeError, match="allowed_delivery_hosts"):
        client.put_tenant(doc)


# -- 18: DNS rebinding -------------------------------------------------------------------------


def test_a_rebound_name_reads_nothing(ctl: httpx.Client, ct: CleverTapDriver) -> None:
    for host in ("attacker.example", "attacker.example:8787", "127.0.0.1.nip.io", "emulator"):
        answer = ctl.get("/state", headers={"Host": host})
        _refused(answer, 421, "host_not_allowed")
        assert "emu-passcode" not in answer.text
    for path in ("/openapi.json", "/health", "/no/such/operation"):
        _refused(ctl.get(path, headers={"Host": "attacker.example"}), 421, "host_not_allowed")
    for host in ("localhost:1", "127.0.0.1", "[::1]:8787", "app.localhost"):
        assert ctl.get("/state", headers={"Host": host}).status_code == 200, host
    # The platforms answer whatever name they are called by (proxies, the region hosts).
    ct.upload_ok(event_record("u1", "Charged"), headers={**ct.headers, "Host": "shop.test"})


def test_bound_beyond_loopback_other_containers_reach_it_by_service_name(serve: Serve) -> None:
    client = serve(host="0.0.0.0")
    for host in ("emulator:8787", "emulator", "172.17.0.3:8787", "localhost:8787"):
        assert client.http.get("/state", headers={"Host": host}).status_code == 200, host
    # A page in the host's browser rebinding its own name still sends that dotted name.
    for host in ("attacker.example:8787", "emulator.attacker.example"):
        answer = client.http.get("/state", headers={"Host": host})
        _refused(answer, 421, "host_not_allowed")


def test_allowed_hosts_replaces_the_default(serve: Serve) -> None:
    client = serve(host="0.0.0.0", allowed_hosts=["emulator.test", ".dev.test"])
    for host, status in [
        ("emulator.test:8787", 200),
        ("a.dev.test", 200),
        ("localhost", 200),
        ("emulator", 421),
        ("other.test", 421),
    ]:
        assert client.http.get("/health", headers={"Host": host}).status_code == status, host


def test_the_allowed_hosts_flag(run_emulator: RunEmulator, tmp_path: Path) -> None:
    from emulator.cli import _config, _parser

    args = _parser().parse_args(["serve", "--allowed-hosts", "emulator.test, .dev.test"])
    assert _config(args).allowed_hosts == ["emulator.test", ".dev.test"]
    config = tmp_path / "c.toml"
    config.write_text('[emulator]\nallowed_hosts = "emulator.test"\n')
    result = run_emulator("serve", "--port", "0", "--config", str(config))
    assert result.returncode == 2, result
    assert "allowed_hosts" in result.stderr


# -- 19: faults and the journal after authentication ---------------------------------------------


def test_an_unauthenticated_request_neither_fires_nor_consumes_a_tenants_fault(
    ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    views.add_fault(tenant=ACCOUNT, status=503, times=1)
    views.add_fault(tenant=WORKSPACE, status=503, times=1)
    impostor = ct.for_account(ACCOUNT, "wrong passcode")
    assert impostor.send(event_record("u1", "Charged")).status_code == 401
    assert mp.post(mp_batch(custom_event("x")), auth=("emu-s2s-key", "nope")).status_code == 403
    assert [f["remaining"] for f in views.faults()] == [1, 1]

    for entry in views.journal()["requests"]:
        assert (entry["tenant"], entry["authenticated"]) == (None, False), entry
    assert views.journal_count(tenant=ACCOUNT) == 0

    assert ct.send(event_record("u1", "Charged")).status_code == 503
    assert mp.post(mp_batch(custom_event("x"))).status_code == 503
    assert [f["remaining"] for f in views.faults()] == [0, 0]
    proven = views.journal(tenant=ACCOUNT)["requests"]
    assert [(e["status"], e["authenticated"], e["fault"]) for e in proven] == [
        (503, True, "fault-1")
    ]


def test_a_fault_without_a_tenant_still_fires_for_anyone(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    views.add_fault(platform="clevertap", status=503, times=1)
    impostor = ct.for_account(ACCOUNT, "wrong passcode")
    assert impostor.send(event_record("u1", "Charged")).status_code == 503


def test_a_profile_api_path_names_its_workspace_only_with_its_token(
    http: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    views.add_fault(tenant=WORKSPACE, status=503, times=1)
    path = f"/userprofile/v1/10/100/{WORKSPACE}/123"
    assert http.get(path, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert views.faults()[0]["remaining"] == 1
    answer = http.get(path, headers={"Authorization": f"Bearer {mp.token()}"})
    assert answer.status_code == 503, answer.text


def test_a_key_without_its_secret_names_no_workspace(
    mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send(mp_batch(custom_event("x")))
    unproven = mp.post(mp_batch(custom_event("x")), headers=basic_auth("emu-s2s-key", ""))
    assert unproven.status_code == 403, unproven.text
    entries = views.journal()["requests"]
    assert [(e["tenant"], e["authenticated"]) for e in entries] == [
        (WORKSPACE, True),
        (None, False),
    ]


# -- 20: the token, the data file, health ----------------------------------------------------


def test_an_empty_admin_token_is_refused(run_emulator: RunEmulator) -> None:
    for token in ("", "  "):
        result = run_emulator("serve", "--port", "0", "--admin-token", token)
        assert result.returncode == 2, result
        assert result.stderr.startswith("ctmp-emulator: "), result.stderr
        assert "admin_token must not be empty" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_data_file_is_readable_by_its_owner_only(serve: Serve, tmp_path: Path) -> None:
    data = tmp_path / "state.json"
    client = serve(data_file=data)
    saved = client.http.post("/state/save")
    assert saved.status_code == 200, saved.text
    assert "emu-passcode" in data.read_text()
    assert stat.S_IMODE(data.stat().st_mode) == 0o600


def test_health_shows_the_seed_only_to_the_token_holder(serve: Serve) -> None:
    holder = serve(token="s3cret")
    assert holder.health()["seed"] == 5
    with EmulatorClient(holder.base_url) as anyone:
        health = anyone.health()
        assert health["status"] == "ok"
        assert "seed" not in health
        assert anyone.http.get("/state").status_code == 401
    with EmulatorClient(holder.base_url, token="wrong") as wrong:
        assert "seed" not in wrong.health()


def test_the_openapi_document_declares_the_guard_answers(ctl: httpx.Client) -> None:
    """The refusals above are part of every control operation's contract: a generated client
    or schemathesis sees 401/403/421 on each, and 415 on each write."""
    paths = ctl.get("/openapi.json").json()["paths"]
    control = {p: ops for p, ops in paths.items() if p.startswith("/_emulator/")}
    assert control
    for path, ops in control.items():
        for method, op in ops.items():
            assert {"401", "403", "421"} <= set(op["responses"]), (method, path)
            if method in ("post", "put", "patch", "delete"):
                assert "415" in op["responses"], (method, path)
    upload = paths["/1/upload"]["post"]["responses"]
    assert "421" not in upload  # the platform APIs are not behind the control guard


def test_a_platform_host_name_is_never_allowed(serve: Serve) -> None:
    """`--allowed-hosts '*'` opens the control API to any name but the platforms' own: those
    reach platform operations only (HTTPS with the platforms' host names, docs/https.md)."""
    client = serve(host="0.0.0.0", allowed_hosts=["*"])
    assert client.http.get("/health", headers={"Host": "any.example"}).status_code == 200
    for host in ("s2s.mparticle.com", "us1.api.clevertap.com", "api.clevertap.com:443"):
        _refused(client.http.get("/health", headers={"Host": host}), 421, "host_not_allowed")
        origin = {"Host": "localhost", "Origin": f"https://{host}"}
        _refused(client.http.get("/health", headers=origin), 403, "origin_not_allowed")
