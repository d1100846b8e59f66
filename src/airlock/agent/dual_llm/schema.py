"""A small JSON Schema validator for what ``parse_with_ai`` asks the QLLM to return.

The schemas come from the planner's program (pydantic-style ``model_json_schema()`` output or a
hand-written dict), so the subset is what those produce: ``type`` (incl. lists), ``properties``,
``required``, ``additionalProperties``, ``items``, ``enum``, ``const``, ``anyOf``/``oneOf``/
``allOf``, ``$ref`` into ``$defs``/``definitions``, string length/pattern and numeric bounds.
Unknown keywords are ignored (accepting more is safe: the interpreter re-validates model
instances). The validator exists so the engine can *retry* the QLLM with a precise complaint
instead of handing malformed data to the program.
"""

from __future__ import annotations

from typing import Any

import re2

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def validate(value: Any, schema: Any) -> list[str]:
    """Problems found (``path: message``); empty when ``value`` matches ``schema``."""
    errors: list[str] = []
    root = schema if isinstance(schema, dict) else {}
    _check(value, schema, root, "$", errors, 0)
    return errors[:10]


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return {**node, **rest}
    return schema


def _check(v: Any, schema: Any, root: dict, path: str, errors: list[str], depth: int) -> None:
    if not isinstance(schema, dict) or depth > 32:
        return
    schema = _resolve(schema, root)
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(_TYPES.get(x, lambda _: True)(v) for x in types):
            errors.append(f"{path}: expected {' or '.join(map(str, types))}, got {type(v).__name__}")
            return
    if "enum" in schema and v not in schema["enum"]:
        errors.append(f"{path}: must be one of {schema['enum']!r}")
    if "const" in schema and v != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            if not any(not _errs(v, o, root, path, depth) for o in options):
                errors.append(f"{path}: matches none of the allowed shapes")
    for sub in schema.get("allOf") or ():
        _check(v, sub, root, path, errors, depth + 1)
    if isinstance(v, dict):
        props = schema.get("properties") or {}
        for name in schema.get("required") or ():
            if name not in v:
                errors.append(f"{path}: missing required field {name!r}")
        for name, item in v.items():
            if name in props:
                _check(item, props[name], root, f"{path}.{name}", errors, depth + 1)
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected field {name!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                _check(item, schema["additionalProperties"], root, f"{path}.{name}", errors, depth + 1)
    if isinstance(v, list):
        items = schema.get("items")
        for i, item in enumerate(v[:1000]):
            _check(item, items, root, f"{path}[{i}]", errors, depth + 1)
        if isinstance(schema.get("minItems"), int) and len(v) < schema["minItems"]:
            errors.append(f"{path}: needs at least {schema['minItems']} items")
        if isinstance(schema.get("maxItems"), int) and len(v) > schema["maxItems"]:
            errors.append(f"{path}: allows at most {schema['maxItems']} items")
    if isinstance(v, str):
        if isinstance(schema.get("minLength"), int) and len(v) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if isinstance(schema.get("maxLength"), int) and len(v) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']}")
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:  # RE2: the text is untrusted, so matching must stay linear
                if re2.search(pattern, v) is None:
                    errors.append(f"{path}: does not match {pattern!r}")
            except re2.error:
                pass
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        for key, ok in (("minimum", lambda b: v >= b), ("maximum", lambda b: v <= b),
                        ("exclusiveMinimum", lambda b: v > b), ("exclusiveMaximum", lambda b: v < b)):
            bound = schema.get(key)
            if isinstance(bound, (int, float)) and not isinstance(bound, bool) and not ok(bound):
                errors.append(f"{path}: violates {key} {bound}")


def _errs(v: Any, schema: Any, root: dict, path: str, depth: int) -> list[str]:
    out: list[str] = []
    _check(v, schema, root, path, out, depth + 1)
    return out
