"""The peers `run.py --peers` measures beside the emulator: WireMock and Prism, each given the
same contract and answering the same bodies.

- WireMock (https://wiremock.org/docs/standalone/java-jar/), the standalone jar that the npm
  package `wiremock` ships, run by `java` with its request journal on (its default). One stub
  per ingestion path, matched with `matchesJsonSchema` (https://wiremock.org/docs/request-matching/)
  against the contract the emulator holds that body to: `clevertap/upload` for `/1/upload`,
  `mparticle/batch` for `/v2/events`, and for `/v2/bulkevents` `mparticle/bulk` with each item
  held to `mparticle/batch` (what the emulator checks batch by batch). The stub answers the
  emulator's status with a fixed body; the emulator's per-record checks and storage have no
  WireMock counterpart, so the peer does less work for the same answer.
- Prism (https://docs.stoplight.io/docs/prism/), the npm package `@stoplight/prism-cli`, as a
  validating mock of the emulator's own OpenAPI document (`/_emulator/openapi.json`, whose
  schemas are the contracts) cut down to the measured paths: it validates the request and
  answers the operation's example.

Neither is a dependency of the project or of CI: `npm ci --prefix bench/peers` installs both
(pinned in bench/peers/package.json and its lock), and `run.py --peers` does it when they are
missing. A peer whose runtime (java, node) or package is missing is left out with a message.
"""

from __future__ import annotations

import copy
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from rawhttp import SyncConnection, build_request
from run import ROOT, Scenario, Server

PEERS_DIR = Path(__file__).resolve().parent / "peers"
BIN = PEERS_DIR / "node_modules" / ".bin"
HOST = "127.0.0.1"
# The paths a peer serves, with the contract its stub holds the body to.
CONTRACTS = {
    "/1/upload": "clevertap/upload",
    "/v2/events": "mparticle/batch",
    "/v2/bulkevents": "mparticle/bulk",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _contract(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((ROOT / "contracts" / f"{name}.json").read_text())
    if name == "mparticle/bulk":
        # The emulator holds each batch of a bulk request to mparticle/batch.
        batch = _contract("mparticle/batch")
        schema = copy.deepcopy(schema)
        schema["items"] = {k: v for k, v in batch.items() if k not in ("$schema", "$defs")}
        schema["$defs"] = batch.get("$defs", {})
    return schema


def install() -> str | None:
    """Install the peers' npm packages when missing; why not, if they cannot be."""
    if (BIN / "wiremock").exists() and (BIN / "prism").exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on the PATH"
    print("installing the peers (npm ci --prefix bench/peers) ...", flush=True)
    done = subprocess.run(
        [npm, "ci", "--prefix", str(PEERS_DIR), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"npm ci failed: {done.stderr[-1000:]}"
    return None


class Peer(Server):
    """A peer server: started on a port chosen here, ready once `probe` answers."""

    probe = "/"

    def __init__(self, name: str, argv: list[str], workdir: Path, port: int) -> None:
        super().__init__(name, argv, workdir)
        self.port = port

    def expected(self, scenario: Scenario) -> int | None:
        if scenario.forwarding or scenario.path not in CONTRACTS:
            return None
        return scenario.expect

    def start(self, timeout: float = 90.0) -> None:
        self.prepare()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=self.log.parent, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection((HOST, self.port), timeout=5) as sock:
                    probe = build_request("GET", self.probe, HOST, {"Connection": "close"}, None)
                    sock.sendall(probe)
                    if sock.recv(64).startswith(b"HTTP/1."):
                        return  # it answers HTTP (any status: it listens)
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} did not start:\n{tail}")

    def prepare(self) -> None:
        """Write what the peer reads at start."""


class WireMock(Peer):
    probe = "/__admin/health"

    def __init__(self, workdir: Path, scenarios: Sequence[Scenario]) -> None:
        jar = sorted((PEERS_DIR / "node_modules" / "wiremock" / "build").glob("wiremock-*.jar"))
        self.root = workdir / "wiremock"
        port = _free_port()
        argv = [
            "java",
            "-jar",
            str(jar[-1]) if jar else "wiremock-standalone.jar",
            "--port",
            str(port),
            "--bind-address",
            HOST,
            "--root-dir",
            str(self.root),
            "--disable-banner",
            # Content-Length, as the emulator answers (and the bench's own client reads).
            "--use-chunked-encoding",
            "never",
        ]
        super().__init__("wiremock", argv, workdir, port)
        self.scenarios = scenarios

    def prepare(self) -> None:
        mappings = self.root / "mappings"
        mappings.mkdir(parents=True, exist_ok=True)
        statuses = {s.path: s.expect for s in self.scenarios if s.path in CONTRACTS}
        for path, contract in CONTRACTS.items():
            answer: dict[str, Any] = {"status": statuses.get(path, 200)}
            if path == "/1/upload":
                answer["jsonBody"] = {"status": "success", "processed": 1, "unprocessed": []}
            stub = {
                "request": {
                    "method": "POST",
                    "url": path,
                    "bodyPatterns": [
                        {
                            "matchesJsonSchema": json.dumps(_contract(contract)),
                            "schemaVersion": "V202012",
                        }
                    ],
                },
                "response": answer,
            }
            name = contract.replace("/", "-")
            (mappings / f"{name}.json").write_bytes(orjson.dumps(stub))


class Prism(Peer):
    probe = "/__prism-probe"  # any answer (404 included) means it listens

    def __init__(self, workdir: Path, emulator: Server) -> None:
        port = _free_port()
        self.document = workdir / "prism-openapi.json"
        argv = [str(BIN / "prism"), "mock", str(self.document), "-h", HOST, "-p", str(port)]
        super().__init__("prism", argv, workdir, port)
        self.emulator = emulator

    def prepare(self) -> None:
        """The emulator's served OpenAPI document, cut down to the measured paths."""
        conn = SyncConnection(HOST, self.emulator.port)
        try:
            reply = conn.request(build_request("GET", "/_emulator/openapi.json", HOST, {}, None))
        finally:
            conn.close()
        document = orjson.loads(reply.body)
        document["paths"] = {
            path: {"post": ops["post"]}
            for path, ops in document["paths"].items()
            if path in CONTRACTS
        }
        self.document.write_bytes(orjson.dumps(document))


def peer_servers(workdir: Path, scenarios: Sequence[Scenario], emulator: Server) -> list[Peer]:
    """The peers that can run here (each missing one named, with why)."""
    problem = install()
    if problem is not None:
        print(f"peers: left out ({problem})", flush=True)
        return []
    found: list[Peer] = []
    if shutil.which("java") is None:
        print("peers: WireMock left out (no java on the PATH: it needs a JRE 11+)", flush=True)
    else:
        found.append(WireMock(workdir, scenarios))
    if shutil.which("node") is None:
        print("peers: Prism left out (no node on the PATH)", flush=True)
    else:
        found.append(Prism(workdir, emulator))
    return found
