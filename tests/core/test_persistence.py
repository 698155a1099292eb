"""--data-file: the state survives a restart, a crash never leaves an unreadable file, and a file
the emulator cannot use stops it at start (exit 2) without being overwritten."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import tinydb

from emulator.config import DEFAULT_ACCOUNT
from emulator.core.store import (
    FILE_VERSION,
    FORMAT,
    document_to_tables,
    is_temp_of,
    read_document,
)
from emulator.testing.defaults import clevertap_headers, mparticle_headers
from tests.drivers.datafile import assert_start_refused, saved_data_file
from tests.drivers.mparticle import custom_event, mp_batch

if TYPE_CHECKING:
    from tests.conftest import EmulatorProcess, RunEmulator, SpawnEmulator

DEFAULT_TENANT_IDS = {"EMU-TEST-0001", "1000", "default"}


def _upload(identity: str, records: int = 1, pad: int = 0) -> dict[str, Any]:
    return {
        "d": [
            {
                "type": "event",
                "identity": identity,
                "evtName": "Charged",
                "evtData": {"Amount": i, "Note": "x" * pad},
            }
            for i in range(records)
        ]
    }


def _batch(name: str) -> dict[str, Any]:
    """A development batch of one custom event `name` for the customer `name`."""
    return mp_batch(custom_event(name), customer_id=name)


def _events(document: dict[str, Any]) -> int:
    """How many CleverTap events a state document holds, over all its accounts (a row each in
    version 1, a `pid` column in the data file's version 2)."""
    rows = document.get("clevertap.accounts", {}).values()
    return sum(len(e["pid"] if isinstance(e := row["events"], dict) else e) for row in rows)


def _tables(document: dict[str, Any]) -> dict[str, Any]:
    return {name: table for name, table in document.items() if name != "_meta"}


def _temp_files(data_file: Path) -> list[Path]:
    """Temporary files of an unfinished save of `data_file` (`.NAME.PID.tmp`)."""
    return sorted(data_file.parent.glob(f".{data_file.name}.*.tmp"))


# -- a restart keeps the state -----------------------------------------------------------------


def test_state_saved_at_shutdown_is_back_after_a_restart(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    data_file = tmp_path / "state.json"
    first = spawn_emulator("--data-file", str(data_file), "--quiet")
    with httpx.Client(base_url=first.url, timeout=10) as http:
        uploaded = http.post("/1/upload", json=_upload("user-1", 2), headers=clevertap_headers())
        assert uploaded.status_code == 200, uploaded.text
        sent = http.post("/v2/events", json=_batch("user-1"), headers=mparticle_headers())
        assert sent.status_code == 202, sent.text
        # The default connection forwards the batch to CleverTap (#3): part of the state too.
        assert http.post("/_emulator/bridge/settle").json()["settled"]
        journal_before = http.get("/_emulator/requests").json()["requests"]
        state_before = http.get("/_emulator/state").json()
    assert [(e["seq"], e["path"], e["status"]) for e in journal_before] == [
        (1, "/1/upload", 200),
        (2, "/v2/events", 202),
        (3, "/1/upload", 200),
    ]
    [account] = state_before["clevertap.accounts"].values()
    assert account["tenant"] == DEFAULT_ACCOUNT["id"]
    assert len(account["events"]) == 3
    assert len(state_before["mparticle.batches"]) == 1

    # SIGTERM is a graceful shutdown: uvicorn stops, the lifespan saves the state. (uvicorn
    # re-raises the signal once it has shut down, so the exit status is -SIGTERM or 0.)
    assert first.stop(signal.SIGTERM) in (0, -signal.SIGTERM), first.stderr()
    assert "Traceback" not in first.stderr()
    assert data_file.is_file()
    assert not _temp_files(data_file)

    # The data file is in tinydb's JSON layout: tinydb opens it as a database.
    db = tinydb.TinyDB(data_file, access_mode="r")
    try:
        assert {doc["id"] for doc in db.table("tenants").all()} == DEFAULT_TENANT_IDS
        assert len(db.table("journal")) == 3
        assert db.table("_meta").get(doc_id=1)["format"] == FORMAT  # type: ignore[index]
    finally:
        db.close()

    second = spawn_emulator("--data-file", str(data_file), "--quiet")
    with httpx.Client(base_url=second.url, timeout=10) as http:
        assert http.get("/_emulator/requests").json()["requests"] == journal_before
        state_after = http.get("/_emulator/state").json()
        assert _tables(state_after) == _tables(state_before)
        events = http.get(f"/_emulator/clevertap/{DEFAULT_ACCOUNT['id']}/events").json()
        assert [e["identity"] for e in events["events"]] == ["user-1"] * 3
        assert [e["evtData"].get("Amount") for e in events["events"]] == [0, 1, None]
        # The journal goes on from where it was: the next request is #4, not #1.
        again = http.post("/1/upload", json=_upload("user-2"), headers=clevertap_headers())
        assert again.status_code == 200
        assert (
            http.get("/_emulator/requests", params={"since": 3}).json()["requests"][0]["seq"] == 4
        )
    second.stop()


def test_save_on_demand_writes_the_file_at_once(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    """POST /_emulator/state/save writes the current state, whatever the persist interval."""
    data_file = tmp_path / "state.json"
    config = tmp_path / "slow.toml"
    config.write_text("[emulator]\npersist_interval = 3600\n", encoding="utf-8")
    emulator = spawn_emulator("--config", str(config), "--data-file", str(data_file), "--quiet")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.post("/1/upload", json=_upload("u"), headers=clevertap_headers()).is_success
        saved = http.post("/_emulator/state/save")
        assert saved.status_code == 200, saved.text
        assert saved.json()["path"] == str(data_file.resolve())
        assert saved.json()["bytes"] == data_file.stat().st_size
    document = read_document(data_file)
    assert document is not None
    assert _events(document) == 1
    emulator.stop(signal.SIGKILL)


# -- a crash never leaves an unreadable file ---------------------------------------------------

TRIALS = 50
# Each upload adds 10 events of ~0.6 KB to the state (and a ~6 KB journal entry, of the last
# 100 kept): within the first trial the file holds a few hundred KB, so a save takes long enough
# for kills to land in the middle of one. Past RESET_ABOVE events a trial starts by resetting,
# which keeps the file (and the run time) bounded over the 50 trials.
RECORDS_PER_UPLOAD = 10
PAD = 500
RESET_ABOVE = 1500


def _drive_traffic(url: str, stop: threading.Event, sent: list[int]) -> None:
    """Upload until told to stop or until the emulator is gone (killed)."""
    with httpx.Client(base_url=url, timeout=5) as http:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                http.post(
                    "/1/upload",
                    json=_upload(f"user-{n}", RECORDS_PER_UPLOAD, PAD),
                    headers=clevertap_headers(),
                )
            except httpx.HTTPError:
                return
            sent[0] += 1


def _check_file(data_file: Path) -> dict[str, Any] | None:
    """The data file as the state document it must be, or None when there is none yet."""
    if not data_file.exists():
        return None
    raw = data_file.read_bytes()
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise AssertionError(
            f"the data file ({len(raw)} bytes) is not JSON after a kill: {exc}; "
            f"it ends with {raw[-80:]!r}"
        ) from exc
    meta, tables = document_to_tables(document)  # raises StateError if not a state document
    assert meta["format"] == FORMAT
    assert {t["id"] for t in tables["tenants"]} == DEFAULT_TENANT_IDS
    return document  # type: ignore[no-any-return]


def test_sigkill_while_saving_never_leaves_an_unreadable_data_file(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    """THE acceptance test of atomic persistence.

    50 times: start the emulator on the data file the previous trial left (so every restart
    is a restart after a crash), check it loaded that file, upload continuously while it saves
    every 10 ms, and SIGKILL it at a random moment. After each kill the data file must be absent
    (killed before the first save) or a complete, valid state document; a leftover
    `.NAME.PID.tmp` shows the kill came in the middle of a save, and the next start removes it.
    """
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    data_file = tmp_path / "state.json"
    config = tmp_path / "fast-saves.toml"
    # No tenants declared: the defaults stay.
    config.write_text(
        "[emulator]\npersist_interval = 0.01\njournal_size = 100\nlog_requests = false\n",
        encoding="utf-8",
    )

    absent = present = mid_write = 0
    restarts_checked = uploads = 0
    expected_events: int | None = None
    sizes: list[int] = []
    for trial in range(TRIALS):
        emulator: EmulatorProcess = spawn_emulator(
            "--config", str(config), "--data-file", str(data_file)
        )
        # The restart cleaned what the killed save left, and loaded the file as it was.
        assert not _temp_files(data_file), f"trial {trial}: temp files survived a restart"
        with httpx.Client(base_url=emulator.url, timeout=10) as http:
            events = http.get(
                f"/_emulator/clevertap/{DEFAULT_ACCOUNT['id']}/events", params={"limit": 1}
            ).json()["total"]
            assert http.get("/_emulator/health").json()["tenants"] == 3
            if expected_events is not None:
                assert events == expected_events, f"trial {trial}: restart lost the file"
                restarts_checked += 1
            if events > RESET_ABOVE:
                assert http.post("/_emulator/reset").status_code == 200

        stop, sent = threading.Event(), [0]
        driver = threading.Thread(target=_drive_traffic, args=(emulator.url, stop, sent))
        driver.start()
        try:
            time.sleep(rng.uniform(0.0, 0.25))
            emulator.stop(signal.SIGKILL)
        finally:
            stop.set()
            driver.join(30)
        uploads += sent[0]
        assert emulator.proc.returncode == -signal.SIGKILL

        leftovers = _temp_files(data_file)
        assert len(leftovers) <= 1, leftovers
        if leftovers:
            mid_write += 1
            # Written by the emulator's saving child (a fork): `.NAME.CHILD-PID.tmp`.
            assert is_temp_of(leftovers[0].name, data_file), leftovers
        document = _check_file(data_file)
        if document is None:
            absent += 1
            expected_events = 0
        else:
            present += 1
            sizes.append(data_file.stat().st_size)
            expected_events = _events(document)

    print(
        f"\nSIGKILL loop (seed {seed}): {TRIALS} trials; data file valid after {present} kills, "
        f"absent after {absent}; {mid_write} kills came in the middle of a save (temp file "
        f"left); {restarts_checked} restarts on a killed file loaded it; file size "
        f"{min(sizes, default=0) // 1024}..{max(sizes, default=0) // 1024} KB; {uploads} uploads"
    )
    assert present + absent == TRIALS
    # The loop proved something only if it exercised saves: files were written and it grew.
    assert present > 0 and max(sizes) > 100 * 1024
    # And the last start on a killed file still works.
    final = spawn_emulator("--config", str(config), "--data-file", str(data_file))
    assert not _temp_files(data_file)
    final.stop(signal.SIGKILL)


# -- files the emulator cannot use ---------------------------------------------------------------


def test_a_corrupt_data_file_stops_the_start_and_is_left_alone(
    run_emulator: RunEmulator, tmp_path: Path
) -> None:
    data_file = tmp_path / "state.json"
    corrupt = b'{"_meta": {"1": {"format": "ctmp-emulator-state", "version": 1}}, "tenants": {"1'
    data_file.write_bytes(corrupt)
    result = run_emulator("serve", "--port", "0", "--data-file", str(data_file))
    assert result.returncode == 2, result
    assert result.stdout == ""  # never said it was ready
    assert str(data_file) in result.stderr
    assert "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert data_file.read_bytes() == corrupt


def test_a_json_file_that_is_not_a_state_document_stops_the_start(
    run_emulator: RunEmulator, tmp_path: Path
) -> None:
    data_file = tmp_path / "state.json"
    data_file.write_text('{"users": {"1": {"name": "someone else\'s file"}}}', encoding="utf-8")
    before = data_file.read_bytes()
    result = run_emulator("serve", "--port", "0", "--data-file", str(data_file))
    assert result.returncode == 2, result
    assert "not a ctmp-emulator-state document" in result.stderr
    assert "Traceback" not in result.stderr
    assert data_file.read_bytes() == before


def _document_of_version(version: int) -> dict[str, Any]:
    return {
        "_meta": {"1": {"format": FORMAT, "version": version}},
        "tenants": {},
        "journal": {},
    }


def test_a_data_file_of_another_version_is_refused_with_a_clear_message(
    run_emulator: RunEmulator, tmp_path: Path
) -> None:
    data_file = tmp_path / "state.json"
    data_file.write_text(json.dumps(_document_of_version(3)), encoding="utf-8")
    before = data_file.read_bytes()
    result = run_emulator("serve", "--port", "0", "--data-file", str(data_file))
    assert result.returncode == 2, result
    assert "version 3 is not supported" in result.stderr
    assert "reads versions 1 and 2" in result.stderr
    assert data_file.read_bytes() == before


def test_loading_a_document_of_another_version_is_refused_and_keeps_the_state(
    spawn_emulator: SpawnEmulator,
) -> None:
    emulator = spawn_emulator("--quiet")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.post("/1/upload", json=_upload("kept"), headers=clevertap_headers()).is_success
        before = _tables(http.get("/_emulator/state").json())
        refused = http.put("/_emulator/state", json=_document_of_version(3))
        assert refused.status_code == 400
        # The answer names what is wrong: the version (in the message or a failing field).
        error = refused.json()["error"]
        named = [error["message"], *(d["path"] for d in error.get("details", []))]
        assert any("version" in text for text in named), error
        assert _tables(http.get("/_emulator/state").json()) == before
    emulator.stop(signal.SIGKILL)


# -- a save that fails is reported, never silent -----------------------------------------------


def _health(http: httpx.Client) -> dict[str, Any]:
    health = http.get("/_emulator/health")
    assert health.status_code == 200, health.text
    return health.json()  # type: ignore[no-any-return]


def test_a_full_disk_turns_health_degraded_and_save_answers_the_cause(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    """Disk full, unprivileged: no file of the process may pass 64 KB (RLIMIT_FSIZE), so a
    save of a bigger state fails with EFBIG half-way through its temp file."""
    data_file = tmp_path / "state.json"
    emulator = spawn_emulator("--data-file", str(data_file), "--quiet", file_size_limit=64 * 1024)
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert _health(http)["status"] == "ok"
        assert _health(http)["state_save"]["failures"] == 0
        for n in range(20):
            sent = http.post(
                "/1/upload", json=_upload(f"u{n}", 10, 500), headers=clevertap_headers()
            )
            assert sent.status_code == 200  # interval mode: ingestion goes on
        saved = http.post("/_emulator/state/save")
        assert saved.status_code == 500, saved.text
        assert saved.json()["error"]["code"] == "save_failed"
        assert "File too large" in saved.json()["error"]["message"]
        assert str(data_file) in saved.json()["error"]["message"]
        health = _health(http)
        assert health["status"] == "degraded"
        assert health["state_save"]["failures"] >= 1
        assert "File too large" in health["state_save"]["last_error"]
        # The partial temp file went with the failed write (it would hold the space).
        assert not _temp_files(data_file)
        # Back under the limit (a reset), saving works and health is ok again.
        assert http.post("/_emulator/reset").status_code == 200
        assert http.post("/_emulator/state/save").status_code == 200
        assert _health(http)["status"] == "ok"
        assert _health(http)["state_save"]["last_error"] is None
    emulator.stop(signal.SIGTERM)
    log = emulator.stderr()
    assert "Traceback" not in log
    # One line for the failing spell (the background saver retried every second), one for the end.
    assert log.count("could not save the state") == 1, log
    assert log.count("works again") == 1, log


def test_a_data_directory_gone_at_run_time_is_reported_until_it_is_back(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    data_file = folder / "state.json"
    emulator = spawn_emulator("--data-file", str(data_file), "--quiet")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        folder.rename(tmp_path / "moved")
        assert http.post("/1/upload", json=_upload("u"), headers=clevertap_headers()).is_success
        saved = http.post("/_emulator/state/save")
        assert saved.status_code == 500
        assert "No such file or directory" in saved.json()["error"]["message"]
        health = _health(http)
        assert health["status"] == "degraded"
        assert health["state_save"]["path"] == str(data_file.resolve())
        (tmp_path / "moved").rename(folder)
        assert http.post("/_emulator/state/save").status_code == 200
        assert _health(http)["status"] == "ok"
    assert emulator.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "Traceback" not in emulator.stderr()


def test_a_failed_save_at_shutdown_is_one_line(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    emulator = spawn_emulator("--data-file", str(folder / "state.json"), "--quiet")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.post("/1/upload", json=_upload("u"), headers=clevertap_headers()).is_success
    folder.rmdir()
    emulator.stop(signal.SIGTERM)
    log = emulator.stderr()
    assert "the state was NOT saved at shutdown" in log
    assert "Traceback" not in log


# -- the data file is checked before "ready" ---------------------------------------------------


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("", "is a directory"),
        ("missing/state.json", "does not exist"),
        ("a-file/state.json", "is not a directory"),
    ],
)
def test_a_data_file_that_cannot_be_written_stops_the_start(
    run_emulator: RunEmulator, tmp_path: Path, where: str, reason: str
) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    data_file = tmp_path / where if where else tmp_path
    result = run_emulator("serve", "--port", "0", "--data-file", str(data_file))
    assert result.returncode == 2, result
    assert result.stdout == ""  # never said it was ready
    [line] = result.stderr.splitlines()
    assert reason in line and str(data_file) in line


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root writes in a read-only directory"
)
def test_an_unwritable_data_directory_stops_the_start(
    run_emulator: RunEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    try:
        result = run_emulator("serve", "--port", "0", "--data-file", str(folder / "s.json"))
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2, result
    assert "cannot write in" in result.stderr and "Permission denied" in result.stderr
    assert result.stdout == ""


# -- only the emulator's own temp files are cleaned ----------------------------------------------


def test_a_glob_in_the_data_file_name_removes_no_other_file(
    spawn_emulator: SpawnEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    others = [".a.tmp", ".b.1.tmp", ".state.json.tmp", ".state.json.12x.tmp", "notes.txt"]
    for name in others:
        (folder / name).write_text("keep", encoding="utf-8")
    stale = folder / ".*.4242.tmp"  # what a killed save of a file named `*` leaves
    stale.write_text("partial", encoding="utf-8")
    emulator = spawn_emulator("--data-file", str(folder / "*"), "--quiet")
    emulator.stop(signal.SIGKILL)
    assert sorted(p.name for p in folder.iterdir()) == sorted(others)


# -- the data file is validated on load like PUT /_emulator/state ---------------------------------


def _saved_document(spawn_emulator: SpawnEmulator, data_file: Path) -> dict[str, Any]:
    def fill(http: httpx.Client) -> None:
        assert http.post("/1/upload", json=_upload("u", 2), headers=clevertap_headers()).is_success

    return saved_data_file(spawn_emulator, data_file, fill)


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda d: d["_meta"]["1"]["clock"].update(offset=1e300), '$._meta["1"].clock.offset'),
        (lambda d: d["journal"]["1"].update(seq=10**30), "journal row 1: $.seq"),
        (lambda d: d["journal"]["1"].update(time="soon"), "journal row 1"),
        (lambda d: d.update({"users": {}}), "$"),
        (lambda d: d["tenants"]["1"].update(region=7), "tenant"),
    ],
    ids=["clock-overflow", "huge-seq", "bad-journal-row", "unknown-table", "bad-tenant"],
)
def test_a_data_file_that_breaks_the_state_contract_stops_the_start(
    spawn_emulator: SpawnEmulator,
    run_emulator: RunEmulator,
    tmp_path: Path,
    mutate: Any,
    named: str,
) -> None:
    data_file = tmp_path / "state.json"
    document = _saved_document(spawn_emulator, data_file)
    mutate(document)
    assert_start_refused(run_emulator, data_file, document, named)


def test_a_data_file_nested_past_the_limit_stops_the_start(
    spawn_emulator: SpawnEmulator, run_emulator: RunEmulator, tmp_path: Path
) -> None:
    data_file = tmp_path / "state.json"
    document = _saved_document(spawn_emulator, data_file)
    assert document["_meta"]["1"]["version"] == FILE_VERSION  # the columns' format too
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    document["journal"]["1"]["body"] = deep
    data_file.write_text(json.dumps(document), encoding="utf-8")
    result = run_emulator("serve", "--port", "0", "--data-file", str(data_file))
    assert result.returncode == 2, result
    assert "nested deeper than 80 levels" in result.stderr
    assert "Traceback" not in result.stderr
