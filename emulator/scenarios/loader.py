"""Reading a scenario file: YAML parsed with line numbers kept, held to the `scenario/scenario`
contract, and every problem named by file, line and JSON path before anything runs.

PyYAML's composed node tree keeps where each value starts; a contract error's instance path is
walked down that tree to the line of the value it names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from emulator.core.contracts import ContractRegistry, json_path

CONTRACT = "scenario/scenario"


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when the file has no line to point at
    path: str  # JSONPath in the scenario (`$.steps[2].request.method`), `$` for the file itself
    message: str

    def text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}"


class ScenarioError(Exception):
    """A scenario file that cannot run: not YAML, or not a scenario. Nothing of it has run."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(p.text() for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Scenario:
    file: Path
    document: dict[str, Any]
    # Line of each step in the file, in step order (for step-by-step output and diffs).
    step_lines: tuple[int, ...]

    @property
    def name(self) -> str:
        return str(self.document["name"])

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.document["steps"])


# libyaml's parser when PyYAML was built with it (about ten times faster on a long scenario).
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """Safe loading, with YAML 1.1's surprises left out: `on`/`yes` stay strings."""


# YAML 1.1 reads yes/no/on/off as booleans; a scenario means the words (JSON's true/false stay).
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _line_of(node: yaml.Node | None, parts: Sequence[str | int]) -> int:
    """The 1-based line of the value at `parts` below `node`: its key's line in a mapping (where
    `request:` is written, not the block under it), its own in a sequence; the nearest
    ancestor's when the value is missing, as for a required property."""
    if node is None:
        return 0
    line = node.start_mark.line + 1
    for part in parts:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part >= 0:
            child = node.value[part] if part < len(node.value) else None
            line = child.start_mark.line + 1 if child is not None else line
        if child is None:
            return line
        node = child
    return line


@functools.cache
def _validator(contracts: ContractRegistry) -> Any:
    """The contract compiled once per registry (a replay loads many files). The registry's own
    validation reports paths as text; the line lookup needs the path's parts."""
    return jsonschema_rs.validator_for(contracts.schema(CONTRACT))


def parse(text: str, file: str, contracts: ContractRegistry) -> Scenario:
    """The scenario in `text` (the contents of `file`), or `ScenarioError` naming every problem."""
    loader = _Loader(text)
    try:  # one parse: the node tree (for lines) is also what the document is built from
        root = loader.get_single_node()
        document: Any = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([Problem(file, line, "$", f"not YAML: {reason}")]) from None
    finally:
        loader.dispose()
    validator = _validator(contracts)
    problems = [
        Problem(
            file,
            _line_of(root, list(err.instance_path)),
            json_path(err.instance_path, document),
            err.message,
        )
        for err in validator.iter_errors(document)
    ]
    problems += _missing_files(document, root, file) if not problems else []
    if problems:
        raise ScenarioError(sorted(problems, key=lambda p: (p.line, p.path)))
    lines = tuple(_line_of(root, ["steps", i]) for i in range(len(document["steps"])))
    return Scenario(Path(file), document, lines)


def _missing_files(document: dict[str, Any], root: yaml.Node | None, file: str) -> list[Problem]:
    """A `state: {file}` or `body_file` that is not there: named before anything runs, not a
    crash halfway through the replay."""
    named: list[list[str | int]] = []
    if "file" in document.get("state", {}):
        named.append(["state", "file"])
    for index, step in enumerate(document["steps"]):
        if "body_file" in step.get("request", {}):
            named.append(["steps", index, "request", "body_file"])
    problems = []
    for parts in named:
        value: Any = document
        for part in parts:
            value = value[part]
        if not (Path(file).parent / value).is_file():
            where = json_path(parts, document)
            problems.append(Problem(file, _line_of(root, parts), where, f"no file {value}"))
    return problems


def load(path: Path, contracts: ContractRegistry) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), 0, "$", f"cannot read: {exc}")]) from None
    return parse(text, str(path), contracts)
