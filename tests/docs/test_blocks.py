"""Every fenced block of README.md and docs/*.md runs as a reader would run it, against the
session's emulator, and prints what its `output` block shows (tests/drivers/docblocks.py says
how blocks are marked; tests/drivers/docrun.py how each language runs). A block that is
neither runnable nor marked `norun` fails here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.drivers.docblocks import ROOT, Block, blocks_of, documents
from tests.drivers.docrun import DocRunner

# Another tree's README.md and docs/ instead of this repository's: how tests/docs/test_harness.py
# shows that a broken block fails this file.
DOCS = Path(os.environ.get("DOCS_HARNESS_ROOT", ROOT))
BLOCKS = [block for document in documents(DOCS) for block in blocks_of(document, DOCS)]
RUN = [block for block in BLOCKS if not block.flags & {"norun", "output"}]


@pytest.mark.parametrize("block", RUN, ids=str)
def test_block(block: Block, doc_runner: DocRunner) -> None:
    doc_runner.run(block)


@pytest.mark.skipif(DOCS != ROOT, reason="another tree's docs (DOCS_HARNESS_ROOT)")
def test_the_harness_runs_the_readme() -> None:
    """The harness found the README's blocks (a parser change that found none would pass)."""
    readme = [block for block in RUN if block.path == "README.md"]
    assert len(readme) >= 10, [str(b) for b in readme]
    assert {b.runner for b in readme} >= {"shell", "python", "pytest", "node", "browser"}
