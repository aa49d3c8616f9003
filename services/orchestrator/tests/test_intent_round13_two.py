"""A second thing to make is its own task (round 13): one source or one ask, then two things
made from it in one breath. Three ways the second one was lost, each fixed in the segmenter for
the seven languages:

* the second thing is a piece of writing the job nouns did not know ("and a short paragraph
  for ...", "e um e-mail curto", "et une analogie") — ``lx.PIECE_NOUNS``, read only where a
  thing to make starts a job;
* the second thing is counted rather than introduced by an article ("and three bullet points",
  "sowohl ein Gedicht als auch drei Stichpunkte");
* the step is led by the result it works on after "and" ("..., and from the result write ...",
  "y con el resultado escribe ..."), so the clause before it was never cut off.
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.model import shared
from mesh_orchestrator.planning.intent.segment import Segmenter

PLANNER = IntentPlanner()
SEGMENTER = Segmenter(shared().openers)


def _caps(query: str) -> list[str]:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    return [t.capability for t in draft.plan.tasks]


@pytest.mark.parametrize(
    "piece",
    [
        "a short paragraph for the parents' evening",
        "una analogía sencilla para los nuevos",
        "une analogie simple pour les stagiaires",
        "einen kurzen Absatz für die Schülerzeitung",
        "um e-mail breve para os vizinhos",
        "un paragrafo breve per il bollettino",
        "een korte alinea voor de nieuwsbrief",
    ],
)
def test_a_piece_of_writing_after_and_opens_a_job(piece: str) -> None:
    assert SEGMENTER.opens_job(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "three bullet points for the slides",
        "dos párrafos para la web",
        "deux paragraphes pour le site",
        "drei Stichpunkte für die Tafel",
        "dois tópicos para a reunião",
        "tre paragrafi per il sito",
        "twee alineas voor de website",
    ],
)
def test_a_counted_thing_to_make_opens_a_job(piece: str) -> None:
    assert SEGMENTER.opens_job(piece)


@pytest.mark.parametrize(
    "piece",
    [
        # a count before a thing no one makes is no job
        "two apples and a pear",
        "dos manzanas",
        # a piece noun without an article or count opens nothing on its own
        "paragraph breaks are fine",
        # a piece counted and nothing more says how long, not what to make
        "one paragraph",
        "un párrafo",
        "un paragraphe",
        "zwei Absätze",
        "um parágrafo",
        "un paragrafo",
        "één alinea",
    ],
)
def test_a_count_or_noun_alone_opens_nothing(piece: str) -> None:
    assert not SEGMENTER.opens_job(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "from the result write a haiku",
        "con el resultado escribe un haiku",
        "à partir du résultat écris un haïku",
        "mit dem Ergebnis schreib ein Haiku",
        "com o resultado escreve um haiku",
        "con il risultato scrivi un haiku",
        "met het resultaat schrijf een haiku",
    ],
)
def test_a_step_led_by_the_result_opens_a_job(piece: str) -> None:
    assert SEGMENTER.opens_job(piece)


def test_the_result_named_without_a_verb_opens_nothing() -> None:
    assert not SEGMENTER.opens_job("with the results of the survey in mind")


@pytest.mark.parametrize(
    "query",
    [
        "Look up how coral reefs form, then write a riddle and a short paragraph for the "
        "school newsletter.",
        "Busca cómo se forman los arrecifes y con eso escribe un acertijo y una analogía "
        "sencilla para los niños.",
        "Cherche comment se forment les récifs coralliens, puis écris une devinette et une "
        "analogie simple pour les enfants.",
        "Recherchiere, wie Korallenriffe entstehen, und schreib dann ein Rätsel und einen "
        "kurzen Absatz für die Schülerzeitung.",
        "Pesquisa como se formam os recifes de coral e depois escreve uma adivinha e um "
        "e-mail curto para os pais.",
        "Cerca come si formano le barriere coralline e poi scrivi un indovinello e un "
        "paragrafo breve per il giornalino.",
        "Zoek op hoe koraalriffen ontstaan en schrijf daarna een raadsel en een korte "
        "alinea voor de nieuwsbrief.",
    ],
)
def test_two_pieces_from_one_lookup(query: str) -> None:
    assert _caps(query) == ["search", "text_generation", "text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Look up why the sky is blue and write both a limerick and three bullet points for a quiz.",
        "Busca por qué el cielo es azul y escribe tanto un poema como dos párrafos para un examen.",
        "Recherchiere, warum der Himmel blau ist, und schreib sowohl ein Gedicht als auch "
        "drei Stichpunkte für die Tafel.",
        "Zoek op waarom de lucht blauw is en schrijf zowel een gedicht als twee alineas voor "
        "een quiz.",
    ],
)
def test_both_a_thing_and_a_counted_thing(query: str) -> None:
    assert _caps(query) == ["search", "text_generation", "text_generation"]


def test_the_result_leads_the_step_after_and() -> None:
    query = (
        "city,rain_mm\nOslo,760\nBergen,2250\nTromso,1030\n"
        "Compare these, and from the result write a haiku and a short paragraph for a "
        "weather blog."
    )
    assert _caps(query) == ["data_analysis", "text_generation", "text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "A cheerful note about recycling for the office fridge, keep it light, one paragraph.",
        "Una nota alegre sobre el reciclaje para la nevera de la oficina, ligera, un párrafo.",
        "Ein fröhlicher Zettel übers Recycling für den Bürokühlschrank, locker, ein Absatz.",
    ],
)
def test_a_length_in_paragraphs_is_no_second_thing(query: str) -> None:
    assert _caps(query) == ["text_generation"]
