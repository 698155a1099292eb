"""The default tenants' credentials as request headers, for tests and scripts."""

from __future__ import annotations

import base64
from typing import Any

from emulator.config import DEFAULT_ACCOUNT, DEFAULT_WORKSPACE


def workspace_input(kind: str) -> dict[str, Any]:
    """The default workspace's input of `kind` (`s2s`, `web` or `feed`)."""
    return next(i for i in DEFAULT_WORKSPACE["inputs"] if i["kind"] == kind)


def basic_auth(key: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


MPARTICLE_AUTH: tuple[str, str] = (workspace_input("s2s")["key"], workspace_input("s2s")["secret"])


# Functions, not shared dicts: HTTP clients (schemathesis among them) add to the dict they get.
def clevertap_headers() -> dict[str, str]:
    """The default CleverTap account's id and passcode headers."""
    return {
        "X-CleverTap-Account-Id": DEFAULT_ACCOUNT["id"],
        "X-CleverTap-Passcode": DEFAULT_ACCOUNT["passcode"],
    }


def mparticle_headers() -> dict[str, str]:
    """Basic auth with the default workspace's server-to-server key and secret."""
    return basic_auth(*MPARTICLE_AUTH)
