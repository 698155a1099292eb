"""mParticle surface: the Events API, IDSync, the Web SDK's endpoints and the Profile API."""

from emulator.mparticle.surface import MParticleSurface

__all__ = ["MParticleSurface"]
