"""Markdown for the analysis steps: one function per message the worker streams."""

from __future__ import annotations

from mesh_worker_analyst.stats import (
    IQR_FACTOR,
    MAX_CORRELATED_COLUMNS,
    Correlation,
    Outliers,
    Summary,
)
from mesh_worker_analyst.table import Column, Table

LISTED_IN_MESSAGE = 10  # outliers per column in the message; the output lists up to 50


def fmt(x: float | None) -> str:
    """A number as a person would write it: integers plain, others to 4 significant places."""
    if x is None:
        return "-"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    if abs(x) >= 1e6 or abs(x) < 1:
        return f"{x:.4g}"
    return f"{x:.4f}".rstrip("0").rstrip(".")


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 40 else text[:39] + "…"


def label_column(table: Table) -> Column | None:
    """The first text column: what a row is called when an answer points at it."""
    return next((c for c in table.columns if c.type == "text"), None)


def row_name(table: Table, row: int) -> str:
    label = label_column(table)
    if label is None or label.values[row] is None:
        return f"row {row}"
    return f"row {row} ({label.name} = {label.values[row]})"


def shape_message(table: Table) -> str:
    lines = [
        "### Shape",
        "",
        f"{table.n_rows} rows x {len(table.columns)} columns (read as {table.source.upper()}; "
        "rows are numbered from 0 below the header).",
        "",
        "| column | type | missing | first value |",
        "|---|---|---:|---|",
    ]
    for col in table.columns:
        first = next((v for v in col.values if v is not None), None)
        shown = "-" if first is None else fmt(first) if col.numeric else _cell(str(first))
        lines.append(f"| {_cell(col.name)} | {col.type} | {col.missing} | {shown} |")
    return "\n".join(lines)


def stats_message(summaries: dict[str, Summary]) -> str:
    lines = [
        "### Summary statistics",
        "",
        "Numeric columns only; `std` is the sample standard deviation, quartiles are "
        "linearly interpolated.",
        "",
        "| column | count | missing | mean | std | min | q1 | median | q3 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in summaries.items():
        nums = [s.mean, s.std, s.min, s.q1, s.median, s.q3, s.max]
        lines.append(
            f"| {_cell(name)} | {s.count} | {s.missing} | "
            + " | ".join(fmt(v) for v in nums)
            + " |"
        )
    return "\n".join(lines)


def outliers_message(table: Table, found: dict[str, Outliers | None]) -> str:
    lines = [
        "### Outliers",
        "",
        f"Method: IQR rule (Tukey's fences): a value is an outlier below Q1 - {IQR_FACTOR}·IQR "
        f"or above Q3 + {IQR_FACTOR}·IQR.",
        "",
    ]
    clean: list[str] = []
    too_few: list[str] = []
    for name, out in found.items():
        if out is None:
            too_few.append(name)
        elif out.count == 0:
            clean.append(name)
        else:
            shown = list(zip(out.rows, out.values, strict=True))[:LISTED_IN_MESSAGE]
            listed = ", ".join(f"{row_name(table, r)} = {fmt(v)}" for r, v in shown)
            more = f" (first {len(shown)} listed)" if out.count > len(shown) else ""
            noun = "outlier" if out.count == 1 else "outliers"
            lines.append(
                f"- **{name}**: {out.count} {noun} outside [{fmt(out.lower_fence)}, "
                f"{fmt(out.upper_fence)}]{more}: {listed}"
            )
    if clean:
        lines.append(f"- No outliers in: {', '.join(clean)}.")
    if too_few:
        lines.append(f"- Too few values (< 4) to test: {', '.join(too_few)}.")
    return "\n".join(lines)


def correlations_message(pairs: list[Correlation], n_numeric: int) -> str:
    lines = ["### Correlations", "", "Pearson's r over rows where both values are present."]
    if n_numeric > MAX_CORRELATED_COLUMNS:
        lines.append(f"Only the first {MAX_CORRELATED_COLUMNS} numeric columns are paired.")
    if not pairs:
        lines += ["", "No pair has a defined correlation (a column is constant or too short)."]
        return "\n".join(lines)
    lines += ["", "| pair | r | n | reading |", "|---|---:|---:|---|"]
    for c in pairs:
        lines.append(f"| {_cell(c.a)} ~ {_cell(c.b)} | {c.r:.3f} | {c.n} | {c.strength} |")
    return "\n".join(lines)
