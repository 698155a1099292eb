"""Identifier generation.

Every id the emulator mints (CleverTap IDs, MPIDs, cursors, request ids) comes from one seeded
generator, so replaying the same traffic into a fresh emulator with the same seed gives the same
ids. Without a seed, the generator is seeded from the OS once at start and the seed is reported
by the control API so that a surprising run can be reproduced.
"""

from __future__ import annotations

import os
import random
import string
from typing import Any

_ALNUM = string.ascii_lowercase + string.digits


class IdGenerator:
    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed if seed is not None else int.from_bytes(os.urandom(6), "big")
        self._rng = random.Random(self.seed)
        self._counter = 0

    def reseed(self, seed: int | None = None) -> None:
        """Start the sequence again (from `seed`, or from the current seed)."""
        if seed is not None:
            self.seed = seed
        self._rng = random.Random(self.seed)
        self._counter = 0

    def _bits(self, n: int) -> int:
        self._counter += 1
        return self._rng.getrandbits(n)

    def hex(self, length: int = 32) -> str:
        return f"{self._bits(length * 4):0{length}x}"

    def token(self, length: int = 16) -> str:
        self._counter += 1
        return "".join(self._rng.choice(_ALNUM) for _ in range(length))

    def clevertap_id(self) -> str:
        """A CleverTap ID (objectId) in the `__` + 32 hex form the SDKs produce."""
        return "__" + self.hex(32)

    def mpid(self) -> int:
        """A signed 64-bit MPID, never 0 (0 means 'no user' to the mParticle SDKs)."""
        while True:
            value = self._bits(64)
            if value >= 1 << 63:
                value -= 1 << 64
            if value != 0:
                return value

    def cursor(self) -> str:
        return self.token(24)

    def state(self) -> dict[str, Any]:
        """The seed, the count of ids minted and the RNG state, enough to continue the sequence."""
        version, internal, gauss = self._rng.getstate()
        return {
            "seed": self.seed,
            "generated": self._counter,
            "rng": [version, list(internal), gauss],
        }

    def restore(self, snap: dict[str, Any]) -> None:
        self.reseed(int(snap["seed"]))
        self._counter = int(snap.get("generated", 0))
        if "rng" in snap:
            version, internal, gauss = snap["rng"]
            self._rng.setstate((version, tuple(internal), gauss))
