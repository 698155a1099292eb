"""A JSON document as indented HTML lines, with each validation error marked on the line of
the value it is about (its JSONPath, as `contracts.json_path` writes it) and the rule it broke.

Paths are built with `json_path` itself, so a mark lands where the verdict points: `$.d[0].ts`,
`$.map["7"]`, `$[2].events[0]` (an Events API bulk request's batches)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from emulator.core.contracts import json_path
from emulator.core.jsonresp import dumps


def _scalar(value: Any) -> str:
    kind = "null" if value is None else type(value).__name__
    return f'<span class="j-{kind}">{escape(dumps(value).decode())}</span>'


def render_json(document: Any, errors: Iterable[Mapping[str, str]] = ()) -> Markup:
    """`document` pretty-printed; each error (`path`, `message`, `kind`) marks its line."""
    by_path: dict[str, list[Mapping[str, str]]] = defaultdict(list)
    for error in errors:
        by_path[error["path"]].append(error)
    lines: list[str] = []

    def line(depth: int, parts: list[str | int], text: str) -> None:
        path = json_path(parts, document)
        marks = by_path.pop(path, None)
        indent = "  " * depth
        if not marks:
            lines.append(f"{indent}{text}")
            return
        rules = " ".join(str(escape(m["kind"])) for m in marks)
        why = "; ".join(f"{m['kind']}: {m['message']}" for m in marks)
        lines.append(
            f'<mark class="j-error" id="at-{escape(path)}" data-error-path="{escape(path)}" '
            f'data-rule="{rules}" title="{escape(why)}">{indent}{text}</mark>'
        )
        for m in marks:
            lines.append(
                f'<span class="j-why">{indent}  ↳ <b>{escape(m["kind"])}</b>: '
                f"{escape(m['message'])}</span>"
            )

    def walk(value: Any, depth: int, parts: list[str | int], label: str, comma: str) -> None:
        if isinstance(value, dict) and value:
            line(depth, parts, f"{label}{{")
            items = list(value.items())
            for i, (key, item) in enumerate(items):
                key_html = f'<span class="j-key">{escape(dumps(str(key)).decode())}</span>: '
                walk(item, depth + 1, [*parts, key], key_html, "," if i < len(items) - 1 else "")
            lines.append("  " * depth + "}" + comma)
        elif isinstance(value, list) and value:
            line(depth, parts, f"{label}[")
            for i, item in enumerate(value):
                walk(item, depth + 1, [*parts, i], "", "," if i < len(value) - 1 else "")
            lines.append("  " * depth + "]" + comma)
        else:
            empty = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else None
            line(depth, parts, label + (empty or _scalar(value)) + comma)

    walk(document, 0, [], "", "")
    # Errors at a path the document does not have (rare: a refused key's own name) stay listed.
    for path, marks in by_path.items():
        for m in marks:
            lines.append(
                f'<mark class="j-error" data-error-path="{escape(path)}" '
                f'data-rule="{escape(m["kind"])}">{escape(path)}</mark>'
                f'<span class="j-why"> ↳ <b>{escape(m["kind"])}</b>: {escape(m["message"])}</span>'
            )
    return Markup("\n".join(lines))
