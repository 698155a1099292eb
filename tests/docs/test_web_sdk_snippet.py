"""The README's Web SDK block, pasted as written into a page served over plain HTTP, identifies
a user and logs its event in Chromium (the real @mparticle/web-sdk through
tests/clients/web/driver.mjs)."""

from __future__ import annotations

import time
from pathlib import Path

from emulator.testing.plugin import EmulatorHandle
from tests.drivers.docblocks import ROOT, blocks_of
from tests.drivers.docrun import DocRunner, rewrite


def test_the_readme_web_sdk_block_identifies_and_logs_an_event(
    emulator: EmulatorHandle, doc_runner: DocRunner, tmp_path: Path
) -> None:
    (block,) = [b for b in blocks_of(ROOT / "README.md") if b.runner == "browser"]
    log = doc_runner.browse(rewrite(block.source, emulator.url), tmp_path)
    assert any(line.startswith("GET http://127.0.0.1:") for line in log), log  # plain HTTP

    client = emulator.client
    (identify,) = client.requests(method="POST", path="/v1/identify", origin="client")
    assert identify["status"] == 200 and identify["headers"]["x-mp-key"] == "emu-web-key"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the SDK may send the event in a later upload
        users = client.mparticle.users()
        if users and "Clicked" in users[0]["events"]:
            break
        time.sleep(0.1)
    (user,) = client.mparticle.users()
    assert user["events"]["Clicked"]["count"] == 1, user
    events = [e for b in client.mparticle.batches() for e in b["batch"].get("events", [])]
    (clicked,) = [e for e in events if e["data"].get("event_name") == "Clicked"]
    assert clicked["data"]["custom_event_type"] == "navigation"
    assert clicked["data"]["custom_attributes"] == {"button": "home"}
