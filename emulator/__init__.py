"""Local emulator of the CleverTap and mParticle server APIs."""

__version__ = "0.1.0"
