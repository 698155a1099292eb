"""`ctmp-emulator serve` (start the emulator with working defaults), `ctmp-emulator replay`
(run scenario files, or `--update` their expectations), `ctmp-emulator record` (write a
scenario from a running emulator's traffic) and `ctmp-emulator ca` (the local CA of
`serve --tls`, to trust).

Every `serve` flag can also come from the environment (`--data-file` from `CTMP_DATA_FILE`),
which suits containers; a flag given on the command line wins over its variable."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from emulator import __version__
from emulator.config import DURABILITY, MODES, Config, ConfigError, load_config
from emulator.core.store import StateError
from emulator.core.tenants import TenantError
from emulator.listen import BindError, listen
from emulator.logs import FORMATS, LEVELS, configure

ENV_PREFIX = "CTMP_"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, not the usage block (a typo is found at a glance, also in a
    container's log); with `env_prefix`, each option's default comes from the environment
    (`--data-file` from `CTMP_DATA_FILE`), converted and checked like a flag's value."""

    def __init__(self, *args: Any, env_prefix: str | None = None, **kwargs: Any) -> None:
        self.env_prefix = env_prefix  # set first: the base class adds --help
        self.from_env: dict[str, tuple[str, argparse.Action]] = {}
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def add_argument(self, *names: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*names, **kwargs)
        if self.env_prefix is None or not action.option_strings or action.dest == "help":
            return action
        env = self.env_prefix + action.dest.upper()
        action.help = f"{action.help or ''} [env {env}]".strip()
        value = os.environ.get(env)
        if value is not None:
            # A string default goes through the option's `type` at parse time, like a flag's.
            action.default = value
            self.from_env[action.dest] = (env, action)
        return action

    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, rest = super().parse_known_args(args, namespace)
        self._check_environment(parsed)
        return parsed, rest

    def _check_environment(self, args: argparse.Namespace) -> None:
        """What argparse does not check in a default: choices, and on/off switches."""
        for dest, (env, action) in self.from_env.items():
            value = getattr(args, dest)
            if action.default is not value:
                continue  # given as a flag: the variable does not count
            if action.nargs == 0:  # store_true
                if value.lower() not in _TRUE + _FALSE:
                    self.error(f"{env}={value!r} is not one of 1/true/yes/on or 0/false/no/off")
                setattr(args, dest, value.lower() in _TRUE)
            elif action.choices is not None and value not in action.choices:
                choices = ", ".join(map(str, action.choices))
                self.error(f"{env}={value!r} is not one of {choices}")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        # uvicorn would wrap 99999 around to a random port, and -1 fails in the resolver.
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0 picks a free one)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ctmp-emulator", description="Local emulator of CleverTap and mParticle.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the emulator", env_prefix=ENV_PREFIX)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to bind (default 8787; 0 picks a free one)")
    serve.add_argument("--config", type=Path, help="TOML file with settings and tenants")
    serve.add_argument("--data-file", type=Path, help="persist the state to this JSON file")
    serve.add_argument(
        "--durability",
        choices=DURABILITY,
        help="always: fsync each applied request to a log before answering (default interval)",
    )
    serve.add_argument("--mode", choices=MODES, help="contract mode (default strict)")
    serve.add_argument("--seed", type=int, help="seed for generated ids (replays give equal ids)")
    serve.add_argument("--journal-size", type=int, help="journal entries kept (default 10000)")
    serve.add_argument(
        "--journal-bytes", type=int, help="journal bytes kept (default 67108864, 64 MiB)"
    )
    serve.add_argument("--admin-token", help="require this token on the control API")
    serve.add_argument(
        "--allowed-hosts",
        type=_names,
        help="comma-separated Host names the control API answers besides loopback ones "
        "('.example.test' includes subdomains, '*' any)",
    )
    serve.add_argument(
        "--max-json-depth",
        type=int,
        help="refuse request bodies nested deeper than this (default 64, at most 128)",
    )
    serve.add_argument(
        "--tls",
        action="store_true",
        help="also serve HTTPS on --tls-port with a certificate for the platforms' host names, "
        "from a local CA (docs/https.md)",
    )
    serve.add_argument(
        "--tls-port", type=_port, help="HTTPS port with --tls (default 8443; 0 picks a free one)"
    )
    _ca_dir_flag(serve)
    serve.add_argument("--quiet", action="store_true", help="no log line per request")
    serve.add_argument("--log-level", choices=LEVELS, default="info", help="default info")
    serve.add_argument(
        "--log-format", choices=FORMATS, default="text", help="text, or one JSON object a line"
    )
    replay = commands.add_parser("replay", help="run scenario files on a fresh emulator each")
    replay.add_argument("paths", nargs="+", help="scenario files, directories or globs")
    replay.add_argument("--junit-xml", type=Path, help="write the results as JUnit XML")
    replay.add_argument(
        "--url",
        help="run against this running emulator, in tenants of the scenario's own "
        "(other tenants' data is left alone; see docs/scenarios.md)",
    )
    replay.add_argument(
        "--update",
        action="store_true",
        help="rewrite each file's expectations from what the emulator answers (snapshot mode)",
    )
    rec = commands.add_parser(
        "record", help="record a scenario on a running emulator until Ctrl-C or SIGTERM"
    )
    rec.add_argument(
        "--url", required=True, help="the running emulator, e.g. http://127.0.0.1:8787"
    )
    rec.add_argument("--out", required=True, type=Path, help="the scenario file to write")
    rec.add_argument("--name", help="the scenario's name (default: the file's name)")
    rec.add_argument("--description", help="the scenario's description")
    rec.add_argument(
        "--tenant", action="append", help="record only this tenant's requests (repeatable)"
    )
    rec.add_argument("--admin-token", help="the emulator's control token, if it has one")
    ca = commands.add_parser(
        "ca",
        help="print the local CA certificate of serve --tls (made if missing), to trust it",
        env_prefix=ENV_PREFIX,
    )
    _ca_dir_flag(ca)
    ca.add_argument("--data-file", type=Path, help="the data file of serve (its directory)")
    ca.add_argument("--out", type=Path, help="write the PEM certificate to this file")
    ca.add_argument(
        "--spki",
        action="store_true",
        help="print the base64 SHA-256 of its public key instead "
        "(Chromium's --ignore-certificate-errors-spki-list)",
    )
    return parser


def _ca_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ca-dir",
        type=Path,
        help="where the local CA is kept (default: --data-file's directory, else "
        "~/.local/share/ctmp-emulator)",
    )


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _config(args: argparse.Namespace) -> Config:
    overrides = {
        "host": args.host,
        "port": args.port,
        "data_file": args.data_file,
        "durability": args.durability,
        "mode": args.mode,
        "seed": args.seed,
        "journal_size": args.journal_size,
        "journal_bytes": args.journal_bytes,
        "admin_token": args.admin_token,
        "allowed_hosts": args.allowed_hosts,
        "max_json_depth": args.max_json_depth,
        "tls": True if args.tls else None,
        "tls_port": args.tls_port,
        "ca_dir": args.ca_dir,
        "log_requests": False if args.quiet else None,
    }
    if args.config is not None:
        return load_config(args.config, **overrides)
    return Config.defaults(**{k: v for k, v in overrides.items() if v is not None})


def _ready(server: Any, url: str) -> None:
    """The ready line (its last word is the URL), then with --tls the HTTPS line."""
    print(f"ctmp-emulator ready on {url}", flush=True)
    if server.tls is not None:
        print(
            f"ctmp-emulator https on {server.tls_url} for the platforms' host names; "
            f"trust the CA {server.tls.authority.cert_path} (ctmp-emulator ca)",
            flush=True,
        )


def _ca(args: argparse.Namespace) -> int:
    """`ctmp-emulator ca`: the CA's PEM on stdout, or in `--out`, or its SPKI hash."""
    from emulator.tls.authority import AuthorityError
    from emulator.tls.listener import authority_for

    try:
        authority = authority_for(args.ca_dir, args.data_file)
        if args.spki:
            print(authority.spki_sha256)
        elif args.out is not None:
            args.out.write_bytes(authority.pem)
            print(f"ctmp-emulator: wrote the CA certificate to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(authority.pem.decode())
    except (AuthorityError, OSError) as exc:
        print(f"ctmp-emulator: {exc}", file=sys.stderr)
        return 2
    return 0


class _Stop(Exception):
    """SIGTERM, raised once uvicorn has shut down (it re-raises the signal it caught)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "replay":
        from emulator.scenarios.replay import replay

        return replay(args.paths, args.junit_xml, url=args.url, update=args.update)
    if args.command == "record":
        from emulator.scenarios.recorder import record

        return record(
            args.url, args.out, args.name, args.description, args.tenant, args.admin_token
        )
    if args.command == "ca":
        return _ca(args)
    from emulator.server import EmulatorServer  # imported late: `--help` stays instant
    from emulator.tls.authority import AuthorityError

    tls_sock = None
    try:
        config = _config(args)
        # Bound here, not by uvicorn, so that a port in use or a bad host is one clear line.
        sock = listen(config.host, config.port)
        if config.tls:
            tls_sock = listen(config.host, config.tls_port, flag="--tls-port")
        server = EmulatorServer(
            config, on_ready=lambda url: _ready(server, url), tls_socket=tls_sock
        )
    except (ConfigError, StateError, TenantError, BindError, AuthorityError) as exc:
        print(f"ctmp-emulator: {exc}", file=sys.stderr)
        return 2
    configure(args.log_level, args.log_format)  # after uvicorn's own logging set-up
    # What start-up made (modules, routes, contracts, a loaded data file) lives as long as the
    # process: moving it out of the collector's generations keeps full collections short (a
    # 10 ms pause before, under 1 ms after, with 670k stored events; bench/README.md).
    gc.collect()
    gc.freeze()
    # uvicorn shuts down cleanly on Ctrl-C or SIGTERM, then raises the signal again: end with
    # one line instead of a KeyboardInterrupt traceback.
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run(sockets=[sock])  # uvicorn's own loop choice: uvloop when installed
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        sock.close()
        if tls_sock is not None:
            tls_sock.close()
    if not server.started:
        return 1
    saved = getattr(server.app.state, "saved_to", None)
    stopped = "stopped" + (f", state saved to {saved}" if saved else "")
    if args.log_format == "json":
        logging.getLogger("ctmp_emulator").info(stopped)
    else:
        print(f"ctmp-emulator: {stopped}", file=sys.stderr, flush=True)
    return 0
