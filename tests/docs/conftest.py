"""The docs harness's fixture: a block runner on the session's emulator, freshly reset."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers.docrun import DocRunner


@pytest.fixture
def doc_runner(emulator: EmulatorHandle, tmp_path: Path) -> DocRunner:
    """Runs Markdown blocks against the session's emulator (reset before each test), each in a
    folder of its own under `tmp_path`."""
    return DocRunner(emulator.url, emulator.client, tmp_path)
