"""`ctmp-emulator serve` (start the emulator with working defaults), `ctmp-emulator replay`
(run scenario files, or `--update` their expectations) and `ctmp-emulator record` (write a
scenario from a running emulator's traffic)."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path

from emulator import __version__
from emulator.config import MODES, Config, ConfigError, load_config
from emulator.core.store import StateError
from emulator.core.tenants import TenantError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctmp-emulator", description="Local emulator of CleverTap and mParticle."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the emulator")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8787; 0 picks a free one)")
    serve.add_argument("--config", type=Path, help="TOML file with settings and tenants")
    serve.add_argument("--data-file", type=Path, help="persist the state to this JSON file")
    serve.add_argument("--mode", choices=MODES, help="contract mode (default strict)")
    serve.add_argument("--seed", type=int, help="seed for generated ids (replays give equal ids)")
    serve.add_argument("--journal-size", type=int, help="journal entries kept (default 10000)")
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
    serve.add_argument("--quiet", action="store_true", help="no log line per request")
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
    return parser


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _config(args: argparse.Namespace) -> Config:
    overrides = {
        "host": args.host,
        "port": args.port,
        "data_file": args.data_file,
        "mode": args.mode,
        "seed": args.seed,
        "journal_size": args.journal_size,
        "admin_token": args.admin_token,
        "allowed_hosts": args.allowed_hosts,
        "max_json_depth": args.max_json_depth,
        "log_requests": False if args.quiet else None,
    }
    if args.config is not None:
        return load_config(args.config, **overrides)
    return Config.defaults(**{k: v for k, v in overrides.items() if v is not None})


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
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from emulator.server import EmulatorServer  # imported late: `--help` stays instant

    try:
        config = _config(args)
        server = EmulatorServer(
            config, on_ready=lambda url: print(f"ctmp-emulator ready on {url}", flush=True)
        )
    except (ConfigError, StateError, TenantError) as exc:
        print(f"ctmp-emulator: {exc}", file=sys.stderr)
        return 2
    # What start-up made (modules, routes, contracts, a loaded data file) lives as long as the
    # process: moving it out of the collector's generations keeps full collections short (a
    # 10 ms pause before, under 1 ms after, with 670k stored events; bench/README.md).
    gc.collect()
    gc.freeze()
    server.run()  # uvicorn's own loop choice: uvloop when installed
    return 0 if server.started else 1
