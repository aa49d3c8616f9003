"""Round 13, enumerations and fan-outs: classes of lists that lost items (dev batches 101-108
and 25-26, scored at round 12's end), each tested in the seven languages on new phrasings.

* list markers the planner did not read: letters with a dot ("a. ... b. ..."), upper-case
  letters inside a line ("A) ... B) ...", "A. ... B. ..."), a number and a dash ("1 - ..."),
  bare numbers that count up line by line ("1 ... 2 ..."), an ordinal after a dash ("Drei
  Sachen - erstens ..., zweitens ...");
* a head that announces asks and asks none itself ("Two things:", "quick list:", "Tenho três
  pedidos:") before lines with or without markers: each line is an ask of its own, even when
  it opens with no verb, article or question word;
* coordinated things to make ("... and a short Slack announcement", "... én voor een korte
  samenvatting"): the second thing is a job of its own though two words describe it first or
  "for" leads it;
* a head that names an earlier result and counts things ("Con ese párrafo haz dos cosas: una
  versión ... y otra ..."): the things are listed, the result's noun counts nothing.
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner

PLANNER = IntentPlanner()


def _caps(query: str) -> list[str]:
    return [t.capability for t in PLANNER.plan_sync(query, load_manifest()).tasks]


def _plan(query: str) -> list[tuple[str, list[str]]]:
    return [(t.capability, t.depends_on) for t in PLANNER.plan_sync(query, load_manifest()).tasks]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "a. a limerick about my lazy cat\nb. a drawing of a lighthouse in the fog",
            ["text_generation", "image_generation"],
        ),
        (
            "A) escribe un poema sobre el mar B) ¿quién pintó Las Meninas?",
            ["text_generation", "search"],
        ),
        (
            "A. traduis « merci beaucoup » en anglais B. dessine un renard qui lit un livre",
            ["translation", "image_generation"],
        ),
        (
            "1 - schreib ein kurzes Gedicht über den Herbst\n2 - wer hat das Auto erfunden?",
            ["text_generation", "search"],
        ),
        (
            "1 quem descobriu o caminho marítimo para a Índia\n2 um desenho de um farol ao pôr do sol",
            ["search", "image_generation"],
        ),
        (
            "Zwei Sachen - erstens ein Bild von einem Leuchtturm, zweitens wer hat die Glühbirne "
            "erfunden",
            ["image_generation", "search"],
        ),
        (
            "Tre cose - primo un disegno di un gatto, secondo chi ha scritto la Divina Commedia, "
            "terzo una poesia sul mare",
            ["image_generation", "search", "text_generation"],
        ),
        (
            "a. een tekening van een fiets in de regen\nb. wie heeft de gloeilamp uitgevonden",
            ["image_generation", "search"],
        ),
    ],
)
def test_list_markers_each_open_an_ask(query: str, caps: list[str]) -> None:
    assert _plan(query) == [(c, []) for c in caps]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "quick list:\n- a sketch of an owl\n- a haiku about snow",
            ["image_generation", "text_generation"],
        ),
        (
            "Dos cosas:\nun dibujo de un faro\nquién inventó la imprenta",
            ["image_generation", "search"],
        ),
        (
            "Trois demandes :\nune affiche pour un concert de jazz\nquelle est la hauteur de la tour Eiffel",
            ["image_generation", "search"],
        ),
        (
            "Zwei Sachen:\nein Bild von einem Leuchtturm\nwer hat die Glühbirne erfunden",
            ["image_generation", "search"],
        ),
        (
            "Dois pedidos:\num desenho de um gato\nqual é a capital da Austrália",
            ["image_generation", "search"],
        ),
        (
            "Due richieste:\nun disegno di una barca\nchi ha inventato la radio",
            ["image_generation", "search"],
        ),
        (
            "Twee vragen:\nwie schilderde De Nachtwacht\nhoe hoog is de Mount Everest",
            ["search", "search"],
        ),
    ],
)
def test_a_head_that_announces_asks_lists_each_line(query: str, caps: list[str]) -> None:
    assert _caps(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Look up how hail forms. Based on that, I want a poem for the kids and a short "
            "funny announcement for the team.",
            ["search", "text_generation", "text_generation"],
        ),
        (
            "Zoek uit hoe onweer ontstaat en gebruik dat voor een gedicht én voor een korte "
            "samenvatting voor de klas.",
            ["search", "text_generation", "summarization"],
        ),
        (
            "Recherchiere, wie Gewitter entstehen. Daraus bitte ein Gedicht für die Kinder und "
            "eine knappe Kurzfassung für die Eltern.",
            ["search", "text_generation", "summarization"],
        ),
    ],
)
def test_a_second_thing_to_make_is_a_job_of_its_own(query: str, caps: list[str]) -> None:
    plan = _plan(query)
    assert [c for c, _ in plan] == caps
    assert all(deps == ["t1"] for _, deps in plan[1:])


@pytest.mark.parametrize(
    "query",
    [
        "Escríbeme un párrafo sobre el té verde. Con ese párrafo haz dos cosas: una versión en "
        "inglés y otra resumida en una frase.",
    ],
)
def test_a_result_named_in_a_counting_head_counts_nothing(query: str) -> None:
    assert _caps(query) == ["text_generation", "translation", "summarization"]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        # a length is no thing to make: "one paragraph" stays a constraint
        (
            "Write a short text about owls for a kids newsletter, keep it light, one paragraph.",
            ["text_generation"],
        ),
        # "Mal mir dann ein ...": "then" inside a step whose verb has "me" after it
        (
            "Wer hat das Telefon erfunden? Mal mir dann ein Porträt von ihm.",
            ["search", "image_generation"],
        ),
    ],
)
def test_no_list_where_none_is(query: str, caps: list[str]) -> None:
    assert _caps(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            'Two unrelated tasks: translate "good morning" into Italian, and write a haiku about fog.',
            ["translation", "text_generation"],
        ),
        (
            "Tengo dos preguntas: ¿cuál es la montaña más alta de Chile? y ¿cuántos habitantes tiene Lima?",
            ["search", "search"],
        ),
        (
            "Deux choses sans rapport : dessine un phare sous la pluie et traduis « bonne nuit » en allemand.",
            ["image_generation", "translation"],
        ),
        (
            'Zwei Sachen, die nichts miteinander zu tun haben: übersetz "gute Reise" ins Spanische '
            "und zeichne einen Igel im Schnee.",
            ["translation", "image_generation"],
        ),
        (
            'Duas coisas sem relação: desenha um barco à vela e traduz "bom dia" para inglês.',
            ["image_generation", "translation"],
        ),
        (
            'Due cose slegate: disegna un gufo su un ramo e traduci "buonanotte" in francese.',
            ["image_generation", "translation"],
        ),
        (
            'Twee losse klusjes: teken een vuurtoren bij storm en vertaal "goedemorgen" naar het Duits.',
            ["image_generation", "translation"],
        ),
    ],
)
def test_the_first_ask_after_an_announcing_head_is_not_lost(query: str, caps: list[str]) -> None:
    assert _plan(query) == [(c, []) for c in caps]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            'Traduce "buen viaje" al francés y aparte escríbeme un poema sobre la lluvia.',
            ["translation", "text_generation"],
        ),
        (
            "Draw a kite over the sea and separately a short bio for my sailing blog.",
            ["image_generation", "text_generation"],
        ),
    ],
)
def test_separately_before_the_next_job(query: str, caps: list[str]) -> None:
    assert _caps(query) == caps
