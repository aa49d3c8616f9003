"""Fan-out requests: several jobs made from one source, in the seven languages (round 16;
every wording here is new, none is a benchmark request). The classes fixed, each seen in at
least three independently written dev batches:

* parts counted in Roman numerals ("(i) ... (ii) ...", inline or one a line; dev batches 30,
  32, 104): each part is a job, as "(a) ... (b) ..." already was (``lists._roman``);
* a list's head that holds a step of its own before the words the parts share ("look up X
  -> (i) ... (ii) ...", "Such X und mach daraus a) ... b) ..."; batches 12, 28, 111): that
  step is planned once, not once per part (``Segmenter.split``);
* a new thing made from the last result, past "then" and a phrase naming the source ("da
  quello ricava un post", "write a jingle around it"; batches 28, 32, 106, 111): a task of its
  own, not more words for the last one; "make it a haiku", "give the poem a title", "add a
  verse" still restyle it (``draft._makes_new_thing``).
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.draft import _makes_new_thing
from mesh_orchestrator.planning.intent.lists import _roman
from mesh_orchestrator.planning.intent.model import tokens

PLANNER = IntentPlanner()


def _caps(query: str) -> list[str]:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    return [t.capability for t in draft.plan.tasks]


def _sorted(query: str) -> list[str]:
    return sorted(_caps(query))


ROMAN_INLINE = [
    "Look up how tides work and use it for (i) a short summary (ii) a picture for the class",
    "Busca cómo funcionan las mareas y úsalo para (i) un resumen corto (ii) un dibujo para la clase",
    "Cherche comment marchent les marées et fais-en (i) un résumé court (ii) un dessin",
    "Such, wie Gezeiten funktionieren, und nutze das für (i) eine kurze Zusammenfassung (ii) ein Bild",
    "Pesquisa como funcionam as marés e usa isso para (i) um resumo curto (ii) um desenho",
    "Cerca come funzionano le maree e usalo per (i) un breve riassunto (ii) un disegno",
    "Zoek op hoe getijden werken en gebruik dat voor (i) een korte samenvatting (ii) een tekening",
]


@pytest.mark.parametrize("query", ROMAN_INLINE)
def test_roman_numerals_inside_a_line_count_parts(query: str) -> None:
    assert _sorted(query) == ["image_generation", "search", "summarization"]


def test_roman_numerals_one_a_line_count_parts() -> None:
    query = (
        "Find out how solar panels age. From that, write:\n"
        "(i) a two-line note for the installers\n"
        "(ii) a plain explanation for customers"
    )
    assert _caps(query) == ["search", "text_generation", "text_generation"]


def test_roman_marks_must_count_up_from_one() -> None:
    assert len(_roman("(i) a summary (ii) a picture (iii) a poem")) == 3
    assert _roman("see note (ii) and (iv) below") == []  # not i, ii: no list
    assert _roman("I think (i) am right") == []  # one mark alone


SHARED_HEAD = [
    "look up the history of the bicycle -> (i) a quick summary (ii) a picture of an old one",
    "busca la historia de la bicicleta y con eso haz (a) un resumen y (b) un dibujo",
    "cherche l'histoire du vélo et fais-en (a) un résumé et (b) une illustration",
    "Such die Geschichte des Fahrrads und mach daraus a) eine Zusammenfassung und b) ein Bild",
    "pesquisa a história da bicicleta e faz com isso (a) um resumo e (b) uma ilustração",
    "cerca la storia della bicicletta e con quella prepara (a) un riassunto e (b) un'illustrazione",
    "zoek de geschiedenis van de fiets op en maak daarvan (a) een samenvatting en (b) een plaatje",
]


@pytest.mark.parametrize("query", SHARED_HEAD)
def test_a_step_in_a_shared_head_is_planned_once(query: str) -> None:
    caps = _caps(query)
    assert caps.count("search") == 1
    assert sorted(caps) == ["image_generation", "search", "summarization"]


NEW_THING = [
    "Write a slogan for a bakery, then from it write a post for Facebook.",
    "Escribe un eslogan para una panadería y luego de eso saca un post para Facebook.",
    "Écris un slogan pour une boulangerie, puis à partir de ça rédige un post pour Facebook.",
    "Schreib einen Slogan für eine Bäckerei. Daraus dann einen Post für Facebook.",
    "Escreve um slogan para uma padaria e depois disso faz um post para o Facebook.",
    "Scrivi uno slogan per una panetteria, poi da quello ricava un post per Facebook.",
    "Schrijf een slogan voor een bakkerij en maak daarvan dan een post voor Facebook.",
]


@pytest.mark.parametrize("query", NEW_THING)
def test_a_new_thing_from_the_last_result_is_a_task_of_its_own(query: str) -> None:
    assert _caps(query) == ["text_generation", "text_generation"]


@pytest.mark.parametrize(
    "clause",
    [
        "write a jingle around it",
        "da quello ricava un post per Instagram",
        "daraus dann einen Post für Instagram",
        "then from that write me a limerick",
        "con eso escribe una copla",
    ],
)
def test_the_clause_makes_a_new_thing(clause: str) -> None:
    assert _makes_new_thing(tokens(clause))


@pytest.mark.parametrize(
    "clause",
    [
        "make it a haiku",  # the earlier thing before the article: a restyling
        "give the poem a title",
        "add a verse about snow",
        "voeg een regel over sneeuw toe",
        "aggiungi una strofa sulla neve",
        "make it rhyme",
    ],
)
def test_a_restyling_makes_no_new_thing(clause: str) -> None:
    assert not _makes_new_thing(tokens(clause))


def test_a_restyling_still_folds_into_the_last_text() -> None:
    assert _caps("Write a poem about rain. Then make it a haiku.") == ["text_generation"]
