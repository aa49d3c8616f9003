"""What a JSON Schema for constrained decoding may hold before any of it is compiled.

The enforcer turns every ``pattern`` of a schema into a DFA (interegular) when it first meets
it: at the top level, on the event loop; inside a property, in the generation thread while
it holds the model lock. Some short patterns take exponential time there
(``^[ab]*a[ab]{14}$``: 44 s), and no thread can be interrupted. So each pattern is checked
and compiled first, in a child process under a time budget (``patterns``), and handed to the
enforcer compiled; what is checked here, in-process, only needs to look at the schema's
shape:

- depth at most ``MAX_DEPTH`` and at most ``MAX_NODES`` objects and arrays (the schema is
  walked, copied and parsed recursively);
- each ``pattern`` at most ``MAX_PATTERN_CHARS`` characters.

The child checks the rest on the parsed pattern (``check_pattern``): repetition counts at
most ``MAX_REPEAT`` (nested counts multiplied), no quantifier without an upper bound inside
another quantifier (``(a+)+``, ``(\\w+\\s?)*``), then compiles within the budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from interegular.patterns import Pattern, _Concatenation, _NonCapturing, _Repeated

MAX_DEPTH = 32
MAX_NODES = 2000
MAX_PATTERN_CHARS = 500
MAX_REPEAT = 256
# Keys whose values are JSON data, not subschemas: a "pattern" inside them is not one.
_DATA_KEYS = frozenset({"enum", "const", "default", "examples"})


class SchemaRefused(ValueError):
    """The schema (or one of its patterns) is past a bound; the message says which."""


def patterns_in(schema: Mapping[str, Any]) -> list[str]:
    """Every ``pattern`` of ``schema``, in order and once each, as the enforcer compiles
    it (one leading ``^`` and one trailing ``$`` dropped); ``SchemaRefused`` past a bound."""
    found: dict[str, None] = {}
    nodes = 0
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise SchemaRefused(f"the schema nests deeper than {MAX_DEPTH} levels")
        if nodes > MAX_NODES:
            raise SchemaRefused(f"the schema holds more than {MAX_NODES} objects and arrays")
        if isinstance(node, Mapping):
            pattern = node.get("pattern")
            if isinstance(pattern, str):
                if len(pattern) > MAX_PATTERN_CHARS:
                    raise SchemaRefused(
                        f"a pattern is {len(pattern)} characters; at most {MAX_PATTERN_CHARS}"
                    )
                found[enforced(pattern)] = None
            children = [v for k, v in node.items() if k not in _DATA_KEYS]
        else:
            children = list(node)
        stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, (Mapping, list)))
    return list(found)


def enforced(pattern: str) -> str:
    """The pattern as the enforcer compiles it (its anchors are implied)."""
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$"):
        pattern = pattern[:-1]
    return pattern


def check_pattern(parsed: Pattern) -> None:
    """``SchemaRefused`` for repetition counts past ``MAX_REPEAT`` (nested counts
    multiplied) or an unbounded quantifier inside another quantifier."""
    stack: list[tuple[Any, int, bool]] = [(parsed, 1, False)]
    while stack:
        node, times, repeated = stack.pop()
        if isinstance(node, _Repeated):
            bound = node.max if node.max is not None else node.min
            times *= max(bound, 1)
            if times > MAX_REPEAT:
                raise SchemaRefused(f"a pattern repeats more than {MAX_REPEAT} times")
            if node.max is None and repeated:
                raise SchemaRefused("a pattern nests an unbounded quantifier in another one")
            stack.append((node.base, times, repeated or node.max is None or node.max > 1))
        elif isinstance(node, Pattern):
            stack.extend((o, times, repeated) for o in node.options)
        elif isinstance(node, _Concatenation):
            stack.extend((p, times, repeated) for p in node.parts)
        elif isinstance(node, _NonCapturing):
            stack.append((node.inner, times, repeated))
