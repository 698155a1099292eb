"""Validating a batch against a data plan version, and blocking what the plan does not name.

Validation follows mParticle's data-planning-node validator
(https://github.com/mParticle/data-planning-node, `src/data_planning/data_plan_event_validator.ts`
and `src/validation/JSONSchemaValidator.ts`): each event is found in the plan by a match key
(`custom_event:{custom_event_type}:{event_name}`, `screen_view::{screen_name}`,
`product_action:{action}`, `promotion_action:{action}`, `product_impression`, or the event type
itself); an event the plan lacks is one `unplanned` error at `#`; a planned one is validated
against its data point's JSON Schema (nulls removed first), each schema error becoming a
`validation_error` (`unplanned`, `missing_required`, `invalid_value` or `unknown`); the user
attributes are validated as one unit when the plan has a `user_attributes` point. The user
identities are validated the same way against a `user_identities` point (the guide's "Unplanned
User Attribute or Identity" violation, https://docs.mparticle.com/guides/data-master/data-planning/).
Attribute types: a string that reads as the number or boolean expected, or a number or boolean
where a string is expected, is valid (the guide's "How are attribute types validated?").

Blocking follows the Web SDK's kit blocker (https://github.com/mParticle/mparticle-web-sdk,
`src/kitBlocking.ts`), applied server-side before storage and forwarding as the guide describes
("Blocking Bad Data"): `ev` drops custom, screen and commerce events the plan lacks; `ea` drops
a planned event's custom attributes its point does not list when the point closes them
(`additionalProperties: false`); `ua` / `id` drop user attributes / identities the plan's
`user_attributes` / `user_identities` point does not list when it closes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from emulator.core.contracts import ContractError

RESULT = "validation_result"
# Event types a plan can name and `ev` can block (the guide's "Which events are supported?").
BLOCKABLE = ("custom_event", "screen_view", "commerce_event")
# Match types that are their own key (data_plan_event_validator.ts, generateMatchKey).
PLAIN_TYPES = (
    "breadcrumb",
    "crash_report",
    "first_run",
    "network_performance",
    "opt_out",
    "product_impression",
    "session_start",
    "session_end",
    "uninstall",
    "user_attributes",
    "user_identities",
)
# Event types that are their own key (getMatchKey).
EVENT_TYPES = tuple(t for t in PLAIN_TYPES if t.split("_")[0] not in ("product", "user"))
# ajv's keyword → validation_error_type (JSONSchemaValidator.ts, generateValidationError).
INVALID = {
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "format",
    "type",
    "const",
    "enum",
    "patternProperties",
}
REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")


class PlanDocumentError(ValueError):
    """A version document whose definitions cannot be used."""


@dataclass(frozen=True, slots=True)
class Point:
    match: dict[str, Any]
    definition: dict[str, Any]
    validator: Any  # jsonschema_rs validator, None for an empty definition


@dataclass(slots=True)
class Report:
    """What a plan made of one batch: its validation results and what was blocked."""

    plan_id: str
    version: int | None
    # (where in the batch, result), in the validator's order.
    results: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    blocked: list[dict[str, Any]] = field(default_factory=list)
    # Why the batch was not validated (unknown plan or version, none active).
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"plan_id": self.plan_id, "plan_version": self.version}
        if self.skipped is not None:
            found["not_validated"] = self.skipped
        else:
            found["results"] = [result for _, result in self.results]
            found["blocked"] = self.blocked
        return found

    def warnings(self, prefix: str) -> list[ContractError]:
        """The report as verdict warnings (kind `data_plan`, or `data_plan_blocked`)."""
        plan = f"data plan {self.plan_id!r}"
        if self.skipped is not None:
            return [ContractError(f"{prefix}.context.data_plan", self.skipped, "data_plan")]
        plan += f" v{self.version}"
        found = []
        for where, result in self.results:
            at = prefix + where[1:]
            for error in result["data"]["validation_errors"]:
                message = (
                    f"{plan}: {error['validation_error_type']} {error.get('key', '')!s} "
                    f"at {error.get('error_pointer', '#')}"
                ).replace("  ", " ")
                found.append(ContractError(at, message, "data_plan"))
        for item in self.blocked:
            message = f"{plan}: blocked unplanned {item['kind']} {item['name']!r}"
            found.append(ContractError(prefix + item["path"][1:], message, "data_plan_blocked"))
        return found


def _refs(schema: Any) -> bool:
    if isinstance(schema, dict):
        return any(k in schema for k in REF_KEYS) or any(_refs(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_refs(v) for v in schema)
    return False


def compile_definition(definition: dict[str, Any]) -> Any:
    """A draft-7 validator (ajv's default, as data-planning-node uses it) for a definition;
    `$ref` is refused: the emulator never fetches a schema."""
    if not definition:
        return None
    if _refs(definition):
        raise PlanDocumentError("a definition may not use $ref")
    try:
        return jsonschema_rs.Draft7Validator(definition)
    except (jsonschema_rs.ValidationError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PlanDocumentError(f"not a valid JSON Schema: {first}") from None


def match_key(match: dict[str, Any]) -> str:
    """A data point's key (generateMatchKey)."""
    kind = match.get("type")
    criteria = match.get("criteria") or {}
    if not isinstance(criteria, dict):
        criteria = {}

    def part(name: str) -> str:
        value = criteria.get(name)
        return "" if value is None else str(value)

    if kind in PLAIN_TYPES:
        return str(kind)
    if kind == "custom_event":
        return f"custom_event:{part('custom_event_type')}:{part('event_name')}"
    if kind == "screen_view":
        return f"screen_view::{part('screen_name')}"
    if kind in ("product_action", "promotion_action"):
        return f"{kind}:{part('action')}"
    if kind == "application_state_transition":
        return f"application_state_transition:{part('application_transition_type')}"
    return "unknown"


def event_key(event: dict[str, Any]) -> str | None:
    """An event's key (getMatchKey): None for an event no plan can name."""
    kind = event.get("event_type")
    data = event.get("data")
    data = data if isinstance(data, dict) else {}

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    if kind in EVENT_TYPES:
        return str(kind)
    if kind == "custom_event":
        if not data:
            return None
        return f"custom_event:{text(data.get('custom_event_type'))}:{text(data.get('event_name'))}"
    if kind == "screen_view":
        return f"screen_view::{text(data.get('screen_name'))}"
    if kind == "application_state_transition":
        return f"application_state_transition:{text(data.get('application_transition_type'))}"
    if kind == "commerce_event":
        for name in ("product_action", "promotion_action"):
            action = data.get(name)
            if isinstance(action, dict):
                return f"{name}:{text(action.get('action'))}"
        return "product_impression" if data.get("product_impressions") else ""
    return None


def synthesized_match(event: dict[str, Any]) -> dict[str, Any]:
    """The match an unplanned event would have (synthesizeMatch)."""
    kind = event.get("event_type")
    data = event.get("data")
    data = data if isinstance(data, dict) else {}
    if kind == "screen_view":
        return {"type": "screen_view", "criteria": {"screen_name": data.get("screen_name") or ""}}
    if kind == "custom_event":
        criteria = {
            "event_name": data.get("event_name") or "Custom Event",
            "custom_event_type": data.get("custom_event_type") or "other",
        }
        return {"type": "custom_event", "criteria": criteria}
    if kind == "commerce_event":
        for name in ("product_action", "promotion_action"):
            action = data.get(name)
            if isinstance(action, dict):
                return {"type": name, "criteria": {"action": action.get("action")}}
        if data.get("product_impressions"):
            return {"type": "product_impression"}
        return {"type": "unknown"}
    if kind in PLAIN_TYPES:
        return {"type": kind}
    return {"type": "unknown"}


def clean(value: Any) -> Any:
    """Nulls removed from objects, recursively, arrays left alone (JSONSchemaValidator's
    `clean`)."""
    if isinstance(value, dict):
        return {
            k: clean(v) if isinstance(v, dict) else v for k, v in value.items() if v is not None
        }
    return value


def _converts(value: Any, types: list[str]) -> bool:
    """Whether a type error is forgiven: "42" for a number, "true" for a boolean, 42 or true for
    a string (https://docs.mparticle.com/guides/data-master/data-planning/)."""
    if isinstance(value, str):
        text = value.strip()
        if "boolean" in types and text.lower() in ("true", "false"):
            return True
        try:
            number = float(text)
        except ValueError:
            return False
        return "number" in types or ("integer" in types and number.is_integer())
    return isinstance(value, (int, float, bool)) and "string" in types


def _actual(value: Any) -> Any:
    return (
        value
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
        else (json.dumps(value))
    )


def schema_errors(validator: Any, instance: Any) -> list[dict[str, Any]]:
    """The validation errors of `instance` (generateValidationError)."""
    if validator is None or validator.is_valid(instance):  # the fast check first
        return []
    found = []
    for error in validator.iter_errors(instance):
        nodes = [str(n) for n in error.instance_path]
        keyword = str(error.schema_path[-1]) if error.schema_path else "none"
        kind = error.kind
        if keyword == "type" and _converts(error.instance, [str(t) for t in kind.types]):
            continue
        base = {"error_pointer": "/".join(["#", *nodes]), "schema_keyword": keyword}
        if nodes:
            base["key"] = nodes[-1]
        if keyword in ("additionalProperties", "additionalItems"):
            unexpected = getattr(kind, "unexpected", None) or [nodes[-1] if nodes else ""]
            for name in unexpected:
                extra = {"validation_error_type": "unplanned", "key": name, "actual": name}
                found.append({**base, **extra})
            continue
        if keyword == "required":
            missing = str(getattr(kind, "property", ""))
            found.append({**base, "validation_error_type": "missing_required", "expected": missing})
            continue
        item = {**base, "actual": _actual(error.instance), "expected": error.message}
        if keyword in INVALID:
            item["validation_error_type"] = "invalid_value"
        elif keyword == "dependencies":
            item["validation_error_type"] = "missing_required"
        else:
            item["validation_error_type"] = "unknown"
        found.append(item)
    return found


class PlanValidator:
    """One version document, compiled (data_plan_event_validator.ts, DataPlanEventValidator)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.points: dict[str, Point] = {}
        for point in document.get("data_points") or ():
            validator = point["validator"]
            definition = validator.get("definition") or {}
            compiled = compile_definition(definition)
            self.points[match_key(point["match"])] = Point(point["match"], definition, compiled)

    # -- validation --------------------------------------------------------------------------
    def validate(self, batch: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(where, result) for each event, then the user attributes and identities, that
        fails."""
        results = []
        for index, event in enumerate(batch.get("events") or ()):
            if isinstance(event, dict):
                found = self.validate_event(event)
                if found is not None:
                    results.append((f"$.events[{index}]", found))
        for name in ("user_attributes", "user_identities"):
            found = self._validate_unit(name, batch.get(name))
            if found is not None:
                results.append((f"$.{name}", found))
        return results

    def validate_event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        key = event_key(event)
        if key is None or not key.strip():
            error = {"validation_error_type": "unplanned", "key": "unknown", "error_pointer": "#"}
            return {"event_type": RESULT, "data": {"validation_errors": [error]}}
        point = self.points.get(key)
        if point is None:
            data = event.get("data")
            data = data if isinstance(data, dict) else {}
            name = None
            if event.get("event_type") == "custom_event":
                name = data.get("event_name")
            elif event.get("event_type") == "screen_view":
                name = data.get("screen_name")
            label = name if isinstance(name, str) and name else str(event.get("event_type"))
            error = {"validation_error_type": "unplanned", "key": label, "error_pointer": "#"}
            match = synthesized_match(event)
            return {"event_type": RESULT, "data": {"match": match, "validation_errors": [error]}}
        errors = schema_errors(point.validator, clean(event))
        if not errors:
            return None
        return {"event_type": RESULT, "data": {"match": point.match, "validation_errors": errors}}

    def _validate_unit(self, name: str, value: Any) -> dict[str, Any] | None:
        point = self.points.get(name)
        if point is None:
            return None
        if point.validator is None:
            error = {
                "validation_error_type": "unknown",
                "error_pointer": "#",
                "actual": "Invalid JSON Schema",
                "key": name,
            }
            return {
                "event_type": RESULT,
                "data": {"match": {"type": name}, "validation_errors": [error]},
            }
        errors = schema_errors(point.validator, clean(value if isinstance(value, dict) else {}))
        if not errors:
            return None
        return {"event_type": RESULT, "data": {"match": point.match, "validation_errors": errors}}

    # -- blocking ----------------------------------------------------------------------------
    def block(self, batch: dict[str, Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
        """Remove from `batch`, in place, what `settings` (`ev`, `ea`, `ua`, `id`) block; answer
        what was removed ({kind, name, path}, paths as received)."""
        blocked: list[dict[str, Any]] = []
        events = batch.get("events")
        if isinstance(events, list) and (settings.get("ev") or settings.get("ea")):
            kept = []
            for index, event in enumerate(events):
                if not isinstance(event, dict):
                    kept.append(event)
                    continue
                at = f"$.events[{index}]"
                point = self.points.get(event_key(event) or "")
                if settings.get("ev") and point is None and event.get("event_type") in BLOCKABLE:
                    name = synthesized_match(event).get("criteria", {})
                    label = name.get("event_name") or name.get("screen_name") or name.get("action")
                    blocked.append(
                        {"kind": "event", "name": label or event["event_type"], "path": at}
                    )
                    continue
                if settings.get("ea") and point is not None:
                    blocked += _block_attributes(event, point.definition, at)
                kept.append(event)
            batch["events"] = kept
        for setting, name, kind in (
            ("ua", "user_attributes", "user attribute"),
            ("id", "user_identities", "user identity"),
        ):
            if settings.get(setting):
                blocked += self._block_unit(batch, name, kind)
        return blocked

    def _block_unit(self, batch: dict[str, Any], name: str, kind: str) -> list[dict[str, Any]]:
        planned = _closed_properties(self.points[name].definition) if name in self.points else None
        values = batch.get(name)
        if planned is None or not isinstance(values, dict):
            return []
        removed = [key for key in values if key not in planned]
        for key in removed:
            del values[key]
        return [{"kind": kind, "name": key, "path": f"$.{name}.{key}"} for key in removed]


def _closed_properties(definition: dict[str, Any]) -> set[str] | None:
    """The names an object schema allows when it closes the object (`additionalProperties:
    false`), else None (everything allowed: kitBlocking.ts, getPlannedProperties)."""
    if not isinstance(definition, dict) or definition.get("additionalProperties") is not False:
        return None
    properties = definition.get("properties")
    return set(properties) if isinstance(properties, dict) else set()


def _block_attributes(
    event: dict[str, Any], definition: dict[str, Any], at: str
) -> list[dict[str, Any]]:
    """Drop a planned event's unplanned custom attributes (kitBlocking.ts, getPlannedProperties:
    the point's `data.custom_attributes` when it closes them; none allowed when the point has no
    `custom_attributes` schema and closes `data`)."""
    props = definition.get("properties") if isinstance(definition, dict) else None
    data_schema = props.get("data") if isinstance(props, dict) else None
    if not isinstance(data_schema, dict):
        return []
    data_props = data_schema.get("properties")
    attributes_schema = (
        data_props.get("custom_attributes") if isinstance(data_props, dict) else None
    )
    if isinstance(attributes_schema, dict):
        planned = _closed_properties(attributes_schema)
    else:
        planned = set() if data_schema.get("additionalProperties") is False else None
    data = event.get("data")
    attributes = data.get("custom_attributes") if isinstance(data, dict) else None
    if planned is None or not isinstance(attributes, dict):
        return []
    removed = [key for key in attributes if key not in planned]
    for key in removed:
        del attributes[key]
    return [
        {"kind": "event attribute", "name": key, "path": f"{at}.data.custom_attributes.{key}"}
        for key in removed
    ]
