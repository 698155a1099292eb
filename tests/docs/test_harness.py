"""The docs harness itself: a broken block, a drifted output and an unmarked block fail it,
and the pytest run that CI makes over the docs fails on them (exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.drivers.docblocks import ROOT, BlockError, blocks_of
from tests.drivers.docrun import BlockFailed, DocRunner

FENCE = "```"


def markdown(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "README.md"
    path.write_text(text.replace("~~~", FENCE), encoding="utf-8")
    return path


def test_a_block_that_fails_fails_the_harness(tmp_path: Path, doc_runner: DocRunner) -> None:
    path = markdown(
        tmp_path,
        "~~~python\nfrom emulator.testing import EmulatorClient\n"
        'EmulatorClient("http://127.0.0.1:8787").clevertap.profile(identity="nobody")\n~~~\n'
        "~~~sh\ncurl -sf http://127.0.0.1:8787/_emulator/no-such-view\n~~~\n",
    )
    python, shell = blocks_of(path, tmp_path)
    with pytest.raises(BlockFailed, match=r"(?s)README.md:1:python .*LookupError: 0 profiles"):
        doc_runner.run(python)
    with pytest.raises(BlockFailed, match=r"README.md:5:sh \(shell\) failed: exit 22"):
        doc_runner.run(shell)


def test_an_output_that_drifted_fails_the_harness(tmp_path: Path, doc_runner: DocRunner) -> None:
    """The README's health check with a shown output that is no longer what it prints."""
    path = markdown(
        tmp_path,
        "~~~sh\ncurl -s http://127.0.0.1:8787/_emulator/health\n~~~\n\n"
        '~~~json output\n{"status":"ok",...}\n~~~\n\n'
        "~~~sh\ncurl -s http://127.0.0.1:8787/_emulator/health\n~~~\n\n"
        '~~~json output\n{"status":"healthy",...}\n~~~\n',
    )
    same, _, drifted, _ = blocks_of(path, tmp_path)
    assert doc_runner.run(same).startswith('{"status":"ok"')
    with pytest.raises(AssertionError, match=r'(?s)Expected:.*"healthy".*Got:.*"ok"'):
        doc_runner.run(drifted)


def test_a_block_neither_runnable_nor_marked_fails(tmp_path: Path) -> None:
    path = markdown(tmp_path, "~~~\nctmp-emulator serve\n~~~\n~~~text norun\nshown only\n~~~\n")
    plain, shown = blocks_of(path, tmp_path)
    assert shown.runner is None
    with pytest.raises(BlockError, match=r"neither runnable .* nor marked"):
        _ = plain.runner
    orphan = markdown(tmp_path, "Prints:\n\n~~~text output\n202\n~~~\n")
    with pytest.raises(BlockError, match="must follow a runnable block"):
        blocks_of(orphan, tmp_path)


def test_ci_fails_on_a_broken_block(tmp_path: Path) -> None:
    """pytest over tests/docs/test_blocks.py, as CI runs it, on a tree whose README has one
    good block, one broken one and one whose output drifted: exit 1, two failures."""
    markdown(
        tmp_path,
        "~~~sh\necho ok\n~~~\n\n~~~text output\nok\n~~~\n\n"
        "~~~python\nraise SystemExit('broken')\n~~~\n\n"
        "~~~python\nprint(2 + 2)\n~~~\n\n~~~text output\n5\n~~~\n",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CTMP_"))}
    # Only the plugin this needs (loading every installed one takes seconds); no xdist, no
    # scenario files: this file's items alone.
    env.update(DOCS_HARNESS_ROOT=str(tmp_path), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    command = [sys.executable, "-m", "pytest", "tests/docs/test_blocks.py", "-q"]
    command += ["-p", "emulator.testing.plugin", "-p", "no:cacheprovider"]
    command += ["-o", "addopts=", "-o", "ctmp_scenarios="]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 failed, 1 passed" in result.stdout, result.stdout
    assert "FAILED tests/docs/test_blocks.py::test_block[README.md:9:python]" in result.stdout
    assert "FAILED tests/docs/test_blocks.py::test_block[README.md:13:python]" in result.stdout
