"""fixtures/states/seed.json: the committed file is what its generator makes now, and it loads,
with `serve --data-file` and with `PUT /_emulator/state`, into the documented data
(docs/scenarios.md, "fixtures/")."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from emulator.testing.client import EmulatorClient
from emulator.testing.plugin import EmulatorHandle
from tests.drivers.control import ControlViews

if TYPE_CHECKING:
    from tests.conftest import SpawnEmulator

STATES = Path(__file__).resolve().parents[2] / "fixtures" / "states"
SEED = STATES / "seed.json"


def _generator() -> ModuleType:
    """fixtures/states/generate.py, imported from its path (fixtures/ is not a package)."""
    spec = importlib.util.spec_from_file_location("seed_generator", STATES / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_seed_data(views: ControlViews) -> None:
    """What docs/scenarios.md says seed.json holds."""
    profiles = views.ct_profiles()
    assert len(profiles) == 1000
    assert sorted(i for p in profiles for i in p["identities"]) == [
        f"cust-{n:04d}" for n in range(1, 1001)
    ]
    assert all(p["profileData"]["Email"].endswith("@example.com") for p in profiles)
    assert len(views.ct_events()) > 1000  # 0 to 6 events per profile

    users = views.mp_users()
    assert len(users) == 1000
    known = [u for u in users if "customer_id" in u["user_identities"]]
    assert sorted(u["user_identities"]["customer_id"] for u in known) == [
        f"cust-{n:04d}" for n in range(1, 951)
    ]
    assert all(set(u["user_identities"]) == {"customer_id", "email"} for u in known)
    assert all(u["device_identities"].keys() & {"ios_idfa", "android_aaid"} for u in known)
    anonymous = [u for u in users if not u["user_identities"]]
    assert len(anonymous) == 50
    assert all("device_application_stamp" in u["device_identities"] for u in anonymous)

    # The customer the seed scenario follows, on both sides.
    (profile,) = views.ct_profiles(identity="cust-0042")
    assert profile["profileData"]["Name"] == "Zoe Taylor"
    assert profile["events"]["Charged"]["count"] == 2
    user = views.mp_user(views.mpid_of("cust-0042"))
    assert user["user_identities"]["email"] == "zoe.taylor.0042@example.com"
    assert user["user_attributes"]["$city"] == "Madrid"

    # Nothing else: no deliveries, an empty journal, the clock frozen at the documented instant.
    assert views.deliveries() == []
    assert views.journal_count() == 0
    clock = views.client.clock()
    assert (clock["iso"], clock["frozen"]) == ("2026-01-05T10:00:00Z", True)


def test_the_committed_seed_is_what_the_generator_makes_now() -> None:
    made: bytes = _generator().build()
    assert made == SEED.read_bytes(), "seed.json is stale: run python fixtures/states/generate.py"
    assert len(made) < 5_000_000


def test_the_seed_loads_with_put_state(emulator: EmulatorHandle, views: ControlViews) -> None:
    tenants = emulator.client.tenants()
    document: dict[str, Any] = json.loads(SEED.read_bytes())

    loaded = emulator.client.load_state(document)

    assert loaded["tables"]["tenants"] == 3
    # The seed carries the default tenants, as the emulator starts with them.
    assert emulator.client.tenants() == tenants
    _check_seed_data(views)


def test_the_seed_loads_with_serve_data_file(spawn_emulator: SpawnEmulator, tmp_path: Path) -> None:
    # A copy: the emulator writes its data file back (at shutdown, at least).
    data_file = tmp_path / "seed.json"
    shutil.copyfile(SEED, data_file)
    server = spawn_emulator("--data-file", str(data_file), "--quiet")
    with EmulatorClient(server.url) as client:
        _check_seed_data(ControlViews(client))
    server.stop()
    assert json.loads(data_file.read_bytes())["tenants"] == json.loads(SEED.read_bytes())["tenants"]
