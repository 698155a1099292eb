"""Writing scenario YAML with ruamel.yaml's round-trip mode: a file read and written again keeps
its comments, key order, quoting and flow or block style; what is new is written in flow style
when it is short (`{status: 200}`, `{$regex: ...}`) and in block style otherwise.

PyYAML (loader.py) still reads every scenario: it gives the line numbers and the contract check;
this module is only for writing.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

# A container written on one line when its JSON is at most this long.
FLOW_WIDTH = 100
_ITEM = re.compile(r"^( *)- ", re.MULTILINE)
_KEY = re.compile(r"^( *)[^\s#-][^:]*:\s*$")


def round_trip(text: str = "") -> YAML:
    """A round-trip YAML instance; its sequence indentation follows `text` when it has a block
    sequence (`steps:` then `  - ...` or `- ...`)."""
    yaml = YAML()  # round-trip; YAML 1.2, so `yes`/`on` stay strings as the loader reads them
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long flow line the file had on one line
    yaml.brace_single_entry_mapping_in_flow_sequence = True  # `[{a: 1}]` stays, not `[a: 1]`
    yaml.representer.add_representer(type(None), _null)  # `key: null`, not `key:`
    offset = 2
    lines = text.splitlines()
    for index, line in enumerate(lines):
        item = _ITEM.match(line)
        parent = lines[index - 1] if index else ""
        if item and _KEY.match(parent):
            offset = len(item.group(1)) - (len(parent) - len(parent.lstrip()))
            break
    yaml.indent(mapping=2, sequence=offset + 2, offset=max(offset, 0))
    return yaml


def _null(representer: Any, value: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def styled(value: Any) -> Any:
    """`value` with its plain dicts and lists turned into round-trip nodes, short ones in flow
    style; nodes read from a file keep their style unless a new child is too long for one
    line (a flow node cannot hold a block one), and their new children are styled."""
    return _styled(value)[0]


def _styled(value: Any) -> tuple[Any, bool]:
    """The node, and whether it is written in block style."""
    if isinstance(value, CommentedMap | CommentedSeq):
        block = False
        keys = list(value) if isinstance(value, CommentedMap) else range(len(value))
        for key in keys:
            value[key], child_block = _styled(value[key])
            block |= child_block
        if block:
            value.fa.set_block_style()
        return value, block or value.fa.flow_style() is False
    if isinstance(value, dict):
        node: CommentedMap | CommentedSeq = CommentedMap(
            (key, _styled(item)[0]) for key, item in value.items()
        )
    elif isinstance(value, list):
        node = CommentedSeq(_styled(item)[0] for item in value)
    else:
        return value, False
    if len(json.dumps(value, separators=(",", ": "), default=str)) <= FLOW_WIDTH:
        node.fa.set_flow_style()
        return node, False
    node.fa.set_block_style()
    return node, True


def dump(document: Any, yaml: YAML | None = None) -> str:
    out = io.StringIO()
    (yaml or round_trip()).dump(styled(document), out)
    return out.getvalue()
