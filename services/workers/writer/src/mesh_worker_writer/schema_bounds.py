"""A JSON Schema with a length cap on every free-text string, for constrained decoding.

A small model that starts a free-text JSON string often never ends it: it loops ("and your
data is available to others, including ...") until ``max_tokens``, and the JSON is never
closed. Capping such strings makes the enforcer close them, so the object completes. The
result is a *stricter* schema: whatever fits it fits the original too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def _scalar(max_chars: int) -> list[dict[str, Any]]:
    return [
        {"type": "string", "maxLength": max_chars},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]


def any_value(max_chars: int) -> dict[str, Any]:
    """Any JSON value two levels deep (arrays and objects of scalars), strings capped.

    Used as the values of objects that declare no properties (``{"type": "object"}``), where
    the enforcer would otherwise allow any value with unbounded strings.
    """
    scalars = _scalar(max_chars)
    return {
        "anyOf": [
            *scalars,
            {"type": "array", "items": {"anyOf": scalars}},
            {"type": "object", "additionalProperties": {"anyOf": scalars}},
        ]
    }


def _is_free_string(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    is_string = kind == "string" or (isinstance(kind, list) and "string" in kind)
    constrained = any(k in node for k in ("maxLength", "enum", "const", "pattern", "format"))
    return is_string and not constrained


def _is_free_object(node: Mapping[str, Any]) -> bool:
    return (
        node.get("type") == "object"
        and "properties" not in node
        and not isinstance(node.get("additionalProperties"), Mapping)
        and node.get("additionalProperties") is not False
    )


def bound_strings(schema: Mapping[str, Any], max_chars: int) -> dict[str, Any]:
    """A copy of ``schema`` where strings without ``maxLength``/``enum``/``pattern`` get
    ``maxLength: max_chars`` and property-less objects get capped values. ``max_chars <= 0``
    returns an unchanged copy."""
    out: dict[str, Any] = copy.deepcopy(dict(schema))
    if max_chars > 0:
        _bound(out, max_chars)
    return out


def _bound(node: Any, max_chars: int) -> None:
    if not isinstance(node, dict):
        return
    if _is_free_string(node):
        node["maxLength"] = max_chars
    if _is_free_object(node):
        node["additionalProperties"] = any_value(max_chars)
    for key in _SUBSCHEMA_LISTS:
        for sub in node.get(key) or []:
            _bound(sub, max_chars)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            for sub in node[key].values():
                _bound(sub, max_chars)
    for key in ("items", "additionalProperties"):
        _bound(node.get(key), max_chars)
