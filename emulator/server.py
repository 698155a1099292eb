"""Running the app on uvicorn: in the foreground (the CLI) or in a thread (the pytest plugin)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from emulator.app import create_app
from emulator.config import Config
from emulator.protocol import ConnectionLimits, connection_cap, guarded_protocol


class EmulatorServer(uvicorn.Server):
    """A uvicorn server that knows its URL once its socket is bound (port 0 works)."""

    def __init__(self, config: Config, on_ready: Callable[[str], None] | None = None) -> None:
        self.app = create_app(config)
        super().__init__(
            uvicorn.Config(
                self.app,
                host=config.host,
                port=config.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
                http=guarded_protocol(
                    ConnectionLimits(
                        connection_cap(config.max_connections),
                        config.max_header_bytes,
                        config.header_timeout,
                    )
                ),
                timeout_keep_alive=config.keep_alive_timeout,
            )
        )
        self.url = ""
        self._on_ready = on_ready

    async def shutdown(self, sockets: Any = None) -> None:
        # Open event streams (the inspector's live journal) end first: uvicorn waits for every
        # response in progress, and a stream never ends by itself.
        self.app.state.emulator.journal.close_subscribers()
        await super().shutdown(sockets)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            self.url = f"http://{shown}:{port}"
            if self._on_ready is not None:
                self._on_ready(self.url)


class ThreadedServer:
    """The emulator in a background thread of this process; `url` is set when it is ready."""

    def __init__(self, config: Config) -> None:
        self._ready = threading.Event()
        self.server = EmulatorServer(config, on_ready=lambda _: self._ready.set())
        self._thread = threading.Thread(target=self._run, name="ctmp-emulator", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            self._ready.set()

    @property
    def url(self) -> str:
        return self.server.url

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(timeout) or not self.server.started:
            raise RuntimeError(f"the emulator did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
