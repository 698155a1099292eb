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
    seed: int | None = None
    data_file: Path | None = None
    # Seconds between background saves of a changed state to `data_file`.
    persist_interval: float = 1.0
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
    tenants: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.journal_size < 1:
            raise ConfigError("journal_size must be at least 1")
        if not 1 <= self.max_json_depth <= MAX_DEPTH:
            raise ConfigError(f"max_json_depth must be 1 to {MAX_DEPTH}")
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


def _check_settings(settings: dict[str, Any], path: Path) -> None:
    """The [emulator] section against its contract (contracts/emulator/config.json)."""
    from emulator.core.contracts import ContractError, default_contracts_dir, json_path

    schema = json.loads((default_contracts_dir() / "emulator" / "config.json").read_text("utf-8"))
    problems: list[ContractError] = [
        ContractError(json_path(e.instance_path, settings), e.message, "")
        for e in jsonschema_rs.validator_for(schema).iter_errors(settings)
    ]
    if problems:
        detail = "; ".join(
            f"{p.path.replace('$.', '', 1) if p.path != '$' else 'section'}: {p.message}"
            for p in problems
        )
        raise ConfigError(f"invalid [emulator] settings in {path}: {detail}")


def load_config(path: Path, **overrides: Any) -> Config:
    """Read a TOML file; command-line overrides (not None) win over the file's settings."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from exc
    settings = dict(raw.get("emulator", {}))
    _check_settings(settings, path)
    if "data_file" in settings:
        settings["data_file"] = Path(settings["data_file"])
    settings.update({k: v for k, v in overrides.items() if v is not None})
    tenants: list[dict[str, Any]] = []
    for account in raw.get("clevertap", {}).get("accounts", []):
        tenants.append({"kind": "clevertap_account", **account})
    for workspace in raw.get("mparticle", {}).get("workspaces", []):
        tenants.append({"kind": "mparticle_workspace", **workspace})
    for connection in raw.get("connections", []):
        tenants.append({"kind": "connection", **connection})
    unknown_sections = set(raw) - {"emulator", "clevertap", "mparticle", "connections"}
    if unknown_sections:
        raise ConfigError(f"unknown sections in {path}: {sorted(unknown_sections)}")
    config = Config(**settings)
    config.tenants = tenants or default_tenants()
    return config
