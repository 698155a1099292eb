"""Typed drivers shared by every test: CleverTap's and mParticle's APIs as a client calls them
(`clevertap`, `mparticle`: the records and batches tests send, too), the control API's views
(`control`), the bridge's event flow (`bridge`), the web inspector's pages (`inspector`), the
PyPI mparticle client (`pypi`), HTTPS with the platforms' host names (`tls`: the emulator's TLS
port and CA, and the no-root redirect of port 443), the default credentials (`defaults`), and the
code blocks of README.md and docs/ (`docblocks`: found and marked; `docrun`: run as a reader would).

The fixtures `ct`, `mp`, `views` and `bridge` (tests/conftest.py) build them on the session's
two HTTP clients (`http`, the platform one, and the plugin's control client); a test file does
not grow its own HTTP client, nor helpers for what these do. A helper that only tells one
file's story stays in that file."""

from tests.drivers.bridge import BridgeDriver
from tests.drivers.clevertap import CleverTapDriver
from tests.drivers.control import ControlViews
from tests.drivers.mparticle import MParticleDriver

__all__ = ["BridgeDriver", "CleverTapDriver", "ControlViews", "MParticleDriver"]
