"""Tokenization for indexing and queries: lowercase words, no stop words, light stemming.

The same ``tokenize`` runs over passages and queries, so a stem only has to be
consistent, not a real word ("plates" and "plate" both become "plat").
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+")
_VOWELS = frozenset("aeiouy")

_STOP = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers him his how i if in into is
    it its itself just me more my no nor not of off on once only or other our ours out over
    own same she should so some such than that the their theirs them then there these they
    this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours
"""
STOP_WORDS = frozenset(_STOP.split())

# Tried in order after the plural is removed; a stem keeps at least 3 letters.
_SUFFIXES = ("ingly", "edly", "ness", "ments", "ment", "ing", "ed", "ly")


def stem(word: str) -> str:
    """A light suffix-stripping stemmer (a small subset of Porter's rules)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and word[-2] not in "usi":
        word = word[:-1]
    for suffix in _SUFFIXES:
        rest = word[: -len(suffix)]
        if word.endswith(suffix) and len(rest) >= 3 and _VOWELS & set(rest):
            word = rest
            # "running" -> "runn" -> "run"; but keep "ll", "ss", "zz" ("called", "passed")
            if word[-1] == word[-2] and word[-1] not in _VOWELS | set("lsz"):
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]  # "create"/"created" and "plate"/"plates" meet at one stem
    return word


def tokenize(text: str) -> list[str]:
    """Stemmed, lowercased words of ``text`` without stop words, in order (repeats kept)."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]
