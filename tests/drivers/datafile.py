"""The emulator's data file in tests: a saved one to edit, and a start it must refuse."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from tests.conftest import RunEmulator, SpawnEmulator


def saved_data_file(
    spawn_emulator: SpawnEmulator, data_file: Path, fill: Callable[[httpx.Client], None]
) -> dict[str, Any]:
    """Start an emulator on `data_file`, `fill` it, save, kill it, and answer the file's
    document (to edit before `assert_start_refused`)."""
    emulator = spawn_emulator("--data-file", str(data_file), "--quiet")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        fill(http)
        assert http.post("/_emulator/state/save").status_code == 200
    emulator.stop(signal.SIGKILL)
    return json.loads(data_file.read_bytes())  # type: ignore[no-any-return]


def assert_start_refused(
    run_emulator: RunEmulator, data_file: Path, document: dict[str, Any], named: str
) -> None:
    """`document` written to `data_file` stops `serve`: exit 2, nothing on stdout, one stderr
    line naming the file and `named`, and the file left as it was."""
    data_file.write_text(json.dumps(document), encoding="utf-8")
    before = data_file.read_bytes()
    result = run_emulator("serve", "--port", "0", "--data-file", str(data_file))
    assert result.returncode == 2, result
    assert result.stdout == ""
    [line] = result.stderr.splitlines()  # one line: the file, where in it, why
    assert str(data_file) in line and named in line, line
    assert data_file.read_bytes() == before
