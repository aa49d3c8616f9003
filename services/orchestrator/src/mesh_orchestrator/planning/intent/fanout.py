"""Enumerations inside one segment: one task per item.

* a translation into several languages named in any of the seven languages ("into French
  and Korean", "al francés, al alemán y al italiano", "ins Englische und ins Französische"),
  or counted ("in two languages") with none named;
* "one about X and one about Y" (and "uno sobre X y otro sobre Y", "un sur X et un sur Y"...);
* "X and another Y".
Each copy keeps the segment's words with one item in place of the list.
"""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.model import normalize, tokens

_PREP = r"(?:into|to|in|al|a|en|au|ins|auf|para|pro|em|naar|het|le|el|lo|il|l')"
_JOIN = r"(?:,\s*(?:and\s+|y\s+|et\s+|und\s+|e\s+|en\s+)?|\s+(?:and|y|et|und|e|en|&|or|ou|oder|of|o)\s+)"
_ONE = r"(?:one|uno|una|un|une|eins|einen|eine|um|uma|een)"
_ABOUT = (
    r"(?:about|on|of|for|to|sobre|sur|de|uber|ueber|su|di|over|van|com|with|mit|avec|con|met|"
    r"a|para|pour|an|fur|per|voor|aan)"
)
_OTHER = (
    r"(?:another|one|otro|otra|un autre|une autre|un|une|eins|einen|eine|ein anderes|"
    r"outro|outra|um|uma|un altro|un'altra|uno|una|een|nog een|een ander)"
)
_ONE_AND_ONE = re.compile(
    rf"\b{_ONE}\s+({_ABOUT})\s+(.+?)\s*,?\s+(?:and|y|et|und|e|en)\s+{_OTHER}\s+(?:{_ABOUT}\s+)?(.+)$",
    re.IGNORECASE,
)
_ANOTHER = re.compile(r"^(\W*[\w-]+)\s+(.+?)\s*,?\s+and\s+another\s+(.+)$", re.IGNORECASE)
# "two tweets, one funny and one serious": one copy per kind
_ONE_EACH = re.compile(r",?\s*\bone\s+([\w-]+)\s+and\s+one\s+([\w-]+)\s*$", re.IGNORECASE)


def _languages(text: str) -> list[tuple[str, str]]:
    """``(canonical, form as written)`` of each language named, in order, once each."""
    seen: dict[str, str] = {}
    for word in re.findall(r"[\w\u00c0-\u017f]+", text):
        canon = lx.LANGUAGES.get(normalize(word))
        if canon and canon not in seen:
            seen[canon] = word
    return list(seen.items())


def _keep_one(text: str, keep: str, others: list[str]) -> str:
    for form in others:
        text = re.sub(
            rf"{_JOIN}?(?:{_PREP}\s+)?(?:het\s+)?\b{re.escape(form)}\b", "", text, count=1
        )
    return re.sub(r"\s+", " ", text).strip(" ,")


def fan_out(text: str, instruction: str, cap: str) -> list[tuple[str, str]]:
    """``(text, instruction)`` once per item ``instruction`` enumerates, or the pair itself."""
    if cap == "translation":
        names = _languages(instruction)
        if len(names) > 1:
            forms = [f for _, f in names]
            return [
                (
                    _keep_one(text, f, [o for o in forms if o != f]),
                    _keep_one(instruction, f, [o for o in forms if o != f]),
                )
                for f in forms
            ]
        words = tokens(instruction)
        for i, w in enumerate(words[:-1]):
            if w in lx.NUMBERS and words[i + 1] in lx.LANGUAGE_WORDS:
                return [(text, instruction)] * lx.NUMBERS[w]
        return [(text, instruction)]
    m = _ONE_AND_ONE.search(instruction)
    if m:
        head = instruction[: m.start()]
        return [
            (f"{head}{m.group(1)} {m.group(2)}", f"{head}{m.group(1)} {m.group(2)}"),
            (f"{head}{m.group(1)} {m.group(3)}", f"{head}{m.group(1)} {m.group(3)}"),
        ]
    m = _ONE_EACH.search(instruction)
    if m:
        head = instruction[: m.start()]
        return [(f"{head} ({m.group(1)})",) * 2, (f"{head} ({m.group(2)})",) * 2]
    m = _ANOTHER.match(instruction)
    if m:
        a, b = f"{m.group(1)} {m.group(2)}", f"{m.group(1)} another {m.group(3)}"
        return [(a, a), (b, b)]
    return [(text, instruction)]
