"""`ctmp-emulator replay --update`: a wrong expectation is rewritten from what the emulator
answers, volatile values are written as operators, comments and what still matches stay, and
the updated file replays green and is left alone by a second update."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import load
from emulator.scenarios.replay import replay

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"

# The IDSync scenario with three wrong expectations and a view written as an empty list.
BROKEN = {
    "total: 2": "total: 5  # two users, says QA",
    'mpid: "${anon_mpid}", is_logged_in: true, matched_identities: {device_application_stamp': (
        'mpid: "123", is_logged_in: true, matched_identities: {device_application_stamp'
    ),
    "is_logged_in: true, matched_identities: {customerid: cust-1}": (
        "is_logged_in: false, matched_identities: {customerid: cust-9}"
    ),
}
FULL_VIEW = """  - name: every user, in full
    expect_state:
      view: /mparticle/1000/users
      expect: {users: []}
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    text = (SHIPPED / "idsync-login-logout.yaml").read_text(encoding="utf-8")
    for right, wrong in BROKEN.items():
        assert right in text, right
        text = text.replace(right, wrong)
    path = tmp_path / "idsync.yaml"
    path.write_text("# kept: a comment at the top\n" + text + FULL_VIEW, encoding="utf-8")
    return path


def test_update_makes_a_wrong_scenario_pass_and_keeps_its_comments(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay([str(broken)], None) == 1
    capsys.readouterr()
    assert replay([str(broken)], None, update=True) == 0
    assert f"updated   {broken} (steps 3, 8, 10, 12)" in capsys.readouterr().out
    text = broken.read_text(encoding="utf-8")
    assert text.startswith("# kept: a comment at the top\n")
    assert "total: 2  # two users, says QA" in text
    # The wrong mpid is the captured one again; the wrong login answer is the real one.
    assert 'body: {mpid: "${anon_mpid}", is_logged_in: true, matched_identities: {dev' in text
    assert "is_logged_in: true, matched_identities: {customerid: cust-1}}}" in text
    # What matched stays as written, operators and captures included.
    assert 'mpid: {$regex: "-?[0-9]+", $capture: anon_mpid}' in text
    assert 'mpid: {$regex: "-?[0-9]+", $capture: out_mpid}' in text
    for run in range(2):  # green, and again: nothing in it depends on the run
        assert replay([str(broken)], None) == 0, run


def test_a_second_update_leaves_the_file_byte_for_byte(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay([str(broken)], None, update=True) == 0
    first = broken.read_bytes()
    assert replay([str(broken)], None, update=True) == 0
    assert broken.read_bytes() == first
    assert f"unchanged {broken}" in capsys.readouterr().out


def test_volatile_values_are_written_as_operators_or_references(
    broken: Path, contracts: ContractRegistry
) -> None:
    assert replay([str(broken)], None, update=True) == 0
    scenario = load(broken, contracts)  # the rewritten file still satisfies the contract
    users = scenario.steps[-1]["expect_state"]["expect"]["users"]
    assert [user["mpid"] for user in users] == ["${anon_mpid}", "${out_mpid}"]
    assert users[0]["created"] == {"$any": True}
    assert users[0]["history"][0] == {
        "time": {"$any": True},
        "change": "created",
        "reason": "identify",
    }
    assert users[0]["user_identities"] == {"customer_id": "cust-1", "email": "c1@example.com"}


def test_a_step_without_expect_gets_its_status(tmp_path: Path) -> None:
    path = tmp_path / "status.yaml"
    path.write_text(
        "name: status only\nsteps:\n  - request: {platform: control, method: GET, path: /clock}\n"
        "  - request: {platform: control, method: GET, path: /nowhere}\n",
        encoding="utf-8",
    )
    assert replay([str(path)], None, update=True) == 0
    assert path.read_text(encoding="utf-8") == (
        "name: status only\nsteps:\n"
        "  - request: {platform: control, method: GET, path: /clock, expect: {status: 200}}\n"
        "  - request: {platform: control, method: GET, path: /nowhere, expect: {status: 404}}\n"
    )


def test_update_refuses_a_running_emulator(broken: Path) -> None:
    assert replay([str(broken)], None, url="http://127.0.0.1:9", update=True) == 2


def test_a_body_written_null_is_filled_with_the_whole_answer(tmp_path: Path) -> None:
    path = tmp_path / "fill.yaml"
    path.write_text(
        "name: fill\nsteps:\n  - request:\n      platform: control\n      method: GET\n"
        "      path: /clock\n      expect: {body: null}  # fill me\n",
        encoding="utf-8",
    )
    assert replay([str(path)], None, update=True) == 0
    assert path.read_text(encoding="utf-8").endswith(
        "      expect: {status: 200, body: {now: {$any: true}, "
        "iso: {$regex: '[0-9]{4}-[0-9]{2}-[0-9]{2}T.*'}, frozen: true, offset: 0.0}} # fill me\n"
    )
    assert replay([str(path)], None) == 0
