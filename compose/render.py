"""Merge compose files the way ``docker compose -f a.yml -f b.yml config`` does, offline.

Models the subset that ``compose/`` uses and refuses the rest, so an override that relies on a
rule it does not model fails instead of merging wrong:

- YAML anchors and ``<<`` merge keys (plain YAML, resolved by the loader);
- mappings merge key by key, scalars are replaced;
- ``!reset`` removes a value, ``!override`` replaces one whole (Compose >= 2.24.4);
- a plain sequence in an override where the base has one is refused: Compose merges each
  sequence attribute by its own rule (ports, volumes, ...), so overrides must say
  ``!override`` or ``!reset``;
- ``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``, ``${NAME:?error}``,
  ``${NAME?error}`` and ``$$`` interpolation (a required variable that is missing raises
  ``MissingVariable`` with its message, as compose refuses to start).

Usage: ``python compose/render.py compose/docker-compose.yml [override.yml ...]`` prints the
merged model as YAML (interpolated from the current environment).
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


class Reset:
    """The value of a ``!reset`` node: remove what the base file set."""

    def __repr__(self) -> str:
        return "!reset"


class Override:
    """The value of an ``!override`` node: replace the base value whole."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"!override {self.value!r}"


class ComposeLoader(yaml.SafeLoader):
    """SafeLoader that also understands Compose's ``!reset`` and ``!override`` tags."""


def _construct_reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    return Reset()


def _construct_override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))  # type: ignore[arg-type]


ComposeLoader.add_constructor("!reset", _construct_reset)
ComposeLoader.add_constructor("!override", _construct_override)


class MergeError(ValueError):
    """An override needs a merge rule this module does not model."""


def load(path: Path) -> dict[str, Any]:
    """One compose file, with ``!reset``/``!override`` markers still in place."""
    # ComposeLoader is a SafeLoader: no arbitrary objects are built.
    data = yaml.load(path.read_text(), Loader=ComposeLoader)
    if not isinstance(data, dict):
        raise MergeError(f"{path}: not a mapping")
    return data


def merge(base: Any, override: Any, where: str = "") -> Any:
    """``override`` applied to a copy of ``base``; a ``Reset`` result means "remove"."""
    if isinstance(override, Reset | Override):
        return override if isinstance(override, Reset) else copy.deepcopy(override.value)
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            result = merge(merged.get(key), value, f"{where}.{key}")
            if isinstance(result, Reset):
                merged.pop(key, None)
            else:
                merged[key] = result
        return merged
    if isinstance(base, list) and isinstance(override, list):
        raise MergeError(f"{where}: sequence override needs !override or !reset")
    return strip_markers(override)


def strip_markers(value: Any) -> Any:
    """A plain copy of ``value``: resets dropped, overrides unwrapped."""
    if isinstance(value, Override):
        return strip_markers(value.value)
    if isinstance(value, dict):
        return {k: strip_markers(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_markers(v) for v in value if not isinstance(v, Reset)]
    return copy.deepcopy(value)


_VARIABLE = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\})")


class MissingVariable(ValueError):
    """A ``${NAME:?message}`` (or ``${NAME?message}``) whose variable is unset (or empty)."""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Substitute ``${...}`` in every string of ``value`` from ``env``."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            if match.group(1):
                return "$"
            name, operator, default = match.group(2), match.group(3), match.group(4)
            current = env.get(name)
            if operator == ":-" and not current:
                return default
            if operator == "-" and current is None:
                return default
            if (operator == ":?" and not current) or (operator == "?" and current is None):
                raise MissingVariable(f"{name}: {default or 'required'}")
            return current or ""

        return _VARIABLE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    return value


def render(paths: list[Path], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The merged, interpolated model of ``paths`` (first is the base). Extension fields
    (``x-*``) are dropped, as ``docker compose config`` does."""
    model: dict[str, Any] = strip_markers(load(paths[0]))
    for path in paths[1:]:
        model = merge(model, load(path))
    model = {k: v for k, v in model.items() if not k.startswith("x-")}
    result: dict[str, Any] = interpolate(model, os.environ if env is None else env)
    return result


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python compose/render.py <compose.yml> [override.yml ...]", file=sys.stderr)
        return 2
    try:
        model = render([Path(p) for p in argv])
    except MissingVariable as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 1
    print(yaml.safe_dump(model, sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
