"""Round 13: the non-English classes of the eight earlier blind batches, now in dev (branch
plan-lang13). Each class is tested in the seven languages with requests written for it."""

from __future__ import annotations

import pytest
from intent_cases import caps_of, manifest_without_summaries

# --- a verb on an earlier result, its pronoun glued on or after it -------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Look up what a black hole is and condense it",
        "Busca qué es un agujero negro y condénsalo",
        "Cherche ce qu'est un trou noir et condense-le",
        "Such heraus, was ein Schwarzes Loch ist, und verdichte es",
        "Procura o que é um buraco negro e condensa-o",
        "Cerca cos'è un buco nero e condensalo",
        "Zoek uit wat een zwart gat is en vat het kort samen",
    ],
)
def test_a_verb_with_its_pronoun_works_on_the_result(query: str) -> None:
    assert caps_of(query) == ["search", "summarization"]


@pytest.mark.parametrize(
    "query",
    [
        "Busca la biografía de Marie Curie y simplifícala",
        "Cherche la biographie de Marie Curie et simplifie-la",
        "Cerca la biografia di Marie Curie e semplificala",
        "Procura a biografia de Marie Curie e simplifica-a",
        "Zoek de biografie van Marie Curie op en vereenvoudig die",
    ],
)
def test_a_glued_pronoun_on_an_unknown_verb_still_opens_a_step(query: str) -> None:
    # without a summarizer the writer does it (summarization's stand-in)
    assert caps_of(query, manifest_without_summaries()) == ["search", "text_generation"]


# --- a short step after "then" is a job of its own, not more words for the writing ---------


@pytest.mark.parametrize(
    "query",
    [
        "Write a fable about a fox. Then illustrate it.",
        "Escribe una fábula sobre un zorro. Luego ilústrala.",
        "Écris une fable sur un renard. Ensuite illustre-la.",
        "Schreib eine Fabel über einen Fuchs. Danach zeichne sie.",
        "Escreve uma fábula sobre uma raposa. Depois ilustra-a.",
        "Scrivi una favola su una volpe. Poi illustrala.",
        "Schrijf een fabel over een vos. Daarna teken hem.",
    ],
)
def test_a_short_step_after_then_is_a_job(query: str) -> None:
    assert caps_of(query) == ["text_generation", "image_generation"]


def test_a_greeting_then_a_question_is_still_chat() -> None:
    assert caps_of("Hi! Then how are you?") == ["text_generation"]


# --- "then" after the verb: verb-second order and the Romance order -------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Erfinde einen Namen für eine Bäckerei und skizziere dann ein Logo mit diesem Namen.",
        "Schreib eine Geschichte über einen Hund und mal dann ein Bild davon.",
        "Invente un nom pour une boulangerie et esquisse ensuite un logo avec ce nom.",
        "Inventa un nome per una panetteria e abbozza poi un logo con quel nome.",
        "Inventa un nombre para una panadería y bosqueja luego un logo con ese nombre.",
        "Inventa um nome para uma padaria e esboça depois um logótipo com esse nome.",
    ],
)
def test_a_verb_before_then_starts_a_step(query: str) -> None:
    assert caps_of(query) == ["text_generation", "image_generation"]


# --- an object pronoun before the verb (Romance proclisis) ---------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Escreve um conto sobre um farol e me faz um desenho dele",
        "Scrivi un racconto su un faro e poi mi fai un disegno",
        "Escribe un cuento sobre un faro y me dibujas una ilustración de él",
    ],
)
def test_a_pronoun_before_the_verb_still_opens_a_step(query: str) -> None:
    assert caps_of(query) == ["text_generation", "image_generation"]


def test_help_with_this_is_no_step() -> None:
    query = 'me ajuda com isso aqui: [{"a":1,"b":2},{"a":3,"b":4}] — quero a média'
    assert caps_of(query) == ["data_analysis"]
