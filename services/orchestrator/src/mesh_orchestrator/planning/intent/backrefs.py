"""Words and phrases that point back at an earlier result, in the seven languages.

A pronoun after a verb ("shrink it", "tradúcelo"), a word that names a result wherever it
stands ("daraus", "nisso"), a preposition and a reference before a step ("with that, write
...", "com base nisso"), "what you find", "that same ...": the segmenter reads them to keep a
reference with the step it leads, and the planner's rules to link a step to the one before.
"""

from __future__ import annotations

import re

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.lexicon._words import words as lx_words
from mesh_orchestrator.planning.intent.model import normalize, tokens

# Pronouns that, right after a verb, make it work on an earlier result ("use whatever ...").
_REFERS = frozenset(
    [
        "it",
        "them",
        "whatever",
        "lo",
        "la",
        "los",
        "las",
        "le",
        "les",
        "ca",
        "cela",
        "es",
        "sie",
        "ihn",
        "isso",
        "o",
        "a",
        "os",
        "as",
        "ne",
        "lo",
        "li",
        "het",
        "ze",
        "isto",
        "that",
        "this",
        "eso",
        "esto",
        "dies",
        "das",
        "dat",
        "dit",
        "cio",
        "questo",
    ]
)
# Words that name an earlier result wherever they stand ("nisso", "daraus", "daarmee").
_LEADS = (lx.MIDDLE_REFERS - {"die", "das", "het", "er", "es", "sie", "ze"}) | frozenset(
    ["nisso", "disso", "isso", "isto", "eso", "esto", "ello", "ca", "cela", "cio", "questo"]
)
# "use": a step that works on an earlier result ("use whatever name you find as ...").
_USE = ("use", "usa", "utilis", "benutz", "nutz", "verwend", "gebruik", "utiliz", "adopera")
_SAME = frozenset(
    [
        "same",
        "mismo",
        "misma",
        "meme",
        "selbe",
        "selben",
        "gleiche",
        "gleichen",
        "mesmo",
        "mesma",
        "stesso",
        "stessa",
        "zelfde",
        # German and Dutch fuse the article with "same": "denselben Text", "dezelfde tekst"
        "derselbe",
        "dieselbe",
        "dasselbe",
        "dieselben",
        "denselben",
        "demselben",
        "derselben",
        "dezelfde",
        "hetzelfde",
    ]
)
# Prepositions that start a phrase of reference ("with that", "com isso"), never a step.
_PREPS = frozenset(
    [
        "with",
        "from",
        "based",
        "after",
        "using",
        "con",
        "com",
        "avec",
        "mit",
        "met",
        "per",
        "por",
        "para",
        "pour",
        "for",
        "des",
        "depuis",
        "nach",
        "aus",
        "van",
        "uit",
        "into",
        "onto",
        "naar",
        "the",
    ]
)
# Prepositions that name where a step's material comes from ("with that", "from it", "con
# eso", "daraus" is one word): a reference after them leads a new step.
_SOURCE = lx_words("with from con com avec mit met aus uit van depuis des partir")
# "what you find" in the seven languages: the result of the step before.
_FOUND = re.compile(
    r"\b(?:what(?:ever)? (?:you|it) (?:find|found|get|learn)|lo que (?:encuentres|descubras|"
    r"averigues)|ce que tu (?:trouves|trouveras|apprends)|was du (?:findest|herausfindest)|"
    r"o que (?:encontrares|descobrires|achares)|quello che (?:trovi|scopri)|"
    r"wat je (?:vindt|ontdekt|vind))\b"
)


def _points(phrase: str) -> bool:
    """A phrase that names an earlier result ("with that", "com base nisso"), not one whose
    only such word is a lone letter that is also an article ("a", "o")."""
    words = tokens(phrase)
    return any(w in lx.DEMONSTRATIVE or (w in _REFERS and len(w) >= 2) for w in words) or bool(
        lx.PRONOUN.search(normalize(phrase))
    )


def _reference_only(piece: str) -> bool:
    """A short phrase that only points at an earlier result ("Based on that", "com isso")."""
    words = tokens(piece)
    if 4 < len(words) <= 7 and _FOUND.search(normalize(piece)):
        return True  # "sulla base di quello che trovi", "based on what you find"
    return 0 < len(words) <= 4 and (
        any(w in _REFERS or w in lx.DEMONSTRATIVE for w in words) or _points(piece)
    )


def _intro_points(intro: str) -> bool:
    """A list's intro that points back: "Then:", "Danach:", "based on it:", "Maak daarvan:"."""
    words = tokens(intro)
    return any(w in lx.BACK or w in _LEADS or w in lx.DEMONSTRATIVE for w in words) or bool(
        lx.PRONOUN.search(normalize(intro))
    )
