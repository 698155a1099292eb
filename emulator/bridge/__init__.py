"""The integration between the platforms; the only place where CleverTap and mParticle meet."""

from emulator.bridge.surface import BridgeSurface

__all__ = ["BridgeSurface"]
