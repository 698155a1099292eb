"""`ctmp-emulator replay PATH...`: load every scenario first (a malformed file stops everything
before anything runs), run each on a fresh emulator, print a line per step and the differences of
each failure, and optionally write JUnit XML for CI."""

from __future__ import annotations

import asyncio
import glob
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from emulator.core.contracts import ContractRegistry
from emulator.scenarios.loader import Scenario, ScenarioError, load
from emulator.scenarios.runner import Outcome, run

SUFFIXES = (".yaml", ".yml")


def collect(paths: Sequence[str]) -> list[Path]:
    """Scenario files named by `paths`: files, directories (searched recursively) and globs."""
    found: list[Path] = []
    for given in paths:
        matches = [Path(m) for m in sorted(glob.glob(given, recursive=True))] or [Path(given)]
        for path in matches:
            if path.is_dir():
                found += sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES)
            else:
                found.append(path)
    return list(dict.fromkeys(found))


def load_all(files: Sequence[Path], contracts: ContractRegistry) -> list[Scenario]:
    scenarios: list[Scenario] = []
    problems = []
    for file in files:
        try:
            scenarios.append(load(file, contracts))
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(problems)
    return scenarios


def report(outcome: Outcome, out: TextIO) -> None:
    scenario = outcome.scenario
    if outcome.skipped is not None:
        print(f"skip {scenario.name} ({scenario.file}): {outcome.skipped}", file=out)
        return
    verdict = "ok  " if outcome.ok else "FAIL"
    print(f"{verdict} {scenario.name} ({scenario.file}, {outcome.seconds:.2f} s)", file=out)
    if outcome.setup_error is not None:
        print(f"       setup: {outcome.setup_error}", file=out)
    for step in outcome.steps:
        mark = "ok  " if step.ok else "FAIL"
        print(f"  {mark} {step.index + 1:>3} {step.label} (line {step.line})", file=out)
        for problem in step.problems:
            print(f"           {problem}", file=out)


def junit(outcomes: Sequence[Outcome]) -> ET.ElementTree[ET.Element]:
    failed = sum(not o.ok for o in outcomes)
    total = sum(o.seconds for o in outcomes)
    suite = ET.Element(
        "testsuite",
        name="ctmp-emulator scenarios",
        tests=str(len(outcomes)),
        failures=str(failed),
        errors="0",
        skipped=str(sum(o.skipped is not None for o in outcomes)),
        time=f"{total:.3f}",
    )
    for outcome in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=str(outcome.scenario.file),
            name=outcome.scenario.name,
            time=f"{outcome.seconds:.3f}",
        )
        if outcome.skipped is not None:
            ET.SubElement(case, "skipped", message=outcome.skipped)
        elif not outcome.ok:
            lines = outcome.failure_lines()
            failure = ET.SubElement(case, "failure", message=lines[0] if lines else "failed")
            failure.text = "\n".join(lines)
    return ET.ElementTree(suite)


async def _run_all(scenarios: Sequence[Scenario], url: str | None) -> list[Outcome]:
    return [await run(scenario, url) for scenario in scenarios]


def _update(outcomes: Sequence[Outcome], out: TextIO) -> int:
    from emulator.scenarios.update import update  # ruamel.yaml only when updating

    failed = 0
    for outcome in outcomes:
        done = update(outcome)
        file = outcome.scenario.file
        if done.changed:
            steps = ", ".join(str(index + 1) for index in done.changed)
            print(f"updated   {file} (steps {steps})", file=out)
        else:
            print(f"unchanged {file}", file=out)
        for problem in done.problems:
            print(f"           not updatable: {problem}", file=out)
        failed += bool(done.problems)
    print(f"{len(outcomes) - failed} updated or unchanged, {failed} with problems", file=out)
    return 1 if failed else 0


def replay(
    paths: Sequence[str],
    junit_xml: Path | None,
    out: TextIO | None = None,
    url: str | None = None,
    update: bool = False,
) -> int:
    """Exit status: 0 all passed, 1 a scenario failed, 2 nothing ran (no or malformed files).

    With `update`, each file's expectations are rewritten from the run instead (update.py):
    0 when every file could be brought up to date, 1 when a step failed in a way no
    expectation fixes."""
    out = out or sys.stdout  # looked up now: pytest and callers may have replaced it
    if update and url is not None:
        print("ctmp-emulator replay: --update runs on a fresh emulator, not --url", file=sys.stderr)
        return 2
    files = collect(paths)
    if not files:
        print("ctmp-emulator replay: no scenario files", file=sys.stderr)
        return 2
    try:
        scenarios = load_all(files, ContractRegistry())
    except ScenarioError as exc:
        print(f"ctmp-emulator replay: nothing ran\n{exc}", file=sys.stderr)
        return 2
    outcomes = asyncio.run(_run_all(scenarios, url))
    if update:
        return _update(outcomes, out)
    for outcome in outcomes:
        report(outcome, out)
    failed = sum(not o.ok for o in outcomes)
    skipped = sum(o.skipped is not None for o in outcomes)
    seconds = sum(o.seconds for o in outcomes)
    tail = f", {skipped} skipped" if skipped else ""
    print(
        f"{len(outcomes) - failed - skipped} passed, {failed} failed{tail} ({seconds:.2f} s)",
        file=out,
    )
    if junit_xml is not None:
        junit(outcomes).write(junit_xml, encoding="utf-8", xml_declaration=True)
    return 1 if failed else 0
