"""Running the app on uvicorn: in the foreground (the CLI) or in a thread (the pytest plugin)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from emulator.app import create_app
from emulator.config import Config
from emulator.listen import listen
from emulator.protocol import ConnectionLimits, connection_cap, guarded_protocol
from emulator.tls.listener import TlsSetup, prepare


class EmulatorServer(uvicorn.Server):
    """A uvicorn server that knows its URL once its socket is bound (port 0 works).

    With `config.tls`, the same server (one app, one event loop, one state) also listens on
    `tls_port` with a certificate for the platforms' host names (emulator/tls/): `tls_socket`
    when the caller bound it (the CLI, for a one-line error), else bound at start-up."""

    def __init__(
        self,
        config: Config,
        on_ready: Callable[[str], None] | None = None,
        tls_socket: socket.socket | None = None,
    ) -> None:
        self.app = create_app(config)
        emulator = self.app.state.emulator
        self.tls: TlsSetup | None = None
        if config.tls:
            self.tls = prepare(config.ca_dir, config.data_file, emulator.hosts.entries)
        self._tls_socket = tls_socket
        self.tls_url = ""
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
            self.url = "http://" + _address(self.servers[0])
            if self.tls is not None:
                await self._start_tls()
            if self._on_ready is not None:
                self._on_ready(self.url)

    async def _start_tls(self) -> None:
        """The TLS listener: uvicorn's protocol (and its bounds) over the TLS context, served
        by this server, so shutdown closes it and waits for its connections like the other."""
        assert self.tls is not None
        config = self.config
        settings = self.app.state.emulator.config
        sock = self._tls_socket or listen(settings.host, settings.tls_port, flag="--tls-port")

        def protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
            )

        server = await asyncio.get_running_loop().create_server(
            protocol,
            sock=sock,
            ssl=self.tls.context,
            backlog=config.backlog,
            # A client that never completes the handshake holds a socket no longer than one
            # that never completes its headers.
            ssl_handshake_timeout=settings.header_timeout,
        )
        self.servers.append(server)
        self.tls_url = "https://" + _address(server)


def _address(server: asyncio.base_events.Server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}"


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

    @property
    def tls_url(self) -> str:
        return self.server.tls_url

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
