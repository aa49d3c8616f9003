"""Free-text strings and property-less objects get caps; everything else is left alone."""

from __future__ import annotations

from typing import Any

import jsonschema

from mesh_worker_writer.schema_bounds import any_value, bound_strings


def test_unbounded_strings_get_a_max_length_and_bounded_ones_keep_theirs() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "free": {"type": "string"},
            "short": {"type": "string", "maxLength": 5},
            "choice": {"type": "string", "enum": ["a", "b"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
        "$defs": {"Name": {"type": "string"}},
    }
    out = bound_strings(schema, 64)
    props = out["properties"]
    assert props["free"]["maxLength"] == 64
    assert props["short"]["maxLength"] == 5
    assert "maxLength" not in props["choice"]
    assert props["tags"]["items"]["maxLength"] == 64
    assert props["either"]["anyOf"][0]["maxLength"] == 64
    assert out["$defs"]["Name"]["maxLength"] == 64
    assert "maxLength" not in schema["properties"]["free"]  # the caller's schema is a copy


def test_objects_without_properties_get_capped_values_that_the_original_accepts() -> None:
    out = bound_strings({"type": "object"}, 8)
    assert out["additionalProperties"] == any_value(8)
    capped = {"a": "12345678", "b": [1, "x"], "c": {"d": True}, "e": None}
    jsonschema.validate(capped, out)
    jsonschema.validate(capped, {"type": "object"})
    too_long = {"a": "123456789"}
    assert not jsonschema.Draft202012Validator(out).is_valid(too_long)


def test_a_zero_cap_changes_nothing() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string"}}}
    assert bound_strings(schema, 0) == schema
