"""How each language the no-LLM planner reads says "if", "unless", "then", "otherwise" and
"not": one ``Connectives`` row per language, from which ``planning.branching`` builds its
pattern and reads the condition.

A row says what a request uses to branch (``if_``, ``unless``, ``then``, ``otherwise``, the
``and`` that may come before "otherwise"), what denies its condition (``negation``: "if it
is not approved" swaps the branches), and how a check's output denies the condition's word
(``denied``: ``"not {}"``, so "not approved" in the output is not "approved"). ``stop``:
words of a condition that are never its word (auxiliaries: German and Dutch put them last).
``ending``: an inflection to strip from the word before looking for it in the output (the
request says "aprobado", the reviewer "aprobada"). Except in English, "otherwise" must follow
a comma (or ``;``, ``.``): "als" and "anders" are everyday words in Dutch. Phrases are lower case; ``'`` stands for
either apostrophe. Adding a language is adding a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def _words(text: str) -> frozenset[str]:
    """The words of ``text``, split on spaces (a long list stays readable)."""
    return frozenset(text.split())


@dataclass(frozen=True)
class Connectives:
    """One language's branching words (see the module docstring)."""

    language: str
    if_: tuple[str, ...]
    unless: tuple[str, ...]
    then: tuple[str, ...]
    otherwise: tuple[str, ...]
    and_: tuple[str, ...]
    negation: tuple[str, ...]
    denied: tuple[str, ...]
    stop: frozenset[str] = field(default_factory=frozenset)
    ending: str = ""
    # "otherwise" after a space alone ("..., write X otherwise revise it"), not only after a
    # comma: English only; elsewhere the words are too common ("anders": "differently").
    loose: bool = False

    def stem(self, word: str) -> str:
        """``word`` without its inflection (kept whole when too little would be left)."""
        if not self.ending:
            return word
        stem = re.sub(f"(?:{self.ending})$", "", word)
        return stem if len(stem) >= 4 else word


# Words of a condition that are never what it is about, whatever the language.
COMMON_STOP = _words(
    "it is was are were be been the a an this that its they them there he she result "
    "answer output review check story text does do has have gets get got say says said"
)

LANGUAGES: tuple[Connectives, ...] = (
    Connectives(
        "en",
        if_=("if",),
        unless=("unless",),
        then=("then",),
        otherwise=("otherwise", "else", "if not"),
        and_=("and",),
        negation=("not", "isn't", "is not", "wasn't", "doesn't", "don't", "no"),
        denied=("not {}",),
        loose=True,
    ),
    Connectives(
        "es",
        if_=("si",),
        unless=("a menos que", "salvo que", "excepto si", "salvo si"),
        then=("entonces",),
        otherwise=("de lo contrario", "en caso contrario", "si no", "sino", "en otro caso"),
        and_=("y",),
        negation=("no", "nunca"),
        denied=("no {}", "no está {}", "no es {}", "no fue {}"),
        stop=_words("está esta están es son fue sido ser estar historia resultado"),
        ending="os|as|o|a",
    ),
    Connectives(
        "fr",
        if_=("si", "s'"),
        unless=("sauf si", "à moins que", "à moins qu'"),
        then=("alors",),
        otherwise=("sinon", "autrement", "dans le cas contraire", "dans le cas inverse"),
        and_=("et",),
        # "ne" alone is not here: "à moins qu'il ne soit approuvé" does not deny.
        negation=("pas", "non", "jamais", "aucun", "aucune"),
        denied=("pas {}", "non {}"),
        stop=_words("est sont été était être elle elles ils histoire résultat"),
        ending="e?s?",
    ),
    Connectives(
        "de",
        if_=("wenn", "falls", "sofern"),
        unless=("außer wenn", "ausser wenn", "außer falls"),
        then=("dann",),
        otherwise=("andernfalls", "ansonsten", "sonst", "wenn nicht", "falls nicht"),
        and_=("und",),
        negation=("nicht", "kein", "keine", "keinen", "nie"),
        denied=("nicht {}", "kein {}", "keine {}"),
        stop=_words(
            "ist sind war waren wird wurde wurden worden sein hat haben die der das sie "
            "geschichte ergebnis"
        ),
        ending="e[nmrs]?",
    ),
    Connectives(
        "pt",
        if_=("se", "caso"),
        unless=("a menos que", "salvo se", "exceto se"),
        then=("então", "entao"),
        otherwise=("caso contrário", "caso contrario", "do contrário", "senão", "senao"),
        and_=("e",),
        negation=("não", "nao", "nunca"),
        denied=("não {}", "não está {}", "não é {}", "não foi {}"),
        stop=_words("está estiver estão foi for sido ser estar história resultado"),
        ending="os|as|o|a",
    ),
    Connectives(
        "it",
        if_=("se",),
        # "a meno che non" is "unless": its "non" does not deny (so it goes first).
        unless=("a meno che non", "a meno che", "salvo che", "tranne se"),
        then=("allora", "poi"),
        otherwise=("altrimenti", "in caso contrario", "se no", "sennò", "senno"),
        and_=("e",),
        negation=("non", "mai"),
        denied=("non {}", "non è {}", "non è stato {}", "non è stata {}"),
        stop=_words("è sia stato stata sono essere storia risultato"),
        ending="[oaie]",
    ),
    Connectives(
        "nl",
        if_=("als", "indien", "wanneer"),
        unless=("tenzij", "behalve als"),
        then=("dan",),
        otherwise=("anders", "zo niet", "indien niet", "als dat niet zo is"),
        and_=("en",),
        negation=("niet", "geen", "nooit"),
        denied=("niet {}", "geen {}"),
        stop=_words("zijn was waren wordt werd worden heeft hebben het verhaal"),
        ending="e",
    ),
)


# Either apostrophe, typed or typographic (U+2019), where a connective has one ("s'il").
_APOSTROPHES = "['\u2019]"


def _alternatives(phrases: tuple[str, ...]) -> str:
    """A regex alternation of ``phrases``, longest first, any apostrophe for ``'``."""
    ordered = sorted(phrases, key=len, reverse=True)
    return "|".join(re.escape(p).replace("'", _APOSTROPHES).replace(r"\ ", r"\s+") for p in ordered)


def branch_pattern(c: Connectives) -> re.Pattern[str]:
    """ "<check>, if <cond>, [then] <A>, otherwise <B>" in ``c``'s words (groups ``check``,
    ``kw``, ``cond``, ``then``, ``other``). After a connective ending in an apostrophe
    ("s'il") no space is needed."""
    kw = _alternatives(c.if_ + c.unless)
    then = _alternatives(c.then)
    space = r"|\s+" if c.loose else ""  # "otherwise" after a space alone (English)
    return re.compile(
        rf"^(?P<check>.*?)(?:^|[,;.:]\s*+|(?<!\s)\s++)(?P<kw>{kw})(?:(?<={_APOSTROPHES})|\s+)(?P<cond>.+?)"
        rf"(?:\s*,\s*(?:(?:{then})\s+)?|\s+(?:{then})\s+)"
        rf"(?P<then>.+?)\s*(?:[,;.]\s*{space})(?:(?:{_alternatives(c.and_)})\s+)?"
        rf"(?:{_alternatives(c.otherwise)})\s*,?\s+(?P<other>.+?)\s*[.!]?\s*$",
        re.IGNORECASE | re.DOTALL,
    )


def branch_words(c: Connectives) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """What ``branch_pattern`` cannot match without: one of ``c``'s "if" or "unless" as a
    word, and one of its "otherwise" after it; each found by a linear search, so a long
    request with neither is never read by the pattern."""
    return (
        re.compile(rf"(?<!\w)(?:{_alternatives(c.if_ + c.unless)})", re.IGNORECASE),
        re.compile(rf"(?<!\w)(?:{_alternatives(c.otherwise)})(?!\w)", re.IGNORECASE),
    )


def negation_pattern(c: Connectives) -> re.Pattern[str]:
    """Any of ``c``'s words that deny a condition, as a whole word."""
    return re.compile(rf"(?<!\w)(?:{_alternatives(c.negation)})(?!\w)", re.IGNORECASE)


def is_unless(c: Connectives, kw: str) -> bool:
    """Whether the connective ``kw`` (as matched) is one of ``c``'s "unless"."""
    said = re.sub(r"\s+", " ", kw.lower().replace("\u2019", "'"))
    return said in c.unless
