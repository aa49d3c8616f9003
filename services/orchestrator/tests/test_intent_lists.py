"""The intent planner on lists inside running text (round 5).

Each test is one mechanism, in wording written for it here (not from the benchmark): a list
the request says to take one item at a time, a question word said again per item, a count
that points back at that many results, ordinal adverbs that number items, a wish to know
that is a question, and a clause opened by a job's verb that the model doubts.
"""

from __future__ import annotations

import pytest
from intent_cases import shape_of

from mesh_orchestrator.planning.intent.fanout import _asked_again, _distributed
from mesh_orchestrator.planning.intent.lists import number_ordinals

# ---- a list taken one item at a time ----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "cap", "n"),
    [
        ("For each of Jupiter, Saturn and Neptune, look up how many moons it has.", "search", 3),
        (
            "Para cada una de estas ciudades (Quito, Bogotá y Lima), busca cuánta gente vive allí.",
            "search",
            3,
        ),
        ("Zeichne für jedes Tier ein eigenes Bild: Igel, Dachs und Fuchs.", "image_generation", 3),
        (
            "Dessine une image séparée pour chaque saison : printemps, été, automne et hiver.",
            "image_generation",
            4,
        ),
        ("Per ogni fiume (Po, Tevere e Arno) cerca quanto è lungo.", "search", 3),
        ("Zoek voor elke stad op hoe oud ze is: Gent, Brugge en Leuven.", "search", 3),
        (
            "Please draw three pictures for me: a red kite, a snail on a leaf and a teapot.",
            "image_generation",
            3,
        ),
    ],
)
def test_a_list_taken_one_item_at_a_time_is_one_task_per_item(query: str, cap: str, n: int) -> None:
    assert shape_of(query) == [(cap, [])] * n


def test_a_plain_list_of_topics_is_one_task() -> None:
    # no "each", no count: the list is what one poem is about
    assert shape_of("Write a poem about foxes, owls and hedgehogs.") == [("text_generation", [])]


def test_a_list_inside_a_quotation_is_not_distributed() -> None:
    assert _distributed('Write a reply to "for each of you, tea, cake and a chair"') is None


def test_a_count_inside_pasted_numbers_does_not_make_a_list_distributive() -> None:
    # the digits after the list are data, not a count of its items
    assert _distributed("tell me mean and median: a,b 2,3 4,5") is None


# ---- a question word said again per item --------------------------------------------------


@pytest.mark.parametrize(
    "instruction",
    [
        "Find out who built the Parthenon, who the Alhambra and who the Taj Mahal",
        "Busca quién escribió Hamlet, quién Fausto y quién el Quijote",
        "Cherche qui a peint Guernica, qui la Joconde et qui les Nymphéas",
    ],
)
def test_a_question_word_said_again_is_one_lookup_per_question(instruction: str) -> None:
    copies = _asked_again(instruction)
    assert copies is not None and len(copies) == 3


def test_a_single_question_is_not_split() -> None:
    assert _asked_again("Find out who built the Parthenon") is None


# ---- a count that points back ------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Look up who discovered penicillin, who discovered insulin and who discovered "
        "radium, then write a paragraph comparing the three.",
        "Cerca chi ha scoperto la penicillina, chi l'insulina e chi il radio, e poi "
        "scrivi un paragrafo che confronti i tre.",
        "Busca qué es un cometa, qué es un asteroide y qué es un meteoro, y luego "
        "escribe un texto que compare los tres.",
    ],
)
def test_a_counted_reference_reads_that_many_results(query: str) -> None:
    shape = shape_of(query)
    assert [c for c, _ in shape[:3]] == ["search"] * 3
    assert shape[3][1] == ["1", "2", "3"]


# ---- ordinal adverbs number items ----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Two favours: firstly, who designed the Eiffel Tower? And secondly, write me a "
        "short poem about bridges.",
        "Zwei Bitten: erstens, wer hat den Kölner Dom gebaut? Zweitens, schreib mir ein "
        "kurzes Gedicht über Brücken.",
        "Deux choses : premièrement, qui a construit le pont du Gard ? Deuxièmement, "
        "écris-moi un petit poème sur les ponts.",
    ],
)
def test_ordinal_adverbs_make_a_list(query: str) -> None:
    assert shape_of(query) == [("search", []), ("text_generation", [])]


def test_second_alone_is_no_ordinal() -> None:
    text = "Write a poem, then a second poem about rain."
    assert number_ordinals(text) == text


def test_ordinals_out_of_order_are_left_alone() -> None:
    text = "Secondly, and firstly, whatever."
    assert number_ordinals(text) == text


# ---- a wish to know is a question ----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "I'd like to know who composed the Four Seasons.",
        "Ich möchte wissen, wer die Glühbirne erfunden hat.",
        "Quisiera saber quién pintó Las Meninas.",
        "Vorrei sapere chi ha scritto la Divina Commedia.",
    ],
)
def test_a_wish_to_know_is_a_lookup(query: str) -> None:
    assert shape_of(query) == [("search", [])]


# ---- a job's verb opens a clause the model doubts, beside an action ------------------------


def test_a_lookup_beside_an_action_no_agent_performs_is_kept() -> None:
    shape = shape_of("Search for the oldest lighthouse in Ireland and then book me a ferry there.")
    assert shape == [("search", [])]


# ---- "neither ... nor" and a wish to know after a negation --------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Ich brauche weder eine Zusammenfassung noch ein Bild, schreib mir einfach ein "
        "Gedicht über den Herbst.",
        "Não quero nem resumo nem imagem, escreve só um poema sobre o vento.",
        "I need neither a picture nor a summary, just write a haiku about snow.",
    ],
)
def test_neither_nor_is_a_constraint_and_the_other_clause_the_job(query: str) -> None:
    assert shape_of(query) == [("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Please don't translate anything, I just want to know how a barometer works.",
        "Bitte nichts zusammenfassen, ich will nur wissen, wie ein Barometer funktioniert.",
    ],
)
def test_a_wish_to_know_after_a_negation_is_the_lookup(query: str) -> None:
    assert shape_of(query) == [("search", [])]


# ---- a counted thing to make, no verb --------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Ich brauche drei Bilder für die Präsentation: eine Eule, ein Boot und einen Leuchtturm.",
        "Mi servono tre disegni per la classe: un gufo, una barca e un faro.",
        "Ik heb drie tekeningen nodig: een uil, een boot en een vuurtoren.",
        "Preciso de três imagens para o site: um farol, um barco e uma bússola.",
    ],
)
def test_a_counted_thing_to_make_over_a_list_is_one_task_per_item(query: str) -> None:
    assert shape_of(query) == [("image_generation", [])] * 3
