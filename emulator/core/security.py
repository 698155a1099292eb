"""Who may drive the control API (`/_emulator`), and where the flows may deliver.

The emulator runs on developer machines that also run browsers, so a web page must not be able
to drive it: no cross-site writes (CSRF, `allowed_origin` and the JSON-only rule), no reads
through a name the attacker controls that resolves to 127.0.0.1 (DNS rebinding, `HostPolicy`),
and no connection that sends the platforms' credentials to another host (`delivery_problem`).
The rules follow OWASP's CSRF and DNS rebinding guidance
(https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html)
and what development servers do for the Host header (Vite's `server.allowedHosts`,
https://vite.dev/config/server-options.html#server-allowedhosts). The platform APIs are not
restricted: the Web SDK legitimately calls them from pages on other origins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import SplitResult, urlsplit

from starlette.requests import Request

from emulator.core.errors import ApiError

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(value: str) -> str:
    """The name of a `Host` header value or a URL's netloc: no port, no brackets, lower case."""
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8787
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback(name: str) -> bool:
    """`localhost`, a `*.localhost` name (RFC 6761 keeps them on loopback), 127.0.0.0/8, ::1."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = _ip(name)
    return ip is not None and ip.is_loopback


def _listed(name: str, entries: Iterable[str]) -> bool:
    """`name` is an entry, or under a `.domain` entry, or an entry is `*`."""
    for entry in entries:
        entry = entry.strip().lower()
        if entry == "*" or entry == name:
            return True
        if entry.startswith(".") and (name == entry[1:] or name.endswith(entry)):
            return True
    return False


class HostPolicy:
    """Which `Host` names the control API answers.

    Loopback names always. Bound to loopback, nothing else unless `allowed_hosts` names it.
    Bound to another address (a container), by default also single-label names (`emulator`,
    a docker compose service) and IP literals: neither can be a DNS rebinding, which needs a
    name with a dot that the attacker's DNS answers. `allowed_hosts`, when given, replaces that
    default. A platform's host name (`s2s.mparticle.com`, reached through a DNS override,
    `is_platform`) is never answered, whatever `allowed_hosts` says: such names reach platform
    operations only (core/hosts.py).
    """

    def __init__(
        self,
        bind_host: str,
        allowed_hosts: list[str] | None,
        is_platform: Callable[[str], bool] | None = None,
    ) -> None:
        self.loopback_bound = is_loopback(host_name(bind_host))
        self.allowed_hosts = allowed_hosts
        self.is_platform = is_platform or (lambda name: False)

    def allows(self, host: str) -> bool:
        name = host_name(host)
        if is_loopback(name):
            return True
        if self.is_platform(name):
            return False
        if self.allowed_hosts is not None:
            return _listed(name, self.allowed_hosts)
        if self.loopback_bound:
            return False
        return "." not in name or _ip(name) is not None


def allowed_origin(origin: str, host: str, policy: HostPolicy) -> bool:
    """Whether a page at `origin` may drive the control API reached as `host`: a loopback
    origin, the emulator's own (a UI it serves), or one whose host `allowed_hosts` names (a
    `*` there opens the Host check only, never every origin). `Origin: null` (a sandboxed
    frame, a file) never may. The one place a later inspector UI is allowed in."""
    parts = _split(origin.strip())
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    name = host_name(parts.netloc)
    if policy.is_platform(name):
        return False  # a page served as a platform host is no UI of the emulator's
    if parts.netloc.lower() == host.strip().lower():
        return True
    named = [entry for entry in policy.allowed_hosts or () if entry.strip() != "*"]
    return is_loopback(name) or _listed(name, named)


def is_json(content_type: str) -> bool:
    """`application/json` or a `+json` type (RFC 6839), any parameters."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def control_refusal(request: Request, policy: HostPolicy) -> ApiError | None:
    """Why a control request is refused before anything else, if it is: a `Host` the policy
    does not allow (421), a foreign `Origin` (403), a write whose body is not declared JSON
    (415: an HTML form or a `no-cors` fetch can only send `text/plain`, form or multipart)."""
    headers = request.headers
    host = headers.get("host")
    if host is not None and not policy.allows(host):
        name = host_name(host)
        advice = (
            "a platform's host name reaches platform operations only"
            if policy.is_platform(name)
            else "add the name to --allowed-hosts"
        )
        return ApiError(
            421,
            f"the control API does not answer for host {name!r}: call it as localhost or "
            f"127.0.0.1 ({advice})",
            code="host_not_allowed",
        )
    origin = headers.get("origin")
    if origin is not None and not allowed_origin(origin, host or "", policy):
        return ApiError(
            403, f"control requests from origin {origin!r} are refused", code="origin_not_allowed"
        )
    if request.method in WRITE_METHODS:
        content_type = headers.get("content-type")
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if (content_type is not None and not is_json(content_type)) or (
            content_type is None and has_body
        ):
            return ApiError(
                415,
                "control writes take Content-Type: application/json",
                code="unsupported_media_type",
            )
    return None


def delivery_problem(url: str, allowed_hosts: list[str]) -> str | None:
    """Why a connection's `base_url` is refused, if it is: deliveries carry the account's
    passcode and users' data, so they go to loopback unless `allowed_delivery_hosts` names the
    host."""
    parts = _split(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return f"base_url {url!r} must be an http or https URL"
    name = host_name(parts.hostname)
    if is_loopback(name) or _listed(name, allowed_hosts):
        return None
    return (
        f"base_url {url!r} is not on loopback: add {name!r} to allowed_delivery_hosts to "
        "deliver there"
    )


def _split(url: str) -> SplitResult | None:
    """`url`'s parts, or None where urlsplit refuses it (`http://[`: "Invalid IPv6 URL")."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port is only found when read
    except ValueError:
        return None
    return parts
