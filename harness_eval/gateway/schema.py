"""Smallest valid values for JSON schemas, in both dialects harnesses send.

Harnesses ask side questions with a response schema (model routing, who-speaks-next checks) and declare
tools with required parameters a script does not mention; both need a value that validates without anyone having
written it by hand. Gemini's OpenAPI-style schemas spell types in capitals ("OBJECT"), JSON Schema in lower case.
"""

from __future__ import annotations

from typing import Any

# Where a schema offers a choice of strings, pick these first: "user" answers a who-speaks-next check so that
# the harness does not invent a "Please continue." turn after the script has finished.
PREFERRED_CHOICES = ("user",)


def schema_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if isinstance(k, str) and k.lower() != "null"), None)
    return kind.lower() if isinstance(kind, str) else None


def minimal_value(schema: Any) -> Any:
    """A value that satisfies `schema` with as little invented content as possible."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    choices = schema.get("enum")
    if isinstance(choices, list) and choices:
        return next((c for c in PREFERRED_CHOICES if c in choices), choices[0])
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return minimal_value(options[0])
    kind = schema_type(schema)
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = schema.get("required") if isinstance(schema.get("required"), list) else list(properties)
        return {name: minimal_value(properties.get(name, {})) for name in required}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [minimal_value(schema.get("items", {})) for _ in range(count if isinstance(count, int) else 0)]
    if kind in ("integer", "number"):
        minimum = schema.get("minimum", 0)
        return minimum if isinstance(minimum, int | float) else 0
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return ""
