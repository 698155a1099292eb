"""`ctmp-emulator serve` (and `python -m emulator serve`) as a user runs it."""

from __future__ import annotations

import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from emulator import __version__
from emulator.cli import _config, _parser
from emulator.testing.defaults import clevertap_headers

if TYPE_CHECKING:
    from tests.conftest import RunEmulator, SpawnEmulator

UPLOAD = {"d": [{"type": "event", "identity": "u1", "evtName": "Charged", "evtData": {}}]}


def _console_script() -> str:
    """The `ctmp-emulator` command installed next to this interpreter (the venv's bin/)."""
    beside = Path(sys.executable).with_name("ctmp-emulator")
    found = str(beside) if beside.is_file() else shutil.which("ctmp-emulator")
    assert found, "the ctmp-emulator console script is not installed (pip install -e .)"
    return found


def test_console_script_prints_one_ready_line_with_the_url(spawn_emulator: SpawnEmulator) -> None:
    emulator = spawn_emulator(command=[_console_script()])
    assert emulator.ready_line.startswith("ctmp-emulator ready on http://127.0.0.1:")
    assert emulator.url.startswith("http://127.0.0.1:")
    port = int(emulator.url.rsplit(":", 1)[1])
    assert 0 < port < 65536  # --port 0: a free port was picked and shown

    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        health = http.get("/_emulator/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert health.json()["version"] == __version__
        assert health.json()["mode"] == "strict"
        # Without --quiet each platform request gets a log line: on stderr, not stdout.
        assert http.post("/1/upload", json=UPLOAD, headers=clevertap_headers()).status_code == 200

    emulator.stop(signal.SIGTERM)
    assert emulator.stdout_rest == "", "stdout must carry exactly one line, the ready line"
    assert "/1/upload" in emulator.stderr()


def test_python_dash_m_emulator_serve_works(spawn_emulator: SpawnEmulator) -> None:
    emulator = spawn_emulator("--quiet", "--seed", "7")
    assert "ready" in emulator.ready_line
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        health = http.get("/_emulator/health").json()
        assert health["status"] == "ok"
        assert health["seed"] == 7
        assert health["tenants"] == 3  # the default tenants
        assert http.post("/1/upload", json=UPLOAD, headers=clevertap_headers()).status_code == 200
    emulator.stop(signal.SIGTERM)
    # --quiet: no per-request log line.
    assert "/1/upload" not in emulator.stderr()


def test_mode_lenient_shows_in_health(spawn_emulator: SpawnEmulator) -> None:
    emulator = spawn_emulator("--mode", "lenient", "--quiet")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.get("/_emulator/health").json()["mode"] == "lenient"
    emulator.stop(signal.SIGKILL)


def test_host_and_port_default_to_loopback_8787() -> None:
    config = _config(_parser().parse_args(["serve"]))
    assert (config.host, config.port) == ("127.0.0.1", 8787)
    assert config.mode == "strict"
    assert config.data_file is None
    assert config.admin_token is None


def test_flags_override_the_defaults() -> None:
    flags = ["--host", "0.0.0.0", "--port", "9999", "--journal-size", "5", "--quiet"]
    args = _parser().parse_args(["serve", *flags, "--max-json-depth", "32"])
    config = _config(args)
    assert (config.host, config.port, config.journal_size) == ("0.0.0.0", 9999, 5)
    assert config.max_json_depth == 32
    assert config.log_requests is False


def test_version_flag(run_emulator: RunEmulator) -> None:
    result = run_emulator("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_an_unknown_mode_is_a_usage_error(run_emulator: RunEmulator) -> None:
    result = run_emulator("serve", "--port", "0", "--mode", "sloppy")
    assert result.returncode == 2
    assert "--mode" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read config"),
        ("[emulator\nmode = 'strict'\n", "is not valid TOML"),
        ("[emulator]\nmoed = 'strict'\n", "emulator.moed: unknown key"),
        ("[emulator]\nmode = 'sloppy'\n", 'mode: "sloppy" is not one of'),
        ("[emulator]\n[workspaces]\n", "unknown sections"),
    ],
    ids=["missing-file", "bad-toml", "unknown-setting", "bad-mode", "unknown-section"],
)
def test_a_bad_config_file_exits_2_with_a_message(
    run_emulator: RunEmulator, tmp_path: Path, content: str | None, message: str
) -> None:
    config = tmp_path / "emulator.toml"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    result = run_emulator("serve", "--port", "0", "--config", str(config))
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr.startswith("ctmp-emulator: "), result.stderr
    assert message in result.stderr
    assert str(config) in result.stderr
    assert "Traceback" not in result.stderr


def test_admin_token_guards_the_control_api_but_not_health_nor_the_platforms(
    spawn_emulator: SpawnEmulator,
) -> None:
    emulator = spawn_emulator("--admin-token", "s3cret", "--quiet")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        # Health stays open, so container health checks work with a token set (README).
        assert http.get("/_emulator/health").status_code == 200
        for method, path in [
            ("GET", "/_emulator/requests"),
            ("GET", "/_emulator/tenants"),
            ("POST", "/_emulator/reset"),
            ("GET", "/_emulator/state"),
        ]:
            denied = http.request(method, path)
            assert denied.status_code == 401, (method, path)
            assert denied.json()["error"]["code"] == "unauthorized"
            wrong = http.request(method, path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401, (method, path)
            allowed = http.request(method, path, headers={"Authorization": "Bearer s3cret"})
            assert allowed.status_code == 200, (method, path, allowed.text)
            header = http.request(method, path, headers={"X-Emulator-Token": "s3cret"})
            assert header.status_code == 200, (method, path, header.text)

        # The platform endpoints do not need (nor see) the control token.
        uploaded = http.post("/1/upload", json=UPLOAD, headers=clevertap_headers())
        assert uploaded.status_code == 200, uploaded.text
        journal = http.get("/_emulator/requests", headers={"Authorization": "Bearer s3cret"})
        assert [e["path"] for e in journal.json()["requests"]] == ["/1/upload"]
    emulator.stop(signal.SIGKILL)
