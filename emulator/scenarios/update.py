"""`ctmp-emulator replay --update PATH...`: run each scenario and write its expectations back
from what the emulator answered (snapshot mode, as Jest's or syrupy's `--update`).

What is written (docs/scenarios.md, "Updating expectations"):

- a `request` step: `expect.status` always; `expect.body` only where the step already has a
  body, refreshed in its own shape (snapshot.py `refresh`); `expect.headers` only where the step
  already has headers, and only the headers it names;
- an `expect_state` step: `expect`, refreshed the same way;
- anything that still matches stays exactly as written, operators and captures included, and a
  file whose expectations all match is not written at all (a second `--update` changes
  nothing);
- volatile values are written as operators (snapshot.py), so the file replays green again.

The file is rewritten with ruamel.yaml's round-trip mode (yamlio.py): comments, key order,
quoting and flow style stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.scenarios.runner import Outcome, StepResult
from emulator.scenarios.snapshot import refresh
from emulator.scenarios.yamlio import round_trip, styled


@dataclass(slots=True)
class Updated:
    changed: list[int] = field(default_factory=list)  # 0-based indexes of the steps rewritten
    # Steps that failed in a way no expectation can fix (settle, wait_for, a view that errs).
    problems: list[str] = field(default_factory=list)


def update(outcome: Outcome) -> Updated:
    """Rewrite the scenario file of `outcome` (a run of it) where its expectations differ."""
    path = outcome.scenario.file
    text = path.read_text(encoding="utf-8")
    yaml = round_trip(text)
    tree = yaml.load(text)
    done = Updated()
    if outcome.setup_error is not None:
        done.problems.append(f"setup: {outcome.setup_error}")
        return done
    for result in outcome.steps:
        step = tree["steps"][result.index]
        kind = next(key for key in step if key != "name")
        where = f"step {result.index + 1} {result.label} (line {result.line})"
        if kind in ("request", "expect_state") and result.observed is None:
            done.problems += [f"{where}: {p}" for p in result.problems or ["no answer"]]
        elif kind == "request":
            if _request(step[kind], result):
                done.changed.append(result.index)
        elif kind == "expect_state":
            new, changed = refresh(step[kind]["expect"], result.observed, result.captures)
            if changed:
                step[kind]["expect"] = styled(new)
                done.changed.append(result.index)
        else:
            done.problems += [f"{where}: {p}" for p in result.problems]
    if done.changed:
        with path.open("w", encoding="utf-8") as out:
            yaml.dump(tree, out)
    return done


def _request(spec: Any, result: StepResult) -> bool:
    observed = result.observed
    expect = spec.get("expect")
    if expect is None:
        spec["expect"] = styled({"status": observed["status"]})
        return True
    changed = False
    if expect.get("status") != observed["status"]:
        if "status" in expect:
            expect["status"] = observed["status"]
        else:
            expect.insert(0, "status", observed["status"])
        changed = True
    if "headers" in expect:
        written = expect["headers"]
        actual = {
            name: observed["headers"][str(name).lower()]
            for name in written
            if str(name).lower() in observed["headers"]
        }
        new, moved = refresh(written, actual, result.captures)
        expect["headers"] = styled(new)
        changed |= moved
    if "body" in expect:
        new, moved = refresh(expect["body"], observed["body"], result.captures)
        expect["body"] = styled(new)
        changed |= moved
    return changed
