"""TOML configuration: settings, and tenants that replace the defaults."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulator.app import create_app
from emulator.config import DEFAULT_ACCOUNT, DEFAULT_WORKSPACE, ConfigError, load_config
from emulator.core.tenants import TenantError
from emulator.server import ThreadedServer
from emulator.testing.defaults import basic_auth
from tests.drivers.clevertap import ct_headers
from tests.drivers.mparticle import custom_event, mp_batch

TWO_TENANTS = """
[emulator]
mode = "lenient"
journal_size = 500
seed = 42
persist_interval = 0.5
log_requests = false

[[clevertap.accounts]]
id = "ACME-1"
name = "Acme EU"
passcode = "acme-pass"
region = "eu1"

[[clevertap.accounts]]
id = "ACME-US"
passcode = "acme-us-pass"
region = "us1"

[[mparticle.workspaces]]
id = "2000"
name = "Acme"
[[mparticle.workspaces.inputs]]
kind = "s2s"
key = "acme-key"
secret = "acme-secret"
[[mparticle.workspaces.inputs]]
kind = "web"
key = "acme-web-key"

[[mparticle.workspaces]]
id = "3000"
[[mparticle.workspaces.inputs]]
kind = "s2s"
key = "beta-key"
secret = "beta-secret"

[[connections]]
id = "acme"
workspace = "2000"
account = "ACME-1"
"""

TENANT_IDS = {"ACME-1", "ACME-US", "2000", "3000", "acme"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "emulator.toml"
    path.write_text(text, encoding="utf-8")
    return path


UPLOAD = {"d": [{"type": "event", "identity": "u1", "evtName": "Signed Up"}]}
BATCH = mp_batch(custom_event("opened"), environment=None)


def test_settings_and_tenants_load(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TWO_TENANTS))
    assert config.mode == "lenient"
    assert config.journal_size == 500
    assert config.seed == 42
    assert config.persist_interval == 0.5
    assert config.log_requests is False
    # Unset settings keep their defaults.
    assert (config.host, config.port, config.data_file) == ("127.0.0.1", 8787, None)
    kinds = sorted((t["kind"], t["id"]) for t in config.tenants)
    assert kinds == [
        ("clevertap_account", "ACME-1"),
        ("clevertap_account", "ACME-US"),
        ("connection", "acme"),
        ("mparticle_workspace", "2000"),
        ("mparticle_workspace", "3000"),
    ]


def test_command_line_overrides_win_over_the_file(tmp_path: Path) -> None:
    config = load_config(
        _write(tmp_path, TWO_TENANTS), mode="strict", port=0, seed=None, data_file=None
    )
    assert config.mode == "strict"  # given: wins
    assert config.port == 0
    assert config.seed == 42  # None means "not given": the file's value stays


def test_a_file_without_tenants_keeps_the_default_ones(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "[emulator]\nmode = 'strict'\n"))
    ids = {t["id"] for t in config.tenants}
    assert ids == {DEFAULT_ACCOUNT["id"], DEFAULT_WORKSPACE["id"], "default"}


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[str]:
    config = load_config(_write(tmp_path, TWO_TENANTS), port=0)
    with ThreadedServer(config) as server:
        yield server.url


def test_the_app_serves_the_configured_tenants_and_only_them(configured: str) -> None:
    with httpx.Client(base_url=configured, timeout=10) as http:
        tenants = http.get("/_emulator/tenants").json()["tenants"]
        assert {t["id"] for t in tenants} == TENANT_IDS
        health = http.get("/_emulator/health").json()
        assert (health["mode"], health["seed"], health["tenants"]) == ("lenient", 42, 5)
        assert health["journal"]["capacity"] == 500


def test_clevertap_auth_works_for_both_accounts(configured: str) -> None:
    with httpx.Client(base_url=configured, timeout=10) as http:
        for account, passcode in [("ACME-1", "acme-pass"), ("ACME-US", "acme-us-pass")]:
            ok = http.post("/1/upload", json=UPLOAD, headers=ct_headers(account, passcode))
            assert ok.status_code == 200, (account, ok.text)
            assert ok.json()["processed"] == 1
            wrong = http.post("/1/upload", json=UPLOAD, headers=ct_headers(account, "nope"))
            assert wrong.status_code == 401
        # Each account's own passcode only.
        crossed = http.post("/1/upload", json=UPLOAD, headers=ct_headers("ACME-1", "acme-us-pass"))
        assert crossed.status_code == 401
        # The regional host must name the account's region.
        us = {**ct_headers("ACME-US", "acme-us-pass"), "Host": "us1.api.clevertap.com"}
        assert http.post("/1/upload", json=UPLOAD, headers=us).status_code == 200
        eu = {**ct_headers("ACME-US", "acme-us-pass"), "Host": "eu1.api.clevertap.com"}
        assert http.post("/1/upload", json=UPLOAD, headers=eu).status_code == 401
        # The stored events went to the right account.
        for account, count in [("ACME-1", 1), ("ACME-US", 2)]:
            page = http.get(f"/_emulator/clevertap/{account}/events").json()
            assert page["total"] == count, account
            assert {e["identity"] for e in page["events"]} == {"u1"}, account


def test_the_default_tenants_are_not_there(configured: str) -> None:
    with httpx.Client(base_url=configured, timeout=10) as http:
        default = ct_headers(DEFAULT_ACCOUNT["id"], DEFAULT_ACCOUNT["passcode"])
        refused = http.post("/1/upload", json=UPLOAD, headers=default)
        assert refused.status_code == 401
        assert refused.json()["error"] == "Account ID is not valid"
        s2s = next(i for i in DEFAULT_WORKSPACE["inputs"] if i["kind"] == "s2s")
        forbidden = http.post(
            "/v2/events", json=BATCH, headers=basic_auth(s2s["key"], s2s["secret"])
        )
        assert forbidden.status_code == 403
        assert http.get(f"/_emulator/tenants/{DEFAULT_ACCOUNT['id']}").status_code == 404


def test_mparticle_basic_auth_works_for_both_workspaces(configured: str) -> None:
    with httpx.Client(base_url=configured, timeout=10) as http:
        for workspace, key, secret in [
            ("2000", "acme-key", "acme-secret"),
            ("3000", "beta-key", "beta-secret"),
        ]:
            accepted = http.post("/v2/events", json=BATCH, headers=basic_auth(key, secret))
            assert accepted.status_code == 202, (workspace, accepted.text)
            wrong = http.post("/v2/events", json=BATCH, headers=basic_auth(key, "nope"))
            assert wrong.status_code == 403
            # The wrong secret proves no workspace: its 403 is journaled under none.
            journal = http.get("/_emulator/requests", params={"tenant": workspace}).json()
            assert [e["status"] for e in journal["requests"]] == [202], workspace
            every = http.get("/_emulator/requests", params={"status": 403}).json()["requests"]
            assert (every[-1]["tenant"], every[-1]["authenticated"]) == (None, False)
        # A web input has no secret and cannot call the server-side API.
        web = http.post("/v2/events", json=BATCH, headers=basic_auth("acme-web-key", ""))
        assert web.status_code == 403
        missing = http.post("/v2/events", json=BATCH)
        assert missing.status_code == 401


# -- invalid tenants ---------------------------------------------------------------------------

ACCOUNT = '[[clevertap.accounts]]\nid = "A-1"\npasscode = "p"\nregion = "eu1"\n'
WORKSPACE = (
    '[[mparticle.workspaces]]\nid = "2000"\n'
    '[[mparticle.workspaces.inputs]]\nkind = "s2s"\nkey = "k1"\nsecret = "s1"\n'
)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        pytest.param(
            '[[clevertap.accounts]]\nid = "A-1"\npasscode = "p"\nregion = "mars1"\n',
            ["'A-1'", "$.region", "mars1"],
            id="bad-region",
        ),
        pytest.param(
            '[[mparticle.workspaces]]\nid = "2000"\n'
            '[[mparticle.workspaces.inputs]]\nkind = "s2s"\nkey = "k1"\n',
            ["'2000'", "$.inputs[0]", "secret"],
            id="s2s-input-without-secret",
        ),
        pytest.param(
            ACCOUNT
            + WORKSPACE
            + '[[connections]]\nid = "c"\nworkspace = "2000"\naccount = "NOPE"\n',
            ["'c'", "no CleverTap account 'NOPE'"],
            id="connection-to-unknown-account",
        ),
        pytest.param(
            ACCOUNT + WORKSPACE + '[[connections]]\nid = "c"\nworkspace = "9"\naccount = "A-1"\n',
            ["'c'", "no mParticle workspace '9'"],
            id="connection-to-unknown-workspace",
        ),
        pytest.param(
            ACCOUNT + ACCOUNT,
            ["'A-1'", "already exists"],
            id="duplicate-account-id",
        ),
        pytest.param(
            ACCOUNT + '[[mparticle.workspaces]]\nid = "A-1"\ninputs = []\n',
            ["'A-1'", "already exists"],
            id="id-shared-by-two-kinds",
        ),
        pytest.param(
            WORKSPACE
            + '[[mparticle.workspaces.inputs]]\nkind = "feed"\nkey = "k1"\nsecret = "x"\n',
            ["'2000'", "input key 'k1' is used twice"],
            id="duplicate-input-key-in-a-workspace",
        ),
        pytest.param(
            WORKSPACE
            + '[[mparticle.workspaces]]\nid = "3000"\n'
            + '[[mparticle.workspaces.inputs]]\nkind = "s2s"\nkey = "k1"\nsecret = "s"\n',
            ["'3000'", "input key 'k1' already belongs to workspace '2000'"],
            id="input-key-of-another-workspace",
        ),
    ],
)
def test_invalid_tenants_fail_with_a_message_naming_the_problem(
    tmp_path: Path, toml: str, named: list[str]
) -> None:
    config = load_config(_write(tmp_path, toml))
    with pytest.raises((TenantError, ConfigError)) as raised:
        create_app(config)
    for text in named:
        assert text in str(raised.value)


def test_an_invalid_tenant_stops_the_cli_with_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[clevertap.accounts]]\nid = "A-1"\npasscode = "p"\nregion = "x"\n')
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result
    assert "ctmp-emulator: invalid clevertap_account 'A-1'" in result.stderr
    assert "Traceback" not in result.stderr


# -- invalid settings --------------------------------------------------------------------------


def test_an_unknown_emulator_setting_fails_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "[emulator]\nmode = 'strict'\njournal_sise = 10\n")
    with pytest.raises(ConfigError, match=r"emulator\.journal_sise: unknown key"):
        load_config(path)


@pytest.mark.parametrize(
    ("toml", "key_path"),
    [
        # A singular table name: before, it was ignored and the default tenants started.
        (
            '[[clevertap.account]]\nid = "A-1"\npasscode = "p"\nregion = "us1"\n',
            "clevertap.account",
        ),
        ('[clevertap]\nregion = "us1"\n', "clevertap.region"),
        ("[mparticle]\nworkspace = 1\n", "mparticle.workspace"),
        (
            '[[clevertap.accounts]]\nid = "A-1"\npasscode = "p"\nregoin = "us1"\n',
            "clevertap.accounts[0].regoin",
        ),
        (
            TWO_TENANTS.replace('secret = "acme-secret"', 'secert = "acme-secret"'),
            "mparticle.workspaces[0].inputs[0].secert",
        ),
        (
            TWO_TENANTS.replace('account = "ACME-1"\n', 'acount = "ACME-1"\n'),
            "connections[0].acount",
        ),
    ],
    ids=["singular-accounts", "key-in-section", "mparticle-key", "tenant", "input", "connection"],
)
def test_an_unknown_key_anywhere_fails_naming_the_file_and_key_path(
    tmp_path: Path, toml: str, key_path: str
) -> None:
    path = _write(tmp_path, toml)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    assert f"{key_path}: unknown key" in str(raised.value)


def test_a_relative_data_file_resolves_against_the_config_files_directory(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "emulator.toml"
    path.write_text('[emulator]\ndata_file = "state/data.json"\n', encoding="utf-8")
    assert load_config(path).data_file == tmp_path / "conf" / "state" / "data.json"
    path.write_text(f'[emulator]\ndata_file = "{tmp_path / "abs.json"}"\n', encoding="utf-8")
    assert load_config(path).data_file == tmp_path / "abs.json"


def test_an_unknown_section_fails_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "[clevertap]\n[[accounts]]\nid = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown sections .*'accounts'"):
        load_config(path)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("journal_size", '"1000"'),
        ("port", '"http"'),
        ("persist_interval", '"often"'),
        ("seed", '"abc"'),
        ("mode", "1"),
        ("log_requests", '"no"'),
    ],
)
def test_a_setting_of_the_wrong_type_fails_naming_it(
    tmp_path: Path, setting: str, value: str
) -> None:
    """A typo in a value (a quoted number) is a clear ConfigError at load time, not a crash
    later (a traceback at start, or a background save that dies and never writes the file)."""
    path = _write(tmp_path, f"[emulator]\n{setting} = {value}\n")
    with pytest.raises(ConfigError, match=setting):
        load_config(path)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[emulator]\njournal_size = 0\n", "journal_size: 0 is less than the minimum of 1"),
        ("[emulator]\nmode = 'sloppy'\n", 'mode: "sloppy" is not one of'),
        # A save loop that never sleeps would spin a core.
        ("[emulator]\npersist_interval = -1\n", "persist_interval"),
        # Beyond what the state document can hold once written out.
        ("[emulator]\nmax_json_depth = 129\n", "max_json_depth: 129 is greater than"),
    ],
    ids=["journal_size-0", "mode-unknown", "persist_interval-negative", "max_json_depth-129"],
)
def test_a_setting_out_of_range_fails_naming_it(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, toml))


def test_max_json_depth_sets_how_deep_a_body_may_nest(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "[emulator]\nmax_json_depth = 8\n"), port=0)
    server = ThreadedServer(config).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            # {"d": [record]} is 3 levels: 5 more in evtData make 8.
            record = {"type": "event", "identity": "u1", "evtName": "e"}
            deep: dict[str, object] = {**record, "evtData": {"a": [[[[]]]]}}
            answer = http.post("/1/upload", json={"d": [deep]}, headers=ct_headers())
            assert answer.status_code == 200, answer.text
            deep["evtData"] = {"a": [[[[[]]]]]}
            answer = http.post("/1/upload", json={"d": [deep]}, headers=ct_headers())
            assert answer.json() == {
                "status": "fail",
                "error": "The body is nested deeper than 8 levels.",
                "code": 400,
            }
    finally:
        server.stop()
