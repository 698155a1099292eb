"""The web inspector in headless Chromium: one pytest test per `tests/ui/browser/*.test.mjs`.

Each file is a `node --test` file that drives Debian's Chromium (`/usr/bin/chromium`, or
`CHROMIUM_PATH`) through playwright-core with the shared `tests/ui/browser/helper.mjs`, against
the session's emulator (freshly reset; its URL in `EMULATOR_URL`). Screenshots go to
`SCREENSHOT_DIR` (a temporary folder unless set: `SCREENSHOT_DIR=docs/screenshots` refreshes the
README's). Anything missing (node, `npm ci`, Chromium) fails the test; nothing here skips.
See tests/ui/README.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from emulator.testing.plugin import EmulatorHandle

if TYPE_CHECKING:
    from tests.conftest import RunNodeFile

ROOT = Path(__file__).resolve().parents[2]
BROWSER_TESTS = sorted((ROOT / "tests" / "ui" / "browser").glob("*.test.mjs"))
NPM_PACKAGES = {"playwright-core": "1.64.1", "clevertap": "1.3.0", "mparticle": "1.0.8"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.mark.parametrize("test_file", BROWSER_TESTS, ids=lambda path: path.name)
def test_inspector_in_browser(
    test_file: Path, emulator: EmulatorHandle, run_node_file: RunNodeFile, tmp_path: Path
) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium", pytrace=False)
    shots = os.environ.get("SCREENSHOT_DIR") or str(tmp_path / "screenshots")
    run_node_file(
        emulator.url,
        str(test_file.relative_to(ROOT)),
        NPM_PACKAGES,
        env={"SCREENSHOT_DIR": str(Path(shots).resolve()), "CHROMIUM_PATH": CHROMIUM},
    )
