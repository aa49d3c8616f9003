"""Turn CSV text or JSON records into a typed table.

``parse_table`` accepts what a caller sends (CSV text, a JSON array of objects, or such an
array inside a string) and returns a ``Table`` whose columns carry an inferred type. Every
problem with the data raises ``TableError`` with a message that names the row or column.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

ColumnType = Literal["integer", "number", "boolean", "text", "empty"]

# Spellings of "no value" seen in exported spreadsheets and databases.
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?"})
_TRUE = frozenset({"true", "yes"})
_FALSE = frozenset({"false", "no"})
_DELIMITERS = ",;\t|"


class TableError(ValueError):
    """The data cannot be read as a table; the message says where and why."""


@dataclass(frozen=True)
class Column:
    """One column: its name, inferred type and values (``None`` where missing).

    Numeric columns hold floats; every other column holds the original strings.
    """

    name: str
    type: ColumnType
    values: list[Any]

    @property
    def numeric(self) -> bool:
        return self.type in ("integer", "number")

    @property
    def missing(self) -> int:
        return sum(1 for v in self.values if v is None)


@dataclass(frozen=True)
class Table:
    """Rows x columns, column-major. Row ``i`` of every column is data row ``i`` (0-based)."""

    columns: list[Column]
    n_rows: int
    source: str  # "csv" or "json"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def numeric_columns(self) -> list[Column]:
        return [c for c in self.columns if c.numeric]


def parse_table(data: str | list[dict[str, Any]], *, max_rows: int) -> Table:
    """Parse ``data`` into a ``Table`` of at most ``max_rows`` data rows.

    A string that starts with ``[`` or ``{`` is read as JSON (an array of objects, or an
    object holding one under ``data``/``rows``/``records``); any other string is CSV with a
    header line (delimiter ``,``, ``;``, tab or ``|``, detected from the header).
    """
    if isinstance(data, str):
        text = data.strip().lstrip("\ufeff")
        if not text:
            raise TableError("data is empty")
        if text[0] in "[{":
            try:
                decoded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TableError(f"data looks like JSON but is not valid JSON: {exc}") from exc
            return _from_records(_records_in(decoded), max_rows=max_rows)
        return _from_csv(text, max_rows=max_rows)
    return _from_records(data, max_rows=max_rows)


def _records_in(decoded: Any) -> list[Any]:
    if isinstance(decoded, list):
        return decoded
    if isinstance(decoded, dict):
        for key in ("data", "rows", "records"):
            if isinstance(decoded.get(key), list):
                return list(decoded[key])
    raise TableError("JSON data must be an array of objects (one object per row)")


def _from_records(records: list[Any], *, max_rows: int) -> Table:
    if not records:
        raise TableError("data has no rows")
    if len(records) > max_rows:
        raise TableError(f"data has {len(records)} rows; the limit is max_rows={max_rows}")
    names: dict[str, None] = {}  # insertion-ordered set: columns in first-seen order
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise TableError(f"row {i} is a JSON {type(rec).__name__}, expected an object")
        for key in rec:
            names.setdefault(str(key), None)
    if not names:
        raise TableError("data has no columns (every row is an empty object)")
    raw: dict[str, list[str | None]] = {name: [] for name in names}
    for rec in records:
        for name in names:
            raw[name].append(_cell_text(rec.get(name)))
    return Table([_typed(name, vals) for name, vals in raw.items()], len(records), "json")


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties: the earlier, so "," wins
    return best if counts[best] else ","


def _from_csv(text: str, *, max_rows: int) -> Table:
    delimiter = _sniff_delimiter(text.splitlines()[0])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        names = _column_names(header)
        columns: list[list[str | None]] = [[] for _ in names]
        n_rows = 0
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank line
            if len(fields) != len(names):
                raise TableError(
                    f"row {n_rows} (line {reader.line_num}) has {len(fields)} fields; "
                    f"the header has {len(names)} columns"
                )
            n_rows += 1
            if n_rows > max_rows:
                raise TableError(f"data has more than max_rows={max_rows} rows")
            for col, field in zip(columns, fields, strict=True):
                col.append(field)
    except csv.Error as exc:
        raise TableError(f"CSV is malformed at line {reader.line_num}: {exc}") from exc
    if n_rows == 0:
        raise TableError("data has a header but no rows")
    return Table([_typed(n, v) for n, v in zip(names, columns, strict=True)], n_rows, "csv")


def _column_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for i, raw in enumerate(header):
        name = raw.strip() or f"column_{i + 1}"
        if name in names:
            raise TableError(f"column name {name!r} appears twice in the header")
        names.append(name)
    return names


def _typed(name: str, raw: list[str | None]) -> Column:
    """Infer the narrowest type that fits every present value of a column."""
    present = [v.strip() for v in raw if v is not None and v.strip().lower() not in MISSING]
    if not present:
        return Column(name, "empty", [None] * len(raw))
    numbers = [_number(v) for v in present]
    if all(n is not None for n in numbers):
        is_int = all(float(n).is_integer() for n in numbers if n is not None)
        values = [_number(v.strip()) if v is not None else None for v in raw]
        return Column(name, "integer" if is_int else "number", values)
    lowered = {v.lower() for v in present}
    kind: ColumnType = "boolean" if lowered <= _TRUE | _FALSE else "text"
    texts = [None if v is None or v.strip().lower() in MISSING else v.strip() for v in raw]
    return Column(name, kind, texts)


def _number(text: str) -> float | None:
    if text.lower() in MISSING:
        return None
    try:
        value = float(text.replace("_", "x"))  # float() accepts "1_000"; a table should not
    except ValueError:
        return None
    return value if math.isfinite(value) else None
