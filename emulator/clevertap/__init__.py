"""CleverTap server API surface (`/1/...`)."""

from emulator.clevertap.surface import CleverTapSurface

__all__ = ["CleverTapSurface"]
