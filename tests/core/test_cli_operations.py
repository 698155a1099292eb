"""`serve` as an operator runs it: bad ports and hosts, a port in use, stopping, log lines, the
environment, and the container image (issue 12, items 22 to 25)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from emulator.cli import _config, _parser
from emulator.testing.defaults import clevertap_headers

if TYPE_CHECKING:
    from tests.conftest import RunEmulator, SpawnEmulator

ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
UPLOAD = {"d": [{"type": "event", "identity": "u1", "evtName": "Charged", "evtData": {}}]}


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The stderr of a start that failed as a usage error: exit 2, one line, no traceback."""
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


# -- 22: ports and hosts -----------------------------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "http"])
def test_a_port_out_of_range_is_a_one_line_usage_error(
    run_emulator: RunEmulator, port: str
) -> None:
    """uvicorn would bind 99999 modulo 65536 (a port nobody asked for) and fail on -1 in the
    resolver."""
    stderr = _one_line_error(run_emulator("serve", f"--port={port}"))
    assert f"--port: {port!r} is not a port (0 to 65535" in stderr


def test_a_port_from_the_environment_is_checked_too(run_emulator: RunEmulator) -> None:
    stderr = _one_line_error(run_emulator("serve", env={"CTMP_PORT": "99999"}))
    assert "'99999' is not a port" in stderr


def test_a_port_in_use_says_so_and_suggests_port_0(
    spawn_emulator: SpawnEmulator, run_emulator: RunEmulator
) -> None:
    running = spawn_emulator("--quiet")
    port = running.url.rsplit(":", 1)[1]
    stderr = _one_line_error(run_emulator("serve", "--port", port))
    assert f"port {port} on 127.0.0.1 is in use" in stderr
    assert "--port 0" in stderr
    running.stop(signal.SIGTERM)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("no-such-host.invalid", "--host 'no-such-host.invalid' is not an address"),
        ("999.1.2.3", "--host '999.1.2.3' is not an address"),
        # An address, but of another machine.
        ("192.0.2.1", "cannot bind to 192.0.2.1 port 0"),
    ],
    ids=["unknown-name", "not-an-address", "not-this-machine"],
)
def test_a_bad_host_is_named(run_emulator: RunEmulator, host: str, message: str) -> None:
    stderr = _one_line_error(run_emulator("serve", "--host", host, "--port", "0"))
    assert stderr.startswith(f"ctmp-emulator: {message}"), stderr


# -- 24: stopping and logging ------------------------------------------------------------------


def test_ctrl_c_ends_with_one_line_naming_the_saved_file(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    data_file = tmp_path / "state.json"
    emulator = spawn_emulator("--quiet", "--data-file", str(data_file))
    assert emulator.stop(signal.SIGINT) == 0
    stderr = emulator.stderr()
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stderr.strip().splitlines() == [f"ctmp-emulator: stopped, state saved to {data_file}"]
    assert data_file.is_file()


def test_sigterm_without_a_data_file_says_stopped(spawn_emulator: SpawnEmulator) -> None:
    emulator = spawn_emulator("--quiet")
    assert emulator.stop(signal.SIGTERM) == 0
    assert emulator.stderr().strip().splitlines() == ["ctmp-emulator: stopped"]


def test_log_lines_carry_time_origin_reason_and_fault(spawn_emulator: SpawnEmulator) -> None:
    emulator = spawn_emulator()
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.post("/1/upload", json=UPLOAD).status_code == 401  # no credentials
        invalid = {"d": [{"type": "event", "evtName": "Charged"}]}  # no identity
        http.post("/1/upload", json=invalid, headers=clevertap_headers())
        fault = {"platform": "clevertap", "status": 503}
        assert http.post("/_emulator/faults", json=fault).status_code in (200, 201)
        assert http.post("/1/upload", json=UPLOAD, headers=clevertap_headers()).status_code == 503
    emulator.stop(signal.SIGTERM)
    lines = [line for line in emulator.stderr().splitlines() if "/1/upload" in line]
    assert len(lines) == 3, lines
    assert all(TIMESTAMP.match(line) for line in lines), lines
    assert all(" client" in line for line in lines), lines
    unauthorized, invalid_line, faulted = lines
    assert "-> 401" in unauthorized and "reason=" in unauthorized
    assert "INVALID" in invalid_line and "reason=$.d[0]" in invalid_line
    assert "-> 503" in faulted and "fault=" in faulted


def test_log_format_json_writes_one_object_a_line(spawn_emulator: SpawnEmulator) -> None:
    emulator = spawn_emulator("--log-format", "json")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.post("/1/upload", json=UPLOAD).status_code == 401
    emulator.stop(signal.SIGTERM)
    records = [json.loads(line) for line in emulator.stderr().splitlines()]
    [request] = [r for r in records if "request" in r]
    assert request["level"] == "info"
    assert TIMESTAMP.match(request["time"] + " ")
    assert request["request"]["status"] == 401
    assert request["request"]["path"] == "/1/upload"
    assert request["request"]["origin"] == "client"
    assert request["request"]["reason"]
    assert records[-1]["message"] == "stopped"


def test_log_level_warning_drops_the_request_lines(spawn_emulator: SpawnEmulator) -> None:
    emulator = spawn_emulator("--log-level", "warning")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.post("/1/upload", json=UPLOAD, headers=clevertap_headers()).status_code == 200
    emulator.stop(signal.SIGTERM)
    assert "/1/upload" not in emulator.stderr()


# -- 25: the environment and the image ---------------------------------------------------------


def test_serve_flags_take_their_defaults_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "CTMP_HOST": "0.0.0.0",
        "CTMP_PORT": "9000",
        "CTMP_DATA_FILE": "/data/state.json",
        "CTMP_MODE": "lenient",
        "CTMP_SEED": "5",
        "CTMP_JOURNAL_SIZE": "50",
        "CTMP_ADMIN_TOKEN": "tok",
        "CTMP_MAX_JSON_DEPTH": "16",
        "CTMP_QUIET": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = _config(_parser().parse_args(["serve"]))
    assert (config.host, config.port, config.data_file) == (
        "0.0.0.0",
        9000,
        Path(env["CTMP_DATA_FILE"]),
    )
    assert (config.mode, config.seed, config.journal_size) == ("lenient", 5, 50)
    assert (config.admin_token, config.max_json_depth) == ("tok", 16)
    assert config.log_requests is False
    # A flag wins over its variable.
    assert _config(_parser().parse_args(["serve", "--port", "9001"])).port == 9001


def test_every_serve_flag_names_its_variable_in_help(run_emulator: RunEmulator) -> None:
    """Including flags added later: the variable comes with the flag."""
    shown = run_emulator("serve", "--help").stdout
    flags = set(re.findall(r"^  (--[a-z-]+)", shown, re.MULTILINE)) - {"--help"}
    assert {"--host", "--port", "--data-file", "--log-format"} <= flags
    words = " ".join(shown.split())
    for flag in flags:
        assert f"[env CTMP_{flag[2:].replace('-', '_').upper()}]" in words, flag


@pytest.mark.parametrize(
    ("name", "value"),
    [("CTMP_MODE", "sloppy"), ("CTMP_QUIET", "maybe"), ("CTMP_LOG_FORMAT", "xml")],
)
def test_a_bad_environment_value_is_a_usage_error_naming_the_variable(
    run_emulator: RunEmulator, name: str, value: str
) -> None:
    stderr = _one_line_error(run_emulator("serve", env={name: value}))
    assert f"{name}={value!r}" in stderr


def test_environment_variables_reach_a_running_emulator(spawn_emulator: SpawnEmulator) -> None:
    emulator = spawn_emulator(env={"CTMP_SEED": "5", "CTMP_MODE": "lenient", "CTMP_QUIET": "1"})
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        health = http.get("/_emulator/health").json()
        assert (health["seed"], health["mode"]) == (5, "lenient")
        assert http.post("/1/upload", json=UPLOAD, headers=clevertap_headers()).status_code == 200
    emulator.stop(signal.SIGTERM)
    assert "/1/upload" not in emulator.stderr()


def _dockerfile() -> dict[str, list[str]]:
    """The Dockerfile's instructions by name (continuation lines joined)."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, rest = line.strip().partition(" ")
            found.setdefault(name.upper(), []).append(rest.strip())
    return found


def test_the_image_keeps_its_host_when_run_with_arguments() -> None:
    """`docker run IMAGE --seed 1` appends to the ENTRYPOINT: the host and port come from the
    environment, so arguments cannot drop them."""
    docker = _dockerfile()
    [entrypoint] = docker["ENTRYPOINT"]
    assert json.loads(entrypoint) == ["ctmp-emulator", "serve"]
    assert "CMD" not in docker
    env = " ".join(docker["ENV"])
    assert "CTMP_HOST=0.0.0.0" in env
    assert "CTMP_PORT=8787" in env


def test_the_image_health_check_follows_the_port(spawn_emulator: SpawnEmulator) -> None:
    """The HEALTHCHECK command, run as the image runs it, passes on the emulator's port."""
    [healthcheck] = _dockerfile()["HEALTHCHECK"]
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "python"
    emulator = spawn_emulator("--quiet")
    port = emulator.url.rsplit(":", 1)[1]
    check = [sys.executable, *command[1:]]
    healthy = subprocess.run(check, env={"CTMP_PORT": port}, timeout=30, check=False)
    assert healthy.returncode == 0
    emulator.stop(signal.SIGTERM)
    down = subprocess.run(
        check, env={"CTMP_PORT": port}, capture_output=True, timeout=30, check=False
    )
    assert down.returncode != 0
