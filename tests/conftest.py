"""Shared fixtures for tests that run the emulator as a separate process (`serve`), the runner
for the npm client suites in tests/clients/node/, and the hypothesis profile for CI."""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import settings

from emulator.testing.client import EmulatorClient
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.dsr import DsrDriver
from tests.drivers.inspector import InspectorDriver
from tests.drivers.operations import Corpus
from tests.drivers.process import run_group

# CI replays the same generated cases every run (a red CI names a bug, never a lucky draw);
# locally, every run explores new cases.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True)
    settings.load_profile("ci")

# How long a process may take to print its ready line or to exit; a hang fails, never blocks.
STARTUP_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0

MODULE_COMMAND = [sys.executable, "-m", "emulator"]


@dataclass
class EmulatorProcess:
    """An emulator started with `serve ... --port 0`, ready: `url` comes from its ready line."""

    proc: subprocess.Popen[bytes]
    ready_line: str
    url: str
    stderr_path: Path
    stdout_rest: str = field(default="")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig`, wait for the exit, keep what stdout still had; answer the return code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise
        self.stdout_rest = out.decode("utf-8", "replace")
        return self.proc.returncode

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def next_line(self) -> str:
        """The next line the process prints (after the ready line: `serve --tls`'s https line)."""
        return _read_line(self.proc, STARTUP_TIMEOUT)


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """One line of the process's stdout, read byte by byte so nothing after it is consumed."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete line on stdout within {timeout} s (got {line!r})")
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 1)
        if not chunk:
            break  # the process closed stdout (it exited)
        line += chunk
    return line.decode("utf-8", "replace")


SpawnEmulator = Callable[..., EmulatorProcess]


def _limit_files(size: int) -> Callable[[], None]:
    def limit() -> None:  # in the child, before exec; Python ignores SIGXFSZ, so writes fail
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.fixture
def spawn_emulator(tmp_path: Path) -> Iterator[SpawnEmulator]:
    """Start `python -m emulator serve --port 0 <args>` (or `command`) and wait for it to be ready.

    Every process started here is killed at teardown if the test left it running.
    """
    started: list[subprocess.Popen[bytes]] = []

    def spawn(
        *args: str,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        file_size_limit: int | None = None,
    ) -> EmulatorProcess:
        """`file_size_limit`: no file the process writes may grow past this many bytes
        (RLIMIT_FSIZE; a write past it fails with EFBIG, as on a full disk, unprivileged)."""
        stderr_path = tmp_path / f"stderr-{len(started)}.txt"
        with stderr_path.open("wb") as stderr:
            proc = subprocess.Popen(
                [*(command or MODULE_COMMAND), "serve", "--port", "0", *args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=tmp_path,
                preexec_fn=None if file_size_limit is None else _limit_files(file_size_limit),
                env=None if env is None else {**os.environ, **env},
            )
        started.append(proc)
        line = _read_line(proc, STARTUP_TIMEOUT)
        if "ready" not in line:
            proc.kill()
            proc.wait(EXIT_TIMEOUT)
            raise AssertionError(
                f"the emulator did not start (exit {proc.returncode}); stdout {line!r}; "
                f"stderr:\n{stderr_path.read_text(errors='replace')}"
            )
        return EmulatorProcess(proc, line, line.split()[-1], stderr_path)

    try:
        yield spawn
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(EXIT_TIMEOUT)
            if proc.stdout is not None:
                proc.stdout.close()


RunEmulator = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_emulator(tmp_path: Path) -> RunEmulator:
    """Run `python -m emulator <args>` to completion (for commands that must exit by themselves),
    with `env` added to the environment."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*MODULE_COMMAND, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=None if env is None else {**os.environ, **env},
            timeout=EXIT_TIMEOUT,
            check=False,
        )

    return run


# ---- npm client suites (tests/clients/node/) -----------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# A suite takes a few seconds; a hang (a cursor loop, a request that never answers) fails.
NODE_TIMEOUT = 120.0


def _npm_package_version(package: str) -> str | None:
    manifest = ROOT / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def _node_version(node: str) -> tuple[int, int]:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    assert match, f"unexpected `node --version` output {out!r}"
    return int(match[1]), int(match[2])


def _run_node(command: list[str], env: dict[str, str]) -> tuple[int | None, str]:
    """Run `command` in its own process group; on a timeout, kill the group (node --test runs
    each file in a child process). Answers the exit code (None on a timeout) and the output."""
    done = run_group(command, ROOT, env, NODE_TIMEOUT, merge=True)
    return done.returncode, done.out


RunNodeFile = Callable[..., None]


def check_npm_packages(packages: dict[str, str]) -> None:
    """Fail (never skip) unless `node_modules` holds exactly these `{package: version}`."""
    for package, version in packages.items():
        found = _npm_package_version(package)
        if found != version:
            state = "is not installed" if found is None else f"is {found}"
            pytest.fail(
                f"the npm package {package} {state} in {ROOT / 'node_modules'} "
                f"(want {version}): run `npm ci` in {ROOT}",
                pytrace=False,
            )


@pytest.fixture
def run_node_file() -> RunNodeFile:
    """`run(emulator_url, path, packages, env=None)`: run one node test file (`path` relative
    to the repository) with node's test runner against the emulator (`EMULATOR_URL`, plus
    `env`), after checking that `node_modules` holds exactly `packages` (`{name: version}`,
    from package.json / package-lock.json: `npm ci`). Anything missing or any failing node test
    fails the pytest test; nothing here skips."""

    def run(
        emulator_url: str,
        path: str,
        packages: dict[str, str],
        env: dict[str, str] | None = None,
    ) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not on PATH: install Node.js, then run `npm ci`", pytrace=False)
        check_npm_packages(packages)
        file = ROOT / path
        assert file.is_file(), f"no node test file {file}"

        command = [node, "--test", "--test-reporter=spec"]
        if _node_version(node) >= (20, 14):
            # End the run when the tests are done, even if a request is still pending.
            command.append("--test-force-exit")
        command.append(str(file.relative_to(ROOT)))
        full_env = {**os.environ, "EMULATOR_URL": emulator_url, "NO_COLOR": "1", **(env or {})}
        code, output = _run_node(command, full_env)
        if code is None:
            pytest.fail(
                f"node --test did not finish within {NODE_TIMEOUT} s:\n{output}", pytrace=False
            )
        if code != 0:
            pytest.fail(f"node --test failed (exit {code}):\n{output}", pytrace=False)

    return run


RunNodeSuite = Callable[[str, str, str, str], None]


@pytest.fixture
def run_node_suite(run_node_file: RunNodeFile) -> RunNodeSuite:
    """`run(emulator_url, test_file, package, version)`: run one `tests/clients/node/` file
    (`run_node_file`) that needs the npm package `package@version`."""

    def run(emulator_url: str, test_file: str, package: str, version: str) -> None:
        run_node_file(emulator_url, f"tests/clients/node/{test_file}", {package: version})

    return run


# ---- HTTP clients and drivers shared by the platform tests -------------------------------------


@pytest.fixture(scope="session")
def http(emulator_server: str) -> Iterator[httpx.Client]:
    """One platform client (base URL: the emulator) for the session: building an httpx client
    costs ~25 ms, which per test would dominate a fast suite."""
    with httpx.Client(base_url=emulator_server, timeout=30) as client:
        yield client


@pytest.fixture
def ctl(emulator: EmulatorHandle) -> httpx.Client:
    """The control API client (base URL `{url}/_emulator`) of a freshly reset emulator."""
    return emulator.client.http


@pytest.fixture
def ct(emulator: EmulatorHandle, http: httpx.Client) -> CleverTapDriver:
    """CleverTap's API with the handle's account (the default one, or a pytest-xdist worker's
    own on a shared emulator), on a freshly reset emulator."""
    return CleverTapDriver(http, emulator.clevertap["id"], emulator.clevertap["passcode"])


@pytest.fixture
def mp(emulator: EmulatorHandle, http: httpx.Client) -> MParticleDriver:
    """mParticle's API with the handle's workspace keys, on a freshly reset emulator."""
    web = {"x-mp-key": emulator.mparticle["web_key"]}
    return MParticleDriver(http, emulator.mparticle_auth, web)


@pytest.fixture
def dsr(emulator: EmulatorHandle, http: httpx.Client) -> DsrDriver:
    """mParticle's OpenDSR API with the handle's workspace keys, on a freshly reset emulator."""
    return DsrDriver(http, emulator.mparticle_auth)


@pytest.fixture
def views(emulator: EmulatorHandle) -> ControlViews:
    """The control API's views of a freshly reset emulator."""
    return ControlViews(emulator.client)


@pytest.fixture
def bridge(mp: MParticleDriver, views: ControlViews) -> BridgeDriver:
    """The default connection's event flow (mParticle in, deliveries out)."""
    return BridgeDriver(mp, views)


@pytest.fixture
def inspector(emulator: EmulatorHandle, http: httpx.Client) -> InspectorDriver:
    """The web inspector's pages (`/_emulator/ui/...`) of a freshly reset emulator."""
    return InspectorDriver(http)


@pytest.fixture
def no_retry_deadline() -> Iterator[None]:
    """The PyPI mparticle client keeps a process-wide retry-after deadline: start and end the
    test without one (`pytestmark = pytest.mark.usefixtures("no_retry_deadline")`)."""
    from tests.drivers.pypi import clear_retry_deadline

    clear_retry_deadline()
    try:
        yield
    finally:
        clear_retry_deadline()


# The emulator's loggers, and uvicorn's: uvicorn's own configuration stops its records at the
# `uvicorn` logger, so pytest's capture (on the root logger) never sees them unless asked.
SERVER_LOGGERS = ("ctmp_emulator", "uvicorn")


@pytest.fixture
def server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """`errors()`: what the session's emulator logged so far in this test at ERROR or with a
    traceback (its handlers' bugs, a failed listener, uvicorn's "Exception in ASGI
    application"), one line each. Sees nothing of an emulator in another process
    (`CTMP_EMULATOR_URL`)."""
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)

    def errors() -> list[str]:
        return [
            f"{record.name}: {record.getMessage()}"
            + (f" ({record.exc_info[1]!r})" if record.exc_info else "")
            for record in caplog.records
            if record.name.split(".")[0] in SERVER_LOGGERS
            and (record.levelno >= logging.ERROR or record.exc_info)
        ]

    try:
        yield errors
    finally:
        uvicorn.removeHandler(caplog.handler)


@pytest.fixture
def corpus(
    emulator: EmulatorHandle,
    http: httpx.Client,
    views: ControlViews,
    mp: MParticleDriver,
    server_errors: Callable[[], list[str]],
) -> Corpus:
    """Every operation of the served OpenAPI document, on a freshly reset emulator, with what
    went wrong after each input (tests/drivers/operations.py)."""
    return Corpus(http, views, server_errors, mp.token())


# ---- a second emulator in lenient mode ---------------------------------------------------------


@dataclass
class Lenient:
    """mParticle's API and the control views of the session's lenient-mode emulator (`--mode
    lenient`: undeclared fields are warnings in the journal, not 400s), freshly reset."""

    mp: MParticleDriver
    views: ControlViews


@pytest.fixture(scope="session")
def lenient_server() -> Iterator[Lenient]:
    """The session's lenient-mode emulator (started on first use), its drivers built once."""
    from emulator.config import Config
    from emulator.server import ThreadedServer

    config = Config.defaults(port=0, mode="lenient", seed=5, log_requests=False)
    with (
        ThreadedServer(config) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        control = EmulatorClient(server.url)
        try:
            yield Lenient(MParticleDriver(client), ControlViews(control))
        finally:
            control.close()


@pytest.fixture
def lenient(lenient_server: Lenient) -> Lenient:
    """The lenient-mode emulator, freshly reset (tenants too)."""
    lenient_server.views.client.reset(tenants=True)
    return lenient_server
