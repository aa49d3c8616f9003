"""The closing paragraph: plain sentences derived from the computed numbers.

``conclude`` reads the question for the columns it names and what it asks about (highest,
lowest, average, total, spread, outliers, relationships, trend). Every sentence quotes a
number computed in the earlier steps; nothing is guessed. Without a question (or with one
it cannot map to a measure) it summarises the table as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mesh_worker_analyst.report import fmt, row_name
from mesh_worker_analyst.stats import Correlation, Outliers, Summary, trend
from mesh_worker_analyst.table import Table

# Intent -> words that signal it; a trailing "*" matches any word starting with the stem.
_INTENTS: dict[str, tuple[str, ...]] = {
    "max": ("highest", "max", "maximum", "largest", "most", "biggest", "top", "best", "peak"),
    "min": ("lowest", "min", "minimum", "smallest", "least", "worst", "bottom", "fewest"),
    "mean": ("average*", "mean", "typical", "median"),
    "total": ("total", "sum", "altogether"),
    "spread": ("spread", "vary", "varies", "variab*", "variation", "std", "deviation", "range"),
    "outliers": ("outlier*", "anomal*", "unusual", "odd", "extreme*", "abnormal", "suspicious"),
    "relation": ("correlat*", "relat*", "associat*", "depend*", "affect*", "link*", "together"),
    "trend": ("trend*", "increas*", "decreas*", "grow*", "rise", "rising", "fall*", "declin*"),
}


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alts = [re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in words]
    return re.compile(r"\b(?:" + "|".join(alts) + r")\b")


_INTENT_PATTERNS = {intent: _pattern(words) for intent, words in _INTENTS.items()}


@dataclass(frozen=True)
class Findings:
    """What the earlier steps computed, as the conclusion needs it."""

    table: Table
    summaries: dict[str, Summary]
    outliers: dict[str, Outliers | None]
    correlations: list[Correlation]


def intents_of(question: str) -> list[str]:
    """The measures a question asks about, in a fixed order."""
    text = question.lower()
    return [intent for intent, pattern in _INTENT_PATTERNS.items() if pattern.search(text)]


def columns_named(question: str, names: list[str]) -> list[str]:
    """Columns the question mentions (case-insensitive; ``unit_price`` matches "unit price")."""
    text = " " + re.sub(r"[^a-z0-9]+", " ", question.lower()) + " "
    hits = []
    for name in names:
        plain = re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()
        if plain and f" {plain} " in text:
            hits.append(name)
    return hits


def conclude(f: Findings, question: str | None) -> str:
    """Sentences answering ``question`` (or describing the table), separated by spaces."""
    numeric = list(f.summaries)
    if not question:
        return " ".join(_overview(f, numeric))
    named = [n for n in columns_named(question, [c.name for c in f.table.columns]) if n in numeric]
    focus = named or numeric
    sentences: list[str] = []
    for intent in intents_of(question):
        sentences += _ANSWERS[intent](f, focus)
    if not sentences:
        sentences = [
            "The question does not ask for a measure I can compute (highest, lowest, average, "
            "total, spread, outliers, relationship or trend), so here is the overall picture:",
            *_overview(f, focus),
        ]
    return " ".join(sentences)


def _extreme(f: Findings, focus: list[str], highest: bool) -> list[str]:
    out = []
    for name in focus:
        s = f.summaries[name]
        target = s.max if highest else s.min
        if target is None:
            continue
        col = f.table.column(name)
        rows = [i for i, v in enumerate(col.values) if v == target]
        where = row_name(f.table, rows[0]) + (f" and {len(rows) - 1} more" if len(rows) > 1 else "")
        word = "highest" if highest else "lowest"
        out.append(f"The {word} {name} is {fmt(target)}, in {where}.")
    return out


def _mean(f: Findings, focus: list[str]) -> list[str]:
    return [
        f"{name} averages {fmt(s.mean)} (median {fmt(s.median)}) over {s.count} values."
        for name in focus
        if (s := f.summaries[name]).count
    ]


def _total(f: Findings, focus: list[str]) -> list[str]:
    return [
        f"The total of {name} is {fmt(s.mean * s.count)} over {s.count} values."
        for name in focus
        if (s := f.summaries[name]).mean is not None
    ]


def _spread(f: Findings, focus: list[str]) -> list[str]:
    out = []
    for name in focus:
        s = f.summaries[name]
        if s.min is None or s.max is None:
            continue
        std = f", standard deviation {fmt(s.std)}" if s.std is not None else ""
        out.append(
            f"{name} ranges from {fmt(s.min)} to {fmt(s.max)}{std}; the middle half lies "
            f"between {fmt(s.q1)} and {fmt(s.q3)}."
        )
    return out


def _outliers(f: Findings, focus: list[str]) -> list[str]:
    flagged = [(n, o) for n in focus if (o := f.outliers.get(n)) is not None and o.count]
    if not flagged:
        return [f"No outliers by the IQR rule in {', '.join(focus)}."]
    return [
        f"{name} has {o.count} outlier{'s' if o.count > 1 else ''} by the IQR rule: "
        + ", ".join(
            f"{row_name(f.table, r)} = {fmt(v)}"
            for r, v in zip(o.rows[:5], o.values[:5], strict=True)
        )
        + ("." if o.count <= 5 else ", …")
        for name, o in flagged
    ]


def _relation(f: Findings, focus: list[str]) -> list[str]:
    pairs = [c for c in f.correlations if c.a in focus and c.b in focus] or (
        [c for c in f.correlations if c.a in focus or c.b in focus]
    )
    if not pairs:
        return ["There is no pair of numeric columns with a defined correlation to compare."]
    return [
        f"{c.a} and {c.b} show a {c.strength} relationship (r = {c.r:.3f}, n = {c.n})."
        for c in pairs[:3]
    ]


def _trend(f: Findings, focus: list[str]) -> list[str]:
    out = []
    for name in focus:
        t = trend(f.table.column(name))
        if t is None:
            continue
        if abs(t.r) < 0.2:
            out.append(f"{name} shows no clear trend down the rows (r = {t.r:.3f} with row order).")
        else:
            way = "rises" if t.r > 0 else "falls"
            out.append(f"{name} {way} down the rows (r = {t.r:.3f} with row order).")
    return out


_ANSWERS = {
    "max": lambda f, focus: _extreme(f, focus, True),
    "min": lambda f, focus: _extreme(f, focus, False),
    "mean": _mean,
    "total": _total,
    "spread": _spread,
    "outliers": _outliers,
    "relation": _relation,
    "trend": _trend,
}


def _overview(f: Findings, focus: list[str]) -> list[str]:
    shown = focus[:5]
    sentences = [
        f"The table has {f.table.n_rows} rows and {len(f.table.columns)} columns, "
        f"{len(f.summaries)} of them numeric."
    ]
    for name in shown:
        s = f.summaries[name]
        if s.count:
            sentences.append(
                f"{name} averages {fmt(s.mean)} (median {fmt(s.median)}), "
                f"from {fmt(s.min)} to {fmt(s.max)}."
            )
    n_out = sum(o.count for n in shown if (o := f.outliers.get(n)) is not None)
    sentences.append(
        f"{n_out} value{'s' if n_out != 1 else ''} fall outside the IQR fences."
        if n_out
        else "No value falls outside the IQR fences."
    )
    if f.correlations:
        sentences += _relation(f, [f.correlations[0].a, f.correlations[0].b])[:1]
    return sentences
