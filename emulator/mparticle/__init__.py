"""mParticle surface: Events API (and, with later issues, IDSync, Web SDK, Profile API)."""

from emulator.mparticle.surface import MParticleSurface

__all__ = ["MParticleSurface"]
