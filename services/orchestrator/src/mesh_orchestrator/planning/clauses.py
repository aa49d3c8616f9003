"""Split a request into clauses, one per sub-task, keeping inline data out of the way.

Inline data (fenced blocks, JSON arrays/objects, CSV-looking lines) is lifted out first and
replaced by placeholders, so a comma, a semicolon or a newline inside a table never splits
a clause. Splitting happens on ";", sentence ends, "then"/"after that"/"finally", and on
"and" when the next word starts a new verb phrase ("look up X and summarize it").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

PLACEHOLDER = "\u27e6data{}\u27e7"
_PLACEHOLDER_RE = re.compile("\u27e6data(\\d+)\u27e7")
_FENCE = re.compile(r"```[ \t]*[\w-]*[ \t]*\n(.*?)```", re.DOTALL)

# Verbs that open a new sub-task after "and". Deliberately generic; matching to
# capabilities happens later against the live manifest.
VERBS = frozenset(
    [
        "analyse",
        "analyze",
        "summarise",
        "summarize",
        "translate",
        "write",
        "draft",
        "compose",
        "generate",
        "create",
        "draw",
        "paint",
        "render",
        "illustrate",
        "produce",
        "make",
        "find",
        "look",
        "search",
        "fetch",
        "get",
        "retrieve",
        "explain",
        "describe",
        "compare",
        "list",
        "plot",
        "compute",
        "calculate",
        "count",
        "train",
        "fine-tune",
        "finetune",
        "tell",
        "give",
        "outline",
        "rewrite",
        "review",
        "check",
        "classify",
        "extract",
        "answer",
        "report",
        "recommend",
        "suggest",
    ]
)
_SPLIT = re.compile(
    r"\s*;\s*|(?<=[.!?])\s+(?=[A-Z\u27e6])|\s*,?\s*\b(?:and then|then|after that|afterwards|"
    r"finally|and finally)\b\s*,?\s*",
    re.IGNORECASE,
)
_AND = re.compile(r"\s*,?\s+and\s+(?=(\w[\w-]*))", re.IGNORECASE)


@dataclass
class Clause:
    text: str  # with data placeholders restored as "<data>" markers removed
    data: list[str] = field(default_factory=list)  # inline data blocks this clause carries


def _is_csv_block(lines: list[str]) -> bool:
    if len(lines) < 2:
        return False
    counts = {ln.count(",") for ln in lines}
    return len(counts) == 1 and counts.pop() >= 1


def extract_data(query: str) -> tuple[str, list[str]]:
    """Return the query with data blocks replaced by placeholders, and the blocks."""
    blocks: list[str] = []

    def keep(text: str) -> str:
        blocks.append(text.strip())
        return " " + PLACEHOLDER.format(len(blocks) - 1) + " "

    query = _FENCE.sub(lambda m: keep(m.group(1)), query)
    query = _lift_json(query, keep)
    # Runs of consecutive lines with the same number of commas: a CSV table.
    lines = query.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and "," in lines[j] and lines[j].strip():
            j += 1
        if j - i >= 2 and _is_csv_block([ln.strip() for ln in lines[i:j]]):
            rows = [ln.strip() for ln in lines[i:j]]
            # "Analyze this CSV: city,temp" -- the request runs into the header row
            cut = rows[0].split(",")[0].rfind(":")
            if cut >= 0:
                out.append(rows[0][: cut + 1])
                rows[0] = rows[0][cut + 1 :].strip()
            out.append(keep("\n".join(rows)))
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out), blocks


def _lift_json(query: str, keep: object) -> str:
    """Replace each top-level JSON array/object that parses with a placeholder."""
    assert callable(keep)
    decoder = json.JSONDecoder()
    pos = 0
    out: list[str] = []
    while pos < len(query):
        m = re.search(r"[\[{]", query[pos:])
        if m is None:
            break
        start = pos + m.start()
        try:
            value, end = decoder.raw_decode(query, start)
        except ValueError:
            out.append(query[pos : start + 1])
            pos = start + 1
            continue
        if isinstance(value, (list, dict)) and value:
            out.append(query[pos:start])
            out.append(keep(query[start:end]))
        else:
            out.append(query[pos:end])
        pos = end
    out.append(query[pos:])
    return "".join(out)


def split_clauses(query: str) -> list[Clause]:
    """Clauses in request order; each carries the data blocks that appeared inside it."""
    text, blocks = extract_data(query)
    text = re.sub(r"\s+", " ", text).strip()
    pieces: list[str] = []
    for part in _SPLIT.split(text):
        if part and part.strip():
            pieces.extend(_split_and(part.strip()))
    clauses = []
    for piece in pieces:
        ids = [int(m) for m in _PLACEHOLDER_RE.findall(piece)]
        words = _PLACEHOLDER_RE.sub(" ", piece)
        words = re.sub(r"\s+", " ", words).strip(" ,.:;-")
        clauses.append(Clause(text=words, data=[blocks[i] for i in ids]))
    return [c for c in clauses if c.text or c.data]


def _split_and(part: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _AND.finditer(part):
        if m.group(1).lower() in VERBS:
            out.append(part[start : m.start()])
            start = m.end()
    out.append(part[start:])
    return [p.strip() for p in out if p.strip()]
