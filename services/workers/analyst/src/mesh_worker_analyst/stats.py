"""The numbers: summary statistics, IQR outliers and Pearson correlations.

Pure functions over ``Column`` values (``None`` is missing). Quartiles use linear
interpolation between order statistics (numpy's default, ``statistics.quantiles``'
``inclusive`` method); ``std`` is the sample standard deviation (n - 1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from mesh_worker_analyst.table import Column

IQR_FACTOR = 1.5
MAX_LISTED_OUTLIERS = 50  # per column; the count is always complete
MAX_CORRELATED_COLUMNS = 12  # pairs grow quadratically; 66 pairs is plenty to read


@dataclass(frozen=True)
class Summary:
    count: int
    missing: int
    mean: float | None
    std: float | None
    min: float | None
    q1: float | None
    median: float | None
    q3: float | None
    max: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Outliers:
    """Values outside ``[q1 - 1.5 IQR, q3 + 1.5 IQR]`` (Tukey's fences)."""

    column: str
    lower_fence: float
    upper_fence: float
    count: int
    rows: list[int]  # 0-based data row indices, at most MAX_LISTED_OUTLIERS
    values: list[float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Correlation:
    a: str
    b: str
    r: float
    n: int  # rows where both are present

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def strength(self) -> str:
        size = abs(self.r)
        if size >= 0.7:
            word = "strong"
        elif size >= 0.4:
            word = "moderate"
        elif size >= 0.2:
            word = "weak"
        else:
            return "no clear"
        return f"{word} {'positive' if self.r > 0 else 'negative'}"


def present(col: Column) -> list[float]:
    return [float(v) for v in col.values if v is not None]


def quantile(sorted_values: list[float], p: float) -> float:
    """The ``p`` quantile (0..1) of already sorted values, by linear interpolation."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    pos = (len(sorted_values) - 1) * p
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(col: Column) -> Summary:
    values = present(col)
    missing = len(col.values) - len(values)
    if not values:
        return Summary(0, missing, None, None, None, None, None, None, None)
    ordered = sorted(values)
    n = len(values)
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return Summary(
        count=n,
        missing=missing,
        mean=mean,
        std=std,
        min=ordered[0],
        q1=quantile(ordered, 0.25),
        median=quantile(ordered, 0.5),
        q3=quantile(ordered, 0.75),
        max=ordered[-1],
    )


def iqr_outliers(col: Column, summary: Summary) -> Outliers | None:
    """Tukey-fence outliers of a numeric column; ``None`` with fewer than 4 values."""
    if summary.count < 4 or summary.q1 is None or summary.q3 is None:
        return None
    spread = summary.q3 - summary.q1
    lower, upper = summary.q1 - IQR_FACTOR * spread, summary.q3 + IQR_FACTOR * spread
    rows: list[int] = []
    values: list[float] = []
    count = 0
    for i, v in enumerate(col.values):
        if v is not None and (v < lower or v > upper):
            count += 1
            if len(rows) < MAX_LISTED_OUTLIERS:
                rows.append(i)
                values.append(float(v))
    return Outliers(col.name, lower, upper, count, rows, values)


def pearson(a: Column, b: Column) -> Correlation | None:
    """Pearson's r over rows where both are present; ``None`` if undefined (n < 3 or constant)."""
    pairs = [
        (float(x), float(y))
        for x, y in zip(a.values, b.values, strict=True)
        if x is not None and y is not None
    ]
    n = len(pairs)
    if n < 3:
        return None
    mx = math.fsum(p[0] for p in pairs) / n
    my = math.fsum(p[1] for p in pairs) / n
    sxy = math.fsum((x - mx) * (y - my) for x, y in pairs)
    sxx = math.fsum((x - mx) ** 2 for x, _ in pairs)
    syy = math.fsum((y - my) ** 2 for _, y in pairs)
    if sxx == 0 or syy == 0:
        return None
    r = max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
    return Correlation(a.name, b.name, r, n)


def correlations(columns: list[Column]) -> list[Correlation]:
    """Every defined pair among the first ``MAX_CORRELATED_COLUMNS`` columns, strongest
    first (ties keep column order, so the order is deterministic)."""
    cols = columns[:MAX_CORRELATED_COLUMNS]
    found = [
        c for i, a in enumerate(cols) for b in cols[i + 1 :] if (c := pearson(a, b)) is not None
    ]
    return sorted(found, key=lambda c: -abs(c.r))


def trend(col: Column) -> Correlation | None:
    """Correlation of a column with its row order: does it rise or fall down the table?"""
    order = Column("row order", "integer", [float(i) for i in range(len(col.values))])
    return pearson(order, col)
