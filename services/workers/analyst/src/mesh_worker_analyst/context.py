"""Find a table among upstream outputs when the request carries no ``data``.

Best effort: upstream workers answer with text (maybe holding a fenced ``csv``/``json``
block), JSON records, or objects wrapping either. The first candidate that parses into a
table with at least one numeric column wins; candidates are tried in the context's order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mesh_worker_analyst.table import Table, TableError, parse_table

_FENCE = re.compile(r"```[ \t]*(?:csv|tsv|json)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_WRAPPER_KEYS = ("data", "rows", "records", "table", "csv", "output", "result", "text", "content")


def _candidates(value: Any, depth: int = 0) -> Iterator[str | list[dict[str, Any]]]:
    if depth > 3:
        return
    if isinstance(value, str):
        yield from (m.group(1) for m in _FENCE.finditer(value))
        if value.count("\n") >= 1:  # a header and at least one row
            yield value
    elif isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            yield value
        else:
            for item in value:
                yield from _candidates(item, depth + 1)
    elif isinstance(value, dict):
        for key in _WRAPPER_KEYS:
            if key in value:
                yield from _candidates(value[key], depth + 1)


def table_from_context(context: dict[str, Any], *, max_rows: int) -> tuple[Table, str] | None:
    """The first table found in ``context`` and the task id it came from, or ``None``.

    A candidate that is too large raises ``TableError`` rather than being skipped, so the
    caller hears about the row limit instead of "no data".
    """
    for task_id, output in context.items():
        for candidate in _candidates(output):
            try:
                table = parse_table(candidate, max_rows=max_rows)
            except TableError as exc:
                if "max_rows" in str(exc):
                    raise
                continue
            if table.numeric_columns:
                return table, task_id
    return None
