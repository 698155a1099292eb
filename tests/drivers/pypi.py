"""The PyPI client `mparticle==0.16.1` pointed at the emulator (docs/mparticle-behaviour.md):
`Configuration.host` set to `{url}/v2` before `EventsApi(config)` is built (it copies the
host), and its process-wide retry-after deadline cleared between tests."""

from __future__ import annotations

import calendar
import time
import warnings

from tests.drivers.defaults import S2S

# rest.py 0.16.1 compares with `is` against a str literal (a SyntaxWarning when Python compiles
# it, i.e. on the first import in a fresh venv): the client's code, not ours.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SyntaxWarning)
    import mparticle
    from mparticle.rest import RESTClientObject


def clear_retry_deadline() -> None:
    """Forget the client's process-wide retry-after deadline: after a 429 with
    `Retry-After`, every request from any client in the process fails locally until it passes."""
    RESTClientObject.retry_after_timestamp = calendar.timegm(time.gmtime())
    RESTClientObject.latest_response = None


def events_api(url: str, key: str = S2S[0], secret: str = S2S[1]) -> mparticle.EventsApi:
    """An `EventsApi` for the emulator at `url` with this key and secret."""
    config = mparticle.Configuration()
    config.api_key = key
    config.api_secret = secret
    config.host = url + "/v2"  # before EventsApi(config): it copies the host
    return mparticle.EventsApi(config)


def default_host_events_api(
    ca_file: str | None, key: str = S2S[0], secret: str = S2S[1]
) -> mparticle.EventsApi:
    """An `EventsApi` left on the client's own default host (`https://s2s.mparticle.com/v2`),
    trusting only `ca_file` (`Configuration.ssl_ca_cert`; None: the client's certifi bundle):
    HTTPS with the platforms' host names (docs/https.md, `tests.drivers.tls.redirect_https`)."""
    config = mparticle.Configuration()
    config.api_key = key
    config.api_secret = secret
    config.ssl_ca_cert = ca_file
    return mparticle.EventsApi(config)
