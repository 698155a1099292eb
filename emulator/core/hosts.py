"""Which platform a request's `Host` names, for HTTPS with the platforms' own host names.

An app whose base URLs cannot change reaches the emulator through a DNS override
(`/etc/hosts`, a Docker network alias), so its requests say `Host: s2s.mparticle.com` or
`Host: eu1.api.clevertap.com`. Each surface declares the names its platform answers on
(`Surface.hosts`: exact names, or `.domain` for a domain and its subdomains); a request whose
Host is one of them reaches that platform's operations only: another platform's path is that
platform's 404 (the real host serves nothing there), and the control API and the inspector
refuse it whatever `--allowed-hosts` says (core/security.py). Any other Host (loopback names,
a container's name) reaches every surface, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from starlette.types import Scope

if TYPE_CHECKING:
    from emulator.core.surface import Surface

_CACHE_LIMIT = 1024


def _name(raw: bytes) -> str:
    """The name of a raw `Host` header: no port, lower case, no trailing dot."""
    value = raw.decode("latin-1").strip().lower()
    if value.startswith("["):  # an IPv6 literal: never a platform's name
        return value
    return value.partition(":")[0].rstrip(".")


def matches(name: str, entry: str) -> bool:
    """`name` is the entry, or under a `.domain` entry (which also names the domain itself)."""
    if entry.startswith("."):
        return name == entry[1:] or name.endswith(entry)
    return name == entry


class PlatformHosts:
    """The platform host names of `surfaces`, looked up by a request's raw `Host` header (a
    dict hit once a header value has been seen: the check costs the hot path nothing)."""

    def __init__(self, surfaces: Iterable[Surface]) -> None:
        self._entries: list[tuple[str, Surface]] = [
            (entry.lower(), surface) for surface in surfaces for entry in surface.hosts
        ]
        self._seen: dict[bytes, Surface | None] = {}

    @property
    def entries(self) -> Sequence[str]:
        return [entry for entry, _ in self._entries]

    def owner(self, name: str) -> Surface | None:
        """The surface whose platform answers on host `name` (no port), if any."""
        for entry, surface in self._entries:
            if matches(name, entry):
                return surface
        return None

    def of_header(self, raw: bytes) -> Surface | None:
        if raw in self._seen:
            return self._seen[raw]
        owner = self.owner(_name(raw))
        if len(self._seen) >= _CACHE_LIMIT:
            self._seen.clear()  # headers are client-chosen: the cache stays bounded
        self._seen[raw] = owner
        return owner

    def of_scope(self, scope: Scope) -> Surface | None:
        """The platform a request's `Host` names, if it names one."""
        for key, value in scope["headers"]:
            if key == b"host":
                return self.of_header(value)
        return None

    def is_platform(self, name: str) -> bool:
        return self.owner(name.lower().rstrip(".")) is not None
