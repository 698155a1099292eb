"""pytest collection of scenario files: `--ctmp-scenarios DIR` (repeatable) or the ini option
`ctmp_scenarios` makes every `*.yaml` / `*.yml` below DIR one test item, run as `ctmp-emulator
replay` runs it, with the differences as the failure text. Hooks re-exported by `plugin.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import Scenario, ScenarioError, load
from emulator.scenarios.replay import SUFFIXES
from emulator.scenarios.runner import run

_DIRS = pytest.StashKey[list[Path]]()
_CONTRACTS: list[ContractRegistry] = []  # loaded once per process, on first use


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ctmp-scenarios",
        action="append",
        default=[],
        metavar="DIR",
        help="collect the scenario files below DIR as tests (repeatable)",
    )
    parser.addini("ctmp_scenarios", "directories of scenario files to collect", type="paths")


def pytest_configure(config: pytest.Config) -> None:
    given = [Path(d) for d in config.getoption("ctmp_scenarios")]
    dirs = [d.resolve() for d in given + list(config.getini("ctmp_scenarios"))]
    config.stash[_DIRS] = dirs
    walked = [Path(a.split("::")[0]).resolve() for a in config.args]
    for folder in dirs:  # walk the scenario folders too, unless a given path covers them
        if not any(folder == w or w in folder.parents for w in walked):
            config.args.append(str(folder))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in SUFFIXES:
        return None
    dirs = parent.config.stash.get(_DIRS, [])
    if not any(d == file_path.parent or d in file_path.parents for d in dirs):
        return None
    collector: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
    return collector


def _contracts() -> ContractRegistry:
    if not _CONTRACTS:
        _CONTRACTS.append(ContractRegistry())
    return _CONTRACTS[0]


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        scenario = load(self.path, _contracts())
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        outcome = asyncio.run(run(self.scenario))
        if outcome.ok:
            return
        raise ScenarioFailed("\n".join(outcome.failure_lines()))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return f"{self.scenario.file}: {self.scenario.name}\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario: {self.name}"
