"""Training sentences for the intent model, generated from ``lang/*.py`` (seven languages).

Each class of each language gets the same number of sentences: a template of that class
with its slots filled at random (topics shared by every class, so a topic never gives the
class away), often wrapped in a frame ("please ...", "can you ...?", "necesito ..."), and
sometimes roughened the way people type (a dropped or doubled letter, no capital, no final
punctuation). Seeded: the same seed gives the same sentences.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterator
from types import ModuleType

LANGS = ("en", "es", "fr", "de", "pt", "it", "nl")
_ARTICLES = frozenset(
    [
        "a",
        "an",
        "un",
        "une",
        "una",
        "uno",
        "un'",
        "ein",
        "eine",
        "einen",
        "um",
        "uma",
        "een",
        "de",
        "het",
        "le",
        "la",
        "el",
        "il",
        "lo",
    ]
)
_QUOTES = ('"{}"', "\u201c{}\u201d", "'{}'", "\u00ab{}\u00bb")


def module(lang: str) -> ModuleType:
    return importlib.import_module(f"bench.planning.train.lang.{lang}")


def _fill(template: str, m: ModuleType, rng: random.Random) -> str:
    quote = rng.choice(_QUOTES).format(rng.choice(m.QUOTES))
    values = {
        "t": rng.choice(m.TOPICS),
        "q": quote,
        "l": rng.choice(m.LANGS),
        "a": rng.choice(getattr(m, "LANG_ADJ", m.LANGS)),
        "w": rng.choice(m.WHO),
        "d": "ddd",
        "p": "ppp",
    }
    return template.format(**values)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    k = rng.randrange(1, len(w) - 1)
    op = rng.randrange(3)
    if op == 0:
        w = w[:k] + w[k + 1 :]
    elif op == 1:
        w = w[:k] + w[k] + w[k:]
    else:
        w = w[: k - 1] + w[k] + w[k - 1] + w[k + 1 :]
    words[i] = w
    return " ".join(words)


def _frame(text: str, m: ModuleType, rng: random.Random) -> str:
    first = text.split(" ", 1)[0].lower()
    if text.rstrip().endswith("?") or rng.random() < 0.35:
        return text
    frames = m.NP_FRAMES if first in _ARTICLES else m.FRAMES
    return str(rng.choice(frames)).format(x=text)


def _surface(text: str, rng: random.Random) -> str:
    if rng.random() < 0.15:
        text = _typo(text, rng)
    r = rng.random()
    if r < 0.5:
        text = text[:1].upper() + text[1:]
    if not text.endswith(("?", "!", ".")) and rng.random() < 0.4:
        text += rng.choice([".", "!", ""])
    return text


def sentences(per_class: int, seed: int = 7) -> Iterator[tuple[str, str, str]]:
    """``(language, class, sentence)``, ``per_class`` of each class in each language."""
    rng = random.Random(seed)
    for lang in LANGS:
        m = module(lang)
        for cls, templates in m.TEMPLATES.items():
            for _ in range(per_class):
                text = _fill(rng.choice(templates), m, rng)
                yield lang, cls, _surface(_frame(text, m, rng), rng)
