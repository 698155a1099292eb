"""The web inspector: HTML pages under `/_emulator/ui` over the emulator's own state.

Server-rendered (Jinja2 templates, a little plain JavaScript, no build step, no CDN), so it
works offline from the wheel. Each page module declares its pages with `@ui_page`; `site.py`
routes them behind the control API's Host/Origin rules and the admin token.
"""

from emulator.inspector.site import Inspector

__all__ = ["Inspector"]
