"""JSON Schema contracts: loaded and compiled once, shared by validation and the OpenAPI document.

Each file under `contracts/` is one self-contained schema (local `$defs` only), named by its path
without the extension: `contracts/clevertap/upload.json` is the contract `clevertap/upload`.

Validation uses jsonschema-rs: the fast `is_valid` runs on every request, the detailed error
walk only when it fails. `strict` mode rejects properties a contract does not declare; `lenient`
mode validates against a variant without `additionalProperties: false` and reports the strict
failures as warnings.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

STRICT = "strict"
LENIENT = "lenient"


@dataclass(frozen=True, slots=True)
class ContractError:
    """One failing field: where (a JSONPath such as `$.d[0].type`), what, and which rule."""

    path: str
    message: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "kind": self.kind}


@dataclass(slots=True)
class Verdict:
    contract: str
    errors: list[ContractError] = field(default_factory=list)
    warnings: list[ContractError] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "valid": self.valid,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def json_path(parts: Iterable[str | int], instance: Any = None) -> str:
    """`$.d[0].type`: indexes for arrays, names for object keys (quoted when not identifiers).

    The validator reports number-like object keys as integers, so the instance is walked to
    tell `$.map["7"]` from `$.list[7]`.
    """
    out = "$"
    node = instance
    for part in parts:
        if isinstance(part, int) and not isinstance(node, dict):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        key = str(part)
        out += f".{key}" if key.isidentifier() else "[" + json.dumps(key) + "]"
        node = node.get(key) if isinstance(node, dict) else None
    return out


def _without_closed_objects(schema: Any) -> Any:
    """The lenient variant of a schema: objects accept properties they do not declare."""
    if isinstance(schema, dict):
        return {
            key: _without_closed_objects(value)
            for key, value in schema.items()
            if not (key in ("additionalProperties", "unevaluatedProperties") and value is False)
        }
    if isinstance(schema, list):
        return [_without_closed_objects(item) for item in schema]
    return schema


class _Compiled:
    __slots__ = ("lenient", "schema", "strict")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.strict = jsonschema_rs.validator_for(schema)
        lenient_schema = _without_closed_objects(schema)
        self.lenient = (
            self.strict if lenient_schema == schema else jsonschema_rs.validator_for(lenient_schema)
        )


def _errors(validator: Any, instance: Any) -> list[ContractError]:
    return [
        ContractError(json_path(err.instance_path, instance), err.message, type(err.kind).__name__)
        for err in validator.iter_errors(instance)
    ]


def default_contracts_dir() -> Path:
    """`contracts/` of a source checkout, else the copy installed inside the package."""
    checkout = Path(__file__).resolve().parents[2] / "contracts"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("emulator") / "_contracts"))


class ContractRegistry:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_contracts_dir()
        self._compiled: dict[str, _Compiled] = {}
        for path in sorted(self.root.rglob("*.json")):
            name = path.relative_to(self.root).with_suffix("").as_posix()
            self._compiled[name] = _Compiled(json.loads(path.read_text(encoding="utf-8")))

    def names(self) -> list[str]:
        return list(self._compiled)

    def __contains__(self, name: str) -> bool:
        return name in self._compiled

    def schema(self, name: str) -> dict[str, Any]:
        return self._compiled[name].schema

    def validate(self, name: str, instance: Any, mode: str = STRICT) -> Verdict:
        compiled = self._compiled[name]
        verdict = Verdict(name)
        if compiled.strict.is_valid(instance):
            return verdict
        if mode == LENIENT:
            verdict.errors = _errors(compiled.lenient, instance)
            if not verdict.errors:
                verdict.warnings = _errors(compiled.strict, instance)
        else:
            verdict.errors = _errors(compiled.strict, instance)
        return verdict

    def is_valid(self, name: str, instance: Any) -> bool:
        return bool(self._compiled[name].strict.is_valid(instance))

    def with_defaults(self, name: str, document: Any) -> Any:
        """A copy of `document` with every absent property that `name` gives a `default` filled
        in (nested objects and array items too): a contract's defaults are the only place a
        default value is written down."""
        schema = self._compiled[name].schema
        return _fill(schema, schema, copy.deepcopy(document))

    # -- OpenAPI export ---------------------------------------------------------------------

    @staticmethod
    def component_name(name: str, definition: str | None = None) -> str:
        base = name.replace("/", ".")
        return f"{base}.{definition}" if definition else base

    def openapi_components(self) -> dict[str, Any]:
        """Every contract (and each of its `$defs`) as an OpenAPI 3.1 component schema."""
        components: dict[str, Any] = {}
        for name, compiled in self._compiled.items():
            schema = copy.deepcopy(compiled.schema)
            defs = schema.pop("$defs", {})
            schema.pop("$schema", None)
            schema.pop("$id", None)
            prefix = f"#/components/schemas/{self.component_name(name)}."
            components[self.component_name(name)] = _rewrite_refs(schema, prefix)
            for def_name, def_schema in defs.items():
                components[self.component_name(name, def_name)] = _rewrite_refs(def_schema, prefix)
        return components


def _fill(root: dict[str, Any], schema: Any, value: Any) -> Any:
    if not isinstance(schema, dict):
        return value
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = root["$defs"][ref[len("#/$defs/") :]]
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = _fill(root, sub, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_fill(root, schema["items"], item) for item in value]
    return value


def _rewrite_refs(schema: Any, prefix: str) -> Any:
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = prefix + value[len("#/$defs/") :]
            else:
                out[key] = _rewrite_refs(value, prefix)
        return out
    if isinstance(schema, list):
        return [_rewrite_refs(item, prefix) for item in schema]
    return schema
