"""Helpers for the word lists: a regex alternation, a set from a block of words."""

from __future__ import annotations

import re


def _alt(words: str) -> str:
    """``a|b c|d`` as a regex alternation, longest first (so "and then" wins over "and")."""
    return "|".join(sorted((re.escape(w) for w in words.split("|")), key=len, reverse=True))


def words(block: str) -> frozenset[str]:
    """The whitespace-separated words of ``block``."""
    return frozenset(block.split())
