"""Split a request into clauses, one per sub-task, keeping inline data with its clause.

Inline data (fenced blocks, JSON arrays/objects, CSV-looking lines) is lifted out first and
replaced by placeholders, and so is quoted text, so a comma, a semicolon, a full stop or an
"and" inside a table or a quotation never splits a clause. Splitting happens on ";",
sentence ends, "then"/"after that"/"finally", and on "and" or a comma when the next word
starts a new verb phrase ("look up X and summarize it", "write a poem, analyze these rows").
Prose pasted after a colon ("Summarize this paragraph: The council met...") stays with the
clause that introduced it, however many sentences it has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

PLACEHOLDER = "\u27e6data{}\u27e7"
_PLACEHOLDER_RE = re.compile("\u27e6data(\\d+)\u27e7")
_QUOTE = "\u27ea{}\u27eb"
_QUOTE_RE = re.compile("\u27ea(\\d+)\u27eb")
_FENCE = re.compile(r"```[ \t]*[\w-]*[ \t]*\n(.*?)```", re.DOTALL)
# "double", “curly” and 'single' quotes; a single quote only when it cannot be an apostrophe.
_QUOTED = re.compile(
    r"\"[^\"\n]{1,2000}\"|\u201c[^\u201d]{1,2000}\u201d|(?<![\w'])'[^'\n]{1,400}'(?!\w)"
)
# A quotation longer than this many words is content, not part of the instruction.
SHORT_QUOTE_WORDS = 8

# Verbs that open a new sub-task after "and" or a comma. Deliberately generic (matching to
# capabilities happens later against the live manifest), and they include things no agent
# may do ("book", "send"): a request must be split there too, to say which part is unserved.
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
        "sketch",
        "design",
        "depict",
        "research",
        "investigate",
        "convert",
        "turn",
        "put",
        "shorten",
        "condense",
        "recap",
        "brainstorm",
        "identify",
        "detect",
        "spot",
        "measure",
        "estimate",
        "show",
        "paraphrase",
        "proofread",
        "edit",
        "imagine",
        "invent",
        "teach",
        "tune",
        "adapt",
        "come",
        "compile",
        "help",
        "add",
        "study",
        "name",
        "break",
        "pull",
        "book",
        "order",
        "send",
        "buy",
        "call",
        "schedule",
        "remind",
        "play",
        "email",
        "text",
        "transfer",
        "pay",
        "set",
        "open",
        "delete",
        "install",
        "deploy",
        "print",
        "reserve",
        "cancel",
        "post",
        "upload",
        "download",
        "purchase",
        "sell",
        "ship",
        "hire",
    ]
)
# Words that open a request sentence (besides the verbs): a sentence pasted after a colon
# that starts with none of them is part of the pasted text.
OPENERS = VERBS | frozenset(
    [
        "please",
        "can",
        "could",
        "would",
        "will",
        "i",
        "i'd",
        "i'm",
        "we",
        "let's",
        "now",
        "also",
        "next",
        "lastly",
        "finally",
        "plus",
        "additionally",
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "which",
        "is",
        "are",
        "does",
        "do",
        "did",
        "then",
        "and",
    ]
)
_SPLIT = re.compile(
    r"\s*;\s*|(?<=[.!?])\s+(?=[A-Z\u27e6\"\u201c'])|(?<=\u27e7)\s+(?=(?-i:[A-Z]))|\s*,?\s*\b(?:and then|then|after that|"
    r"afterwards|finally|and finally|lastly|and lastly)\b\s*,?\s*",
    re.IGNORECASE,
)
_BACK = re.compile(r"\b(then|after that|afterwards|finally|lastly)\b", re.IGNORECASE)
_BACK_WORDS = frozenset(
    ["also", "now", "next", "and", "plus", "additionally", "then", "finally", "lastly"]
)
_AND = re.compile(
    r"\s*,?\s+(?:and|&)\s+(?:also\s+|please\s+)?(?=(\w[\w-]*))|\s*,\s+(?:also\s+)?(?=(\w[\w-]*))",
    re.IGNORECASE,
)


@dataclass
class Clause:
    """One sub-task's words. ``text`` is the whole clause (quotes and pasted prose included,
    data blocks removed); ``data`` the inline blocks it carries; ``instruction`` the words
    that say what to do (``text`` without pasted prose or long quotations), for matching."""

    text: str
    data: list[str] = field(default_factory=list)
    instruction: str = ""
    payload: str = ""  # prose pasted after a colon, when there is some

    def __post_init__(self) -> None:
        if not self.instruction:
            self.instruction = self.text


def extract_data(query: str) -> tuple[str, list[str]]:
    """Return the query with data blocks replaced by placeholders, and the blocks."""
    blocks: list[str] = []

    def keep(text: str) -> str:
        blocks.append(text.strip())
        return " " + PLACEHOLDER.format(len(blocks) - 1) + " "

    query = _FENCE.sub(lambda m: keep(m.group(1)), query)
    query = _lift_json(query, keep)
    # A header line and rows with as many commas (or semicolons, or tabs): a CSV table. The
    # request may run into the header ("analyze this CSV: city,temp") and go on after the last
    # row ("Rome,18, and ...").
    lines = query.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        found = _csv_at(lines, i)
        if found is None:
            out.append(lines[i])
            i += 1
            continue
        prefix, rows, tail, i = found
        if prefix:
            out.append(prefix)
        out.append(keep("\n".join(rows)) + tail)
    return "\n".join(out), blocks


def _prose(field: str) -> bool:
    return len(field.split()) > 4


# The delimiters of a table pasted as text: commas, and semicolons or tabs (what spreadsheets
# write where the comma is the decimal mark: "Jan;42000;31000", "stylo;1,2;540").
_DELIMITERS = (",", ";", "\t")


def _csv_at(lines: list[str], i: int) -> tuple[str, list[str], str, int] | None:
    """``(text before the header, rows, text after the last row, next line)`` or None."""
    for sep in _DELIMITERS:
        found = _table_at(lines, i, sep)
        if found is not None:
            return found
    return None


def _table_at(lines: list[str], i: int, sep: str) -> tuple[str, list[str], str, int] | None:
    head = lines[i].strip()
    prefix = ""
    cut = head.rfind(":")
    if cut >= 0:
        prefix, head = head[: cut + 1], head[cut + 1 :].strip()
    if not head or sep not in head or any(_prose(f) for f in head.split(sep)):
        return None
    n = head.count(sep)
    rows, tail, j = [head], "", i + 1
    while j < len(lines) and lines[j].strip():
        fields = lines[j].strip().split(sep)
        # a free-text last column ("notes") may hold a phrase when the table has three or more
        # columns and the row has exactly as many fields as the header
        last_free = n >= 2
        if len(fields) == n + 1 and not any(
            _prose(f) for f in (fields[:-1] if last_free else fields)
        ):
            rows.append(lines[j].strip())
            j += 1
            continue
        if len(fields) > n + 1 and not any(_prose(f) for f in fields[: n + 1]):
            rows.append(sep.join(fields[: n + 1]).strip())
            tail = sep + sep.join(fields[n + 1 :])
            j += 1
        break
    if len(rows) < 2:
        return None
    return prefix, rows, tail, j


# JSON nested deeper than this is not lifted as data (it stays text): the decoder recurses
# once per level and would fail on a thousand ("[[[[...") with a RecursionError.
JSON_DEPTH = 64


_JSON_MARKS = re.compile(r'[\[\]{}"\\\n]')


def _deep_spans(query: str) -> dict[int, int]:
    """``{start: end}`` of each bracketed stretch (from a bracket at depth 0 to the bracket
    that closes it, or the end) that nests deeper than ``JSON_DEPTH``; one pass over the
    brackets and quotes, strings skipped."""
    spans: dict[int, int] = {}
    depth, deepest, start, in_string, escaped_at = 0, 0, -1, False, -1
    for m in _JSON_MARKS.finditer(query):
        i, ch = m.start(), m.group(0)
        if in_string:
            if i == escaped_at:
                continue
            if ch == "\\":
                escaped_at = i + 1
            elif ch in ('"', "\n"):
                in_string = False
            continue
        if ch == '"' and depth:
            in_string = True
        elif ch in "[{":
            if not depth:
                start, deepest = i, 0
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}" and depth:
            depth -= 1
            if not depth and deepest > JSON_DEPTH:
                spans[start] = i + 1
    if depth and deepest > JSON_DEPTH:
        spans[start] = len(query)
    return spans


def _lift_json(query: str, keep: Callable[[str], str]) -> str:
    """Replace each top-level JSON array/object that parses with a placeholder."""
    decoder = json.JSONDecoder()
    deep = _deep_spans(query)
    pos = 0
    out: list[str] = []
    while pos < len(query):
        m = re.search(r"[\[{]", query[pos:])
        if m is None:
            break
        start = pos + m.start()
        if start in deep:  # nested too deep to be data anyone pasted: text, skipped whole
            out.append(query[pos : deep[start]])
            pos = deep[start]
            continue
        try:
            value, end = decoder.raw_decode(query, start)
        except RecursionError:  # (a bracket the depth count read otherwise): skip it
            out.append(query[pos : start + 1])
            pos = start + 1
            continue
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


def _pieces(text: str) -> list[tuple[str, str]]:
    """``(separator before it, piece)`` for each piece between clause separators."""
    out: list[tuple[str, str]] = []
    last, sep = 0, ""
    for m in _SPLIT.finditer(text):
        out.append((sep, text[last : m.start()]))
        last, sep = m.end(), m.group(0)
    out.append((sep, text[last:]))
    return [(s, p.strip()) for s, p in out if p.strip()]


def _first_word(text: str) -> str:
    m = re.match(r"\W*([\w'-]+)", text)
    return m.group(1).lower() if m else ""


def _payload_start(piece: str) -> int:
    """Where prose pasted after a colon begins in ``piece`` (-1: there is none)."""
    m = re.search(r":\s+(?=\S)", piece)
    if m is None or _PLACEHOLDER_RE.match(piece, m.end()):
        return -1
    return m.end()


def split_clauses(query: str) -> list[Clause]:
    """Clauses in request order; each carries the data blocks that appeared inside it."""
    text, blocks = extract_data(query)
    quotes: list[str] = []

    def keep_quote(m: re.Match[str]) -> str:
        quotes.append(m.group(0))
        return _QUOTE.format(len(quotes) - 1)

    text = _QUOTED.sub(keep_quote, text)
    text = re.sub(r"\s+", " ", text).strip()
    # Sentences pasted after "...: " that do not start like a request belong to that clause.
    # Pasted prose may hold requests of its own ("Please bring your updates"): only a
    # "then"/"finally" or an "also"/"next" hands the word back to the user.
    merged: list[str] = []
    open_payload = False
    for sep, piece in _pieces(text):
        back = _BACK.search(sep) or _first_word(piece) in _BACK_WORDS
        if merged and open_payload and not back:
            merged[-1] += sep + piece if sep.strip() else " " + piece
            continue
        merged.append(piece)
        open_payload = _payload_start(piece) >= 0 or piece.endswith(":")
    pieces: list[str] = []
    for piece in merged:
        cut = _payload_start(piece)
        head, rest = (piece[:cut], piece[cut:]) if cut >= 0 else (piece, "")
        parts = _split_and(head)
        parts[-1] = (parts[-1] + " " + rest).strip()
        pieces.extend(parts)
    clauses = []
    for piece in pieces:
        ids = [int(m) for m in _PLACEHOLDER_RE.findall(piece)]
        cut = _payload_start(piece)
        payload = _tidy(_restore(piece[cut:], quotes)) if cut >= 0 else ""
        head = piece[:cut] if cut >= 0 else piece
        clauses.append(
            Clause(
                text=_tidy(_restore(piece, quotes)),
                data=[blocks[i] for i in ids],
                instruction=_tidy(_restore(head, quotes, short_only=True)),
                payload=payload,
            )
        )
    return [c for c in clauses if c.text or c.data]


def _restore(text: str, quotes: list[str], short_only: bool = False) -> str:
    def put(m: re.Match[str]) -> str:
        quote = quotes[int(m.group(1))]
        if short_only and len(quote.split()) > SHORT_QUOTE_WORDS:
            return "the text"
        return quote

    return _QUOTE_RE.sub(put, text)


def _tidy(text: str) -> str:
    text = _PLACEHOLDER_RE.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip(" ,.:;-")


def _split_and(part: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _AND.finditer(part):
        word = (m.group(1) or m.group(2) or "").lower()
        if word in VERBS and m.start() > start:
            out.append(part[start : m.start()])
            start = m.end()
    out.append(part[start:])
    return [p.strip() for p in out if p.strip()] or [part]
