"""The shape of a plan around its clauses: enumerations, references, and workers' inputs.

Used by the planners once each clause has a capability:

* ``fan_out``: "into French and into Korean" is two tasks, "one about cats and one about
  dogs" too; each copy keeps the clause's words with one item in place of the list;
* ``references``: what an earlier task's output a clause reads ("summarize it", "translate
  the summary", "combine both") and whether it names nothing it works on ("then translate
  into German"), which also reads the previous output;
* ``fill_input``: the task's ``input`` from the chosen agent's input JSON Schema (inline
  data into a ``data`` field, the request's words into its prompt/query field).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

LANGUAGES = [
    "english",
    "french",
    "german",
    "spanish",
    "italian",
    "portuguese",
    "dutch",
    "swedish",
    "norwegian",
    "danish",
    "finnish",
    "polish",
    "czech",
    "slovak",
    "hungarian",
    "romanian",
    "greek",
    "turkish",
    "russian",
    "ukrainian",
    "arabic",
    "hebrew",
    "persian",
    "hindi",
    "bengali",
    "urdu",
    "tamil",
    "chinese",
    "mandarin",
    "cantonese",
    "japanese",
    "korean",
    "vietnamese",
    "thai",
    "indonesian",
    "malay",
    "tagalog",
    "swahili",
    "latin",
    "catalan",
    "croatian",
    "serbian",
    "bulgarian",
    "icelandic",
    "irish",
    "welsh",
    "estonian",
    "latvian",
    "lithuanian",
    "esperanto",
]
_LANG = r"(?:" + "|".join(LANGUAGES) + r")\b"
_LANG_LIST = re.compile(
    rf"\b(into|to|in)\s+({_LANG}(?:\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)(?:(?:into|to|in)\s+)?{_LANG})+)",
    re.IGNORECASE,
)
_REPEATED_PREP = re.compile(
    r"\b(about|of|for|on|into|with)\s+(.+?)\s*,?\s+and\s+(?:also\s+)?\1\s+(.+)$", re.IGNORECASE
)
_ONE_AND_ONE = re.compile(
    r"\bone\s+(about|of|for|on|with|in)\s+(.+?)\s*,?\s+and\s+(?:another|one)\s+(?:(?:about|of|for|on|with|in)\s+)?(.+)$",
    re.IGNORECASE,
)


_ANOTHER = re.compile(r"^(\W*[\w-]+)\s+(.+?)\s*,?\s+and\s+another\s+(.+)$", re.IGNORECASE)


def fan_out(text: str, *, languages: bool) -> list[str]:
    """The clause once per item it enumerates, or ``[text]``. ``languages``: split a list of
    target languages (for translation clauses only: "a poem in French and English" is one)."""
    if languages:
        m = _LANG_LIST.search(text)
        if m:
            items = re.findall(_LANG, m.group(2), re.IGNORECASE)
            if len(items) > 1:
                prep = m.group(1)
                return [text[: m.start()] + f"{prep} {item}" + text[m.end() :] for item in items]
    m = _ANOTHER.match(text)
    if m:
        return [f"{m.group(1)} {m.group(2)}", f"{m.group(1)} another {m.group(3)}"]
    m = _ONE_AND_ONE.search(text)
    if m:
        head = text[: m.start()]
        return [f"{head}one {m.group(1)} {m.group(2)}", f"{head}one {m.group(1)} {m.group(3)}"]
    m = _REPEATED_PREP.search(text)
    if m:
        head = text[: m.start()]
        return [f"{head}{m.group(1)} {m.group(2)}", f"{head}{m.group(1)} {m.group(3)}"]
    return [text]


# ---- references to earlier output ----------------------------------------------------------

_ALL = re.compile(
    r"\b(both|all of (them|these|those|that|this|the above)|all (three|four|five|the results|"
    r"the answers|the outputs)|everything( above)?|the above|each of them|the two|the three|"
    r"these results|those results|combine|merge)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"\bwhat (?:you|it|they|we) (?:find|found|get|got|learn|learned|say|says|said|return|returns)\b|"
    r"\b(it|its|them|they|their|him|her|his)\b|\b(that|this|these|those)\b"
    r"(?=\s*(?:$|[.,;!?]|into|to|in|as|for|with|and|please|up|down|out|briefly|again))",
    re.IGNORECASE,
)
# "the summary", "that poem", "your findings": a definite noun phrase may name earlier output.
_NOUN = re.compile(r"\b(?:the|that|this|these|those|your|its|their)\s+([a-z][a-z-]+)\b", re.I)
GENERIC_OUTPUT = frozenset(
    [
        "result",
        "results",
        "output",
        "outputs",
        "answer",
        "answers",
        "response",
        "responses",
        "reply",
    ]
)
# Nouns that name what a task makes; "the sea" or "the data" name no earlier output.
OUTPUT_NOUNS = frozenset(
    [
        "summary",
        "summaries",
        "translation",
        "translations",
        "analysis",
        "findings",
        "finding",
        "facts",
        "fact",
        "passages",
        "passage",
        "image",
        "picture",
        "illustration",
        "drawing",
        "stats",
        "statistics",
        "report",
        "conclusion",
        "conclusions",
        "adapter",
        "poem",
        "poems",
        "story",
        "stories",
        "haiku",
        "haikus",
        "limerick",
        "verse",
        "lines",
        "draft",
        "essay",
        "description",
        "explanation",
        "list",
        "info",
        "information",
        "version",
        "text",
        "article",
        "letter",
        "email",
        "note",
        "notes",
        "tagline",
        "slogan",
        "outline",
        "overview",
        "insights",
        "numbers",
        "correlations",
        "outliers",
        "paragraph",
        "bullets",
        "recap",
    ]
)
# Verbs that work on a text; with no object after them, they work on the previous output.
TRANSFORMS = frozenset(
    [
        "summarize",
        "summarise",
        "translate",
        "analyze",
        "analyse",
        "rewrite",
        "shorten",
        "condense",
        "explain",
        "paraphrase",
        "proofread",
        "edit",
        "review",
        "classify",
        "extract",
        "check",
        "describe",
        "convert",
        "turn",
        "illustrate",
        "recap",
        "simplify",
        "polish",
        "tl;dr",
    ]
)
_NO_OBJECT = re.compile(
    r"^\W*(?:please\s+)?(?:also\s+)?([\w;-]+)(?:\s+(?:up|down|out))?\s*(?:$|(?:into|to|in|as|for|with|"
    r"briefly|quickly|again|using|like|so|please)\b)",
    re.IGNORECASE,
)


@dataclass
class Reference:
    """What a clause reads from earlier tasks: ``everything`` (both/all), the ``last``
    output (a pronoun, a generic noun or no object at all), or ``nouns`` that name one."""

    everything: bool = False
    last: bool = False
    nouns: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.everything or self.last or bool(self.nouns)


def references(instruction: str) -> Reference:
    """How ``instruction`` refers to earlier output (the caller decides which task a noun
    names: the last one whose words hold it, else the nearest capability)."""
    if _ALL.search(instruction):
        return Reference(everything=True)
    nouns: list[str] = []
    last = bool(_PRONOUN.search(instruction))
    for m in _NOUN.finditer(instruction):
        word = m.group(1).lower()
        if word in GENERIC_OUTPUT:
            last = True
        elif word in OUTPUT_NOUNS:
            nouns.append(word)
    bare = _NO_OBJECT.match(instruction)
    if bare and bare.group(1).lower() in TRANSFORMS:
        last = True
    return Reference(last=last and not nouns, nouns=tuple(nouns))


def for_routing(instruction: str) -> str:
    """``instruction`` with the names of earlier output replaced by "it": "translate the
    summary" is a translation, whatever the summary was."""

    def put(m: re.Match[str]) -> str:
        word = m.group(1).lower()
        return "it" if word in OUTPUT_NOUNS or word in GENERIC_OUTPUT else m.group(0)

    return _NOUN.sub(put, instruction)


# "this table", "the following article": the clause that points at pasted content owns it.
DEICTIC = re.compile(
    r"\b(?:this|these|the following|following|below|the attached)\s+(?:\w+\s+)?"
    r"(table|data|csv|rows|numbers|records|dataset|spreadsheet|figures|values|article|text|"
    r"paragraph|passage|email|note|notes|story|document|list)\b",
    re.IGNORECASE,
)


def content_words(text: str) -> frozenset[str]:
    """Lower-case words of ``text`` (with a crude plural stripped), to match nouns against."""
    words = re.findall(r"[a-z][a-z-]+", text.lower())
    return frozenset(words) | frozenset(w.rstrip("s") for w in words)


def names(noun: str, words: frozenset[str]) -> bool:
    return noun in words or noun.rstrip("s") in words


# ---- inputs ------------------------------------------------------------------------------

_TEXT_FIELDS = ("prompt", "query", "text", "question", "input", "message", "content")
_QUOTES = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d")


def fill_input(
    schema: dict[str, Any], text: str, instruction: str, data: list[str]
) -> dict[str, Any]:
    """A worker input for one task from the agent's input JSON Schema.

    Inline data goes into a ``data`` field when the agent has one (with the instruction as
    its ``question``); otherwise it is appended to the text field. A list field named
    ``examples`` takes a JSON array, CSV lines or quoted strings from the request.
    """
    props: dict[str, Any] = schema.get("properties") or {}
    inp: dict[str, Any] = {}
    if "data" in props:
        if data:
            inp["data"] = data[0]
        if "question" in props and instruction:
            inp["question"] = instruction
        return inp
    if "examples" in props and not any(k in props for k in _TEXT_FIELDS):
        inp["examples"] = _examples(text, data)
        return inp
    full = "\n\n".join([text, *data]) if data else text
    for key in _TEXT_FIELDS:
        if key in props:
            inp[key] = full
            return inp
    strings = [k for k, v in props.items() if isinstance(v, dict) and v.get("type") == "string"]
    required = [k for k in schema.get("required") or [] if k in strings]
    inp[(required or strings or ["prompt"])[0]] = full
    return inp


def _examples(text: str, data: list[str]) -> list[Any]:
    for block in data:
        try:
            value = json.loads(block)
        except ValueError:
            lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
            if lines:
                return list(lines)
            continue
        if isinstance(value, list) and value:
            return value
    quoted = [a or b for a, b in _QUOTES.findall(text)]
    return quoted or [text]
