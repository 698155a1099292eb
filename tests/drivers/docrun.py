"""Runs one Markdown code block (tests/drivers/docblocks.py) against a running emulator, as a
reader who pastes it would: shell blocks in bash, Python in its own interpreter (a `pytest`
block under pytest), npm-client blocks in node, the Web SDK page in Chromium, TOML through the
config loader.

The blocks name the emulator's documented address, `127.0.0.1:8787`; the harness runs its own
emulator on a free port and rewrites that address to it, so a developer's emulator on 8787 (or
another pytest-xdist worker's) is never touched. Each block runs in a fresh folder with
`fixtures/` linked in, so repository paths in it resolve and nothing it writes lands in the
repository. A block that exits non-zero, times out or prints other than its `output` block
fails with its output."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from emulator.config import load_config
from emulator.testing import EmulatorClient, WaitTimeout
from tests.drivers.browser import launch_browser
from tests.drivers.docblocks import ROOT, Block, check_output
from tests.drivers.process import run_group

DOC_ADDRESS = "127.0.0.1:8787"
BLOCK_TIMEOUT = 60.0  # seconds a block may take (the scenario replay is the slowest, ~5 s)
BROWSER_TIMEOUT = 30.0  # Chromium's start, the page's load and its first requests


class BlockFailed(AssertionError):
    pass


def rewrite(source: str, url: str) -> str:
    """The block with the documented address replaced by the harness emulator's."""
    return source.replace(DOC_ADDRESS, url.removeprefix("http://"))


def block_env(url: str) -> dict[str, str]:
    """The environment a block runs in: this interpreter's scripts first on PATH (python3,
    ctmp-emulator), the repository importable, npm packages from its node_modules, and
    nothing of the pytest run around it (a worker's name would make the plugin hand out
    per-worker tenants)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CTMP_"))}
    scripts = str(Path(sys.executable).parent)
    env.update(
        PATH=os.pathsep.join([scripts, env.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        NODE_PATH=str(ROOT / "node_modules"),
        CTMP_EMULATOR_URL=url,
        NO_COLOR="1",
    )
    return env


def run_process(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run `command` in its own process group; its stdout, or BlockFailed with everything it
    printed when it exits non-zero or runs past `timeout` (the whole group is killed)."""
    done = run_group(command, cwd, env, timeout)
    if done.returncode is None:
        raise BlockFailed(f"did not finish within {timeout} s\n{done.out}\n{done.err}")
    if done.returncode != 0:
        raise BlockFailed(f"exit {done.returncode}\n--- stdout\n{done.out}\n--- stderr\n{done.err}")
    return done.out


class DocRunner:
    """Runs blocks against the emulator at `url` (`client`: its control API), each in a new
    folder under `workdir`."""

    def __init__(self, url: str, client: EmulatorClient, workdir: Path) -> None:
        self.url = url
        self.client = client
        self.workdir = workdir
        self.env = block_env(url)

    def folder(self, block: Block) -> Path:
        folder = self.workdir / f"{Path(block.path).stem}-{block.line}"
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "fixtures").exists():
            (folder / "fixtures").symlink_to(ROOT / "fixtures")
        return folder

    def run(self, block: Block) -> str:
        """Run `block`, check its shown output; answers what it printed."""
        runner = block.runner
        assert runner is not None, f"{block} is not runnable"
        folder = self.folder(block)
        source = rewrite(block.source, self.url)
        try:
            printed = getattr(self, f"_{runner}")(source, folder)
        except BlockFailed as failure:
            raise BlockFailed(f"{block} ({runner}) failed: {failure}") from None
        check_output(block, printed)
        return printed

    def _shell(self, source: str, folder: Path) -> str:
        script = folder / "block.sh"
        script.write_text(source, encoding="utf-8")
        command = ["bash", "-e", "-o", "pipefail", str(script)]
        return run_process(command, folder, self.env, BLOCK_TIMEOUT)

    def _python(self, source: str, folder: Path) -> str:
        script = folder / "block.py"
        script.write_text(source, encoding="utf-8")
        return run_process([sys.executable, str(script)], folder, self.env, BLOCK_TIMEOUT)

    def _pytest(self, source: str, folder: Path) -> str:
        module = folder / "test_block.py"
        module.write_text(source, encoding="utf-8")
        # The plugin named, not found among every installed entry point: loading them all
        # (schemathesis, hypothesis) took 5 to 15 s on CI's two cores, the test itself 0.2 s.
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["-p", "emulator.testing.plugin", module.name]
        env = {**self.env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        return run_process(command, folder, env, BLOCK_TIMEOUT)

    def _node(self, source: str, folder: Path) -> str:
        node = shutil.which("node")
        if node is None:
            raise BlockFailed("node is not on PATH: install Node.js, then run `npm ci`")
        script = folder / "block.cjs"
        script.write_text(source, encoding="utf-8")
        return run_process([node, str(script)], folder, self.env, BLOCK_TIMEOUT)

    def _config(self, source: str, folder: Path) -> str:
        path = folder / "emulator.toml"
        path.write_text(source, encoding="utf-8")
        config = load_config(path)
        return json.dumps({"mode": config.mode, "tenants": [t["id"] for t in config.tenants]})

    def _browser(self, source: str, folder: Path) -> str:
        """Serve the block as a page over plain HTTP (the SDK's browser build at
        `/mparticle.js`) in headless Chromium, wait until the emulator has journaled the
        page's identify (200) and an events upload (202); answers what the page logged."""
        return "\n".join(self.browse(source, folder))

    def browse(self, html: str, folder: Path) -> list[str]:
        page = folder / "page.html"
        page.write_text(html, encoding="utf-8")
        browser = launch_browser(self.url, folder, {"PAGE_HTML": str(page)})
        try:
            try:
                for path, status in (("/v1/identify", 200), ("/v3/JS/*", 202)):
                    self.client.wait_for(
                        path=path, status=status, origin="client", timeout=BROWSER_TIMEOUT
                    )
            finally:
                browser.eval("1")  # the driver answers with what the page logged meanwhile
        except WaitTimeout as timeout:
            raise BlockFailed(f"{timeout}\npage log:\n" + "\n".join(browser.log)) from None
        finally:
            browser.close()
        errors = [line for line in browser.log if line.startswith(("pageerror", "console.error"))]
        if errors:
            raise BlockFailed("the page reported errors:\n" + "\n".join(browser.log))
        return browser.log
