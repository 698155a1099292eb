"""The baseline: a bare Starlette app that only reads the body and parses it with orjson.

It runs on uvicorn with the emulator's settings (emulator/server.py: log_level warning, no access
log, lifespan on, default http which picks httptools), so `run.py`'s emulator/bare ratio is the
cost of the emulator's own work: routing, auth, contracts, journal, storage.

`--loop auto` (the default) lets uvicorn pick uvloop, as `uvicorn.Server.run()` does. `--loop
asyncio` starts it the way `ctmp-emulator serve` does today (`asyncio.run(server.serve())`), which
bypasses uvicorn's loop factory and so runs on the stdlib loop.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


async def parse_only(request: Request) -> Response:
    body = await request.body()
    parsed = orjson.loads(body) if body else None
    size = len(parsed) if isinstance(parsed, list | dict) else 0
    return Response(orjson.dumps({"status": "ok", "items": size}), media_type="application/json")


# One catch-all route: every scenario's path reaches the same parse-only endpoint.
app = Starlette(routes=[Route("/{path:path}", parse_only, methods=METHODS)])


class _Server(uvicorn.Server):
    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"bare-app ready on http://{host}:{port}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bare Starlette parse-only baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=["auto", "asyncio"], default="auto")
    parser.add_argument(
        "--server",
        choices=["uvicorn", "granian"],
        default="uvicorn",
        help="granian: the same app on granian (a Rust HTTP server), one worker, uvloop",
    )
    args = parser.parse_args(argv)
    if args.server == "granian":
        return _granian(args.host, args.port)
    server = _Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
    )
    if args.loop == "auto":
        server.run()
    else:
        asyncio.run(server.serve())
    return 0 if server.started else 1


def _granian(host: str, port: int) -> int:
    """The app on granian (its own CLI, one worker, uvloop) on a free port picked here; the
    ready line is printed once the port accepts, as uvicorn's is."""
    import shutil
    import signal
    import socket
    import subprocess
    import time

    if port == 0:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
    granian = shutil.which("granian") or str(Path(sys.executable).with_name("granian"))
    argv = [granian, "--interface", "asgi", "--host", host, "--port", str(port)]
    argv += ["--loop", "uvloop", "--workers", "1", "--no-ws", "--log-level", "warning"]
    child = subprocess.Popen([*argv, "bare_app:app"], cwd=Path(__file__).resolve().parent)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and child.poll() is None:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
            continue
        print(f"bare-app (granian) ready on http://{host}:{port}", flush=True)
        break
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
