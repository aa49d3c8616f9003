"""Round 16 (lean-runs16): the planner's text normalization remembered per text, and
ASCII text normalized without NFKD (bench/README.md, "Round 16: lean-runs16")."""

from __future__ import annotations

import unicodedata

import pytest

from mesh_orchestrator.planning.intent import model
from mesh_orchestrator.planning.intent.model import normalize, tokens

TEXTS = [
    "Write a short poem about the sea.",
    'Translate "Good morning, Sir" into French',
    "Summarise 'the quarterly numbers' and then e-mail them",
    "Traduis « bonjour » en espa\u00f1ol, s'il te pla\u00eet",
    "\u00dcbersetze das bitte: Stra\u00dfe, Gr\u00fc\u00dfe",
    "cafe\u0301 cre\u0300me (combining marks)",
    "\ufb01le \uff21\uff22\uff23 \u2460 \u00bd",  # ligature, full width, circled, fraction
    "\u201cquoted\u201d and \u201eanders\u201c and \u00abcit\u00e9\u00bb",
    "",
    "ASCII WITH CAPS and digits 42, it's x-ray?",
    "\u3053\u3093\u306b\u3061\u306f \u4e16\u754c",
]


def _reference(text: str) -> str:
    """``normalize`` as it was before the memo and the ASCII path."""
    text = model._QUOTE.sub(" qqq ", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.lower().replace("\u00df", "ss")


@pytest.mark.parametrize("text", TEXTS)
def test_normalize_and_tokens_answer_as_before_first_and_from_the_memo(text: str) -> None:
    for _ in range(2):  # computed, then remembered
        assert normalize(text) == _reference(text)
        assert tokens(text) == model._TOKEN.findall(_reference(text))


def test_tokens_gives_a_list_of_the_callers_own() -> None:
    text = "Write a short poem about the sea."
    first = tokens(text)
    first.append("changed")
    first[0] = "x"
    assert tokens(text) == ["write", "a", "short", "poem", "about", "the", "sea"]


def test_the_memo_is_bounded_and_keeps_no_long_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "_normalized", {})
    monkeypatch.setattr(model, "_tokenized", {})
    for i in range(3 * model.MEMO_TEXTS):
        text = f"Text number {i} caf\u00e9"
        assert normalize(text) == _reference(text)
        assert tokens(text) == model._TOKEN.findall(_reference(text))
        assert len(model._normalized) <= model.MEMO_TEXTS
        assert len(model._tokenized) <= model.MEMO_TEXTS
    long = "w\u00f6rd " * (model.MEMO_CHARS // 5 + 1)
    assert normalize(long) == _reference(long) and tokens(long) == model._TOKEN.findall(
        _reference(long)
    )
    assert long not in model._normalized and long not in model._tokenized
