"""`--durability always`: an acknowledged request survives kill -9, and a request that cannot be
made durable is never answered as a success."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from emulator.config import DEFAULT_ACCOUNT
from emulator.testing.defaults import clevertap_headers
from tests.core.test_persistence import _health, _upload

if TYPE_CHECKING:
    from tests.conftest import RunEmulator, SpawnEmulator

TRIALS = 8


def _send_until_killed(url: str, acked: list[str], stop: threading.Event, first: int) -> None:
    """Upload one event per request (identity `n-<k>`); keep the identities answered 200."""
    with httpx.Client(base_url=url, timeout=10) as http:
        k = first
        while not stop.is_set():
            identity = f"n-{k}"
            try:
                answer = http.post("/1/upload", json=_upload(identity), headers=clevertap_headers())
            except httpx.HTTPError:
                return  # killed
            if answer.status_code == 200:
                acked.append(identity)
            k += 1


def _stored_identities(http: httpx.Client) -> set[str]:
    state = http.get("/_emulator/state").json()
    return {
        identity
        for account in state.get("clevertap.accounts", {}).values()
        if account["tenant"] == DEFAULT_ACCOUNT["id"]
        for profile in account["profiles"]
        for identity in profile["identities"]
    }


def test_kill_9_in_always_mode_loses_no_acknowledged_request(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    """THE acceptance test of `--durability always`: 8 times, upload continuously from another
    thread, SIGKILL the emulator at a random moment (saves run every 50 ms, so kills land
    before, during and after saves and log segment changes), restart it on what it left, and
    find every upload that was answered 200, in this trial and all before."""
    rng = random.Random()
    data_file = tmp_path / "state.json"
    config = tmp_path / "durable.toml"
    config.write_text("[emulator]\npersist_interval = 0.05\n", encoding="utf-8")
    acked: list[str] = []
    for trial in range(TRIALS):
        emulator = spawn_emulator(
            "--config", str(config), "--data-file", str(data_file), "--durability", "always"
        )
        with httpx.Client(base_url=emulator.url, timeout=10) as http:
            missing = set(acked) - _stored_identities(http)
            assert not missing, f"trial {trial}: {len(missing)} acknowledged uploads lost"
            assert _health(http)["state_save"]["durability"] == "always"
        stop = threading.Event()
        sender = threading.Thread(
            target=_send_until_killed, args=(emulator.url, acked, stop, trial * 100_000)
        )
        sender.start()
        time.sleep(rng.uniform(0.2, 0.6))
        emulator.stop(signal.SIGKILL)
        stop.set()
        sender.join(30)
        assert "Traceback" not in emulator.stderr()
    final = spawn_emulator(
        "--config", str(config), "--data-file", str(data_file), "--durability", "always"
    )
    with httpx.Client(base_url=final.url, timeout=10) as http:
        assert not set(acked) - _stored_identities(http)
    final.stop(signal.SIGKILL)
    assert len(acked) > TRIALS * 5, "the loop proved nothing: hardly any upload was answered"


def test_a_request_the_log_cannot_hold_is_answered_503_and_every_200_survives(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    """A full disk (RLIMIT_FSIZE: no file past 32 KB, so a log segment fills up): the upload
    whose record does not fit is answered 503 in CleverTap's envelope, never 200, and health is
    degraded with the cause. The next record goes to a fresh segment (never after a torn line),
    and after kill -9 every upload answered 200 is back."""
    data_file = tmp_path / "state.json"
    config = tmp_path / "no-saves.toml"
    config.write_text("[emulator]\npersist_interval = 86400\n", encoding="utf-8")
    args = ("--config", str(config), "--data-file", str(data_file), "--durability", "always")
    emulator = spawn_emulator(*args, "--quiet", file_size_limit=32 * 1024)
    acked: list[str] = []
    refused: list[str] = []
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        for n in range(60):
            identity = f"u{n}"
            answer = http.post(
                "/1/upload", json=_upload(identity, 4, 400), headers=clevertap_headers()
            )
            if answer.status_code == 200:
                acked.append(identity)
                continue
            assert answer.status_code == 503, answer.text
            assert answer.json()["status"] == "fail"
            assert "durable" in answer.json()["error"]
            refused.append(identity)
            if len(refused) == 1:  # before the next write works again
                health = _health(http)
                assert health["status"] == "degraded"
                assert "File too large" in health["state_save"]["log_error"]
        assert _health(http)["state_save"]["log_failures"] == len(refused)
    assert acked and refused
    emulator.stop(signal.SIGKILL)
    log = emulator.stderr()
    assert "Traceback" not in log
    # One line per failing spell (here each spell is one request: the next segment is empty).
    assert log.count("could not write the durable log") == len(refused), log
    again = spawn_emulator(*args)
    with httpx.Client(base_url=again.url, timeout=10) as http:
        assert set(acked) <= _stored_identities(http)
    again.stop(signal.SIGKILL)


def test_always_mode_needs_a_data_file(run_emulator: RunEmulator) -> None:
    result = run_emulator("serve", "--port", "0", "--durability", "always")
    assert result.returncode == 2, result
    assert result.stderr.strip() == (
        "ctmp-emulator: durability 'always' needs a data file (--data-file)"
    )


def test_a_control_change_in_always_mode_survives_kill_9(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    data_file = tmp_path / "state.json"
    config = tmp_path / "no-saves.toml"
    config.write_text("[emulator]\npersist_interval = 86400\n", encoding="utf-8")
    args = ("--config", str(config), "--data-file", str(data_file), "--durability", "always")
    emulator = spawn_emulator(*args)
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.post("/1/upload", json=_upload("kept"), headers=clevertap_headers()).is_success
        assert http.post("/_emulator/reset").status_code == 200  # saved before it answered
        assert http.post("/1/upload", json=_upload("after"), headers=clevertap_headers()).is_success
    emulator.stop(signal.SIGKILL)
    again = spawn_emulator(*args)
    with httpx.Client(base_url=again.url, timeout=10) as http:
        assert _stored_identities(http) == {"after"}
    again.stop(signal.SIGKILL)
