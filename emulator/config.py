"""Emulator configuration: server settings, tenants and connections.

With no file, the emulator starts with the documented default tenants (README, "Default
credentials"). A TOML file replaces them:

    [emulator]
    mode = "strict"            # or "lenient"
    journal_size = 10000
    seed = 42

    [[clevertap.accounts]]
    id = "ACME-1"
    passcode = "secret"
    region = "us1"

    [[mparticle.workspaces]]
    id = "2000"
    [[mparticle.workspaces.inputs]]
    kind = "s2s"
    key = "acme-key"
    secret = "acme-secret"

    [[connections]]
    id = "acme"
    workspace = "2000"
    account = "ACME-1"
"""

from __future__ import annotations

import copy
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs

from emulator.core.nesting import DEFAULT_DEPTH, MAX_DEPTH

DEFAULT_ACCOUNT: dict[str, Any] = {
    "id": "EMU-TEST-0001",
    "name": "Emulator test account",
    "passcode": "emu-passcode",
    "token": "emu-token",
    "region": "eu1",
}

DEFAULT_WORKSPACE: dict[str, Any] = {
    "id": "1000",
    "name": "Emulator workspace",
    "org_id": "10",
    "account_id": "100",
    "inputs": [
        {
            "kind": "s2s",
            "name": "Server to server",
            "key": "emu-s2s-key",
            "secret": "emu-s2s-secret",
        },
        {"kind": "web", "name": "Web", "key": "emu-web-key"},
        {
            "kind": "feed",
            "name": "CleverTap feed",
            "key": "emu-feed-key",
            "secret": "emu-feed-secret",
        },
    ],
    "api_clients": [{"client_id": "emu-client-id", "client_secret": "emu-client-secret"}],
}

DEFAULT_CONNECTION: dict[str, Any] = {
    "id": "default",
    "workspace": "1000",
    "account": "EMU-TEST-0001",
    "enabled": True,
    "event_output": {"enabled": True, "user_id": "customerId", "forward_web_server_side": True},
    "audience_output": {"enabled": True},
    "feed": {"enabled": True, "input_key": "emu-feed-key"},
}

MODES = ("strict", "lenient")
DURABILITY = ("interval", "always")


class ConfigError(ValueError):
    pass


@dataclass(slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8787
    mode: str = "strict"
    journal_size: int = 10_000
    # Request and response bodies kept in the journal are cut at this many bytes.
    journal_body_cap: int = 65_536
    # The journal also drops its oldest entries past this many bytes (emulator.core.journal).
    journal_bytes: int = 64 * 1024 * 1024
    # Request size and slow-client bounds (emulator.core.limits, docs/architecture.md).
    max_body_bytes: int = 16 * 1024 * 1024
    max_control_body_bytes: int = 512 * 1024 * 1024
    max_header_bytes: int = 32 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive_timeout: int = 5
    # None: the open-file limit less a reserve (emulator.core.limits.connection_cap).
    max_connections: int | None = None
    seed: int | None = None
    data_file: Path | None = None
    # Seconds between background saves of a changed state to `data_file`.
    persist_interval: float = 1.0
    # "always": every applied platform request is in an fsynced log before it is answered
    # (emulator/durable.py); "interval": what changed since the last save is lost by a crash.
    durability: str = "interval"
    # When set, every control request must carry it (`Authorization: Bearer ...` or
    # `X-Emulator-Token`); for exposing the emulator beyond loopback.
    admin_token: str | None = None
    # Host names the control API answers besides loopback ones; None: the default for the bind
    # address (emulator.core.security.HostPolicy).
    allowed_hosts: list[str] | None = None
    # Hosts a connection's `base_url` may name besides loopback ones.
    allowed_delivery_hosts: list[str] = field(default_factory=list)
    log_requests: bool = True
    # Request bodies nested deeper than this are refused with the platform's 400 (control
    # bodies get a fixed headroom for the state document's own levels): emulator.core.nesting.
    max_json_depth: int = DEFAULT_DEPTH
    # HTTPS with the platforms' host names (emulator/tls/, docs/https.md): a second listener on
    # `tls_port` with a certificate for them from a local CA kept in `ca_dir` (None: the data
    # file's directory, else the user's data directory).
    tls: bool = False
    tls_port: int = 8443
    ca_dir: Path | None = None
    tenants: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.journal_size < 1:
            raise ConfigError("journal_size must be at least 1")
        if self.journal_bytes < 1:
            raise ConfigError("journal_bytes must be at least 1")
        if self.max_connections is not None and self.max_connections < 1:
            raise ConfigError("max_connections must be at least 1")
        if not 1 <= self.max_json_depth <= MAX_DEPTH:
            raise ConfigError(f"max_json_depth must be 1 to {MAX_DEPTH}")
        if not 0 <= self.tls_port <= 65535:
            raise ConfigError("tls_port must be 0 to 65535")
        if self.durability not in DURABILITY:
            raise ConfigError(f"durability must be one of {DURABILITY}, not {self.durability!r}")
        if self.durability == "always" and self.data_file is None:
            raise ConfigError("durability 'always' needs a data file (--data-file)")
        if self.admin_token is not None and not self.admin_token.strip():
            # An empty token would leave the control API open while looking protected.
            raise ConfigError("admin_token must not be empty (omit it to run without one)")

    @classmethod
    def defaults(cls, **overrides: Any) -> Config:
        config = cls(**overrides)
        if not config.tenants:
            config.tenants = default_tenants()
        return config


def default_tenants() -> list[dict[str, Any]]:
    return [
        {"kind": "clevertap_account", **copy.deepcopy(DEFAULT_ACCOUNT)},
        {"kind": "mparticle_workspace", **copy.deepcopy(DEFAULT_WORKSPACE)},
        {"kind": "connection", **copy.deepcopy(DEFAULT_CONNECTION)},
    ]


# Each tenant list of a config file and the contract its items follow.
_TENANT_LISTS = {
    ("clevertap", "accounts"): ("clevertap_account", "clevertap/account.json"),
    ("mparticle", "workspaces"): ("mparticle_workspace", "mparticle/workspace.json"),
    ("connections",): ("connection", "bridge/connection.json"),
}


def _problems(contract: str, document: Any, prefix: str, unknown_only: bool = False) -> list[str]:
    """`key.path: message` for each way `document` breaks `contract` (contracts/<contract>);
    an unknown key is named by its whole path, so a misspelt key is found at a glance."""
    from emulator.core.contracts import default_contracts_dir

    schema = json.loads((default_contracts_dir() / contract).read_text("utf-8"))
    found: list[str] = []
    for error in jsonschema_rs.validator_for(schema).iter_errors(document):
        where = prefix + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.instance_path
        )
        if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            for key in error.kind.unexpected:
                found.append(f"{f'{where}.{key}'.lstrip('.')}: unknown key")
        elif not unknown_only:
            found.append(f"{where.lstrip('.') or 'file'}: {error.message}")
    return found


def _check(raw: dict[str, Any], path: Path) -> None:
    """The whole file against its layout (contracts/emulator/config-file.json), the [emulator]
    section against its settings (config.json) and every tenant's keys against its kind's
    contract: an unknown key anywhere is an error naming the file and the key's path (the rest
    of a tenant is checked when it is added, at start)."""
    unknown_sections = set(raw) - {"emulator", "clevertap", "mparticle", "connections"}
    if unknown_sections:
        raise ConfigError(f"unknown sections in {path}: {sorted(unknown_sections)}")
    problems = _problems("emulator/config-file.json", raw, "")
    if not problems:
        problems = _problems("emulator/config.json", raw.get("emulator", {}), "emulator")
        for keys, (kind, contract) in _TENANT_LISTS.items():
            section: Any = raw
            for key in keys:
                section = section.get(key, {} if key != keys[-1] else [])
            for index, item in enumerate(section):
                where = f"{'.'.join(keys)}[{index}]"
                problems += _problems(contract, {"kind": kind, **item}, where, unknown_only=True)
    if problems:
        raise ConfigError(f"invalid config {path}: {'; '.join(problems)}")


def load_config(path: Path, **overrides: Any) -> Config:
    """Read a TOML file; command-line overrides (not None) win over the file's settings."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from exc
    _check(raw, path)
    settings = dict(raw.get("emulator", {}))
    if "data_file" in settings:
        # Relative to the file that names it, not to wherever the emulator was started from.
        settings["data_file"] = path.parent / settings["data_file"]
    if "ca_dir" in settings:
        settings["ca_dir"] = path.parent / settings["ca_dir"]
    settings.update({k: v for k, v in overrides.items() if v is not None})
    tenants: list[dict[str, Any]] = []
    for account in raw.get("clevertap", {}).get("accounts", []):
        tenants.append({"kind": "clevertap_account", **account})
    for workspace in raw.get("mparticle", {}).get("workspaces", []):
        tenants.append({"kind": "mparticle_workspace", **workspace})
    for connection in raw.get("connections", []):
        tenants.append({"kind": "connection", **connection})
    config = Config(**settings)
    config.tenants = tenants or default_tenants()
    return config
