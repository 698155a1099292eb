from __future__ import annotations

import pytest

from emulator.core.contracts import ContractRegistry


@pytest.fixture(scope="session")
def contracts() -> ContractRegistry:
    return ContractRegistry()
