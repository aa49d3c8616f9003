"""Round 17: Italian "per" is "for", not "each" (`fanout._hands_out`).

`fanout._EACH` read every "per" as distributive, as English and Dutch "one ... per X" is, so
"una poesia per Anna e Marta" (one poem for both) planned a poem for each. Italian "per"
before an article, a possessive or a pronoun, or "per" that leads the list itself, hands
nothing out; "per ogni"/"per ciascuno" and "per" before a bare noun still do.
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.fanout import _hands_out

PLANNER = IntentPlanner()


def _caps(query: str) -> list[str]:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    return [t.capability for t in draft.plan.tasks]


@pytest.mark.parametrize(
    "query",
    [
        "Scrivi una poesia per Anna e Marta",
        "Scrivi un biglietto per la laurea di Marco e Sara",
        "Preparami un discorso per il compleanno di Paolo e Chiara",
        "Scrivi due righe per i miei nonni, Franco e Lucia",
    ],
)
def test_italian_per_is_for(query: str) -> None:
    assert _caps(query) == ["text_generation"]


@pytest.mark.parametrize(
    ("query", "n"),
    [
        ("Scrivi una poesia per ciascuno: Anna e Marta", 2),
        ("Genera un'immagine per ogni stagione: primavera, estate e autunno", 3),
        ("Schrijf een zin per dier: kat, hond en paard", 3),
        ("Write a short bio per person for Anna, Marta and Joe", 3),
    ],
)
def test_each_still_hands_out(query: str, n: int) -> None:
    assert len(_caps(query)) == n


def test_the_word_before_decides() -> None:
    assert not _hands_out("scrivi un biglietto per la nonna")
    assert not _hands_out("scrivi una poesia per anna e marta", "scrivi una poesia per ")
    assert _hands_out("una frase per animale")
    assert _hands_out("one caption per picture")
    assert _hands_out("per la mostra, una didascalia per ogni foto")


# "X for A and another, <how>, for B": the thing made twice, the second with its own manner
# between commas (before, only "and another for B" with nothing between was read as two)
ANOTHER_BETWEEN_COMMAS = [
    "Write a birthday email for the team and another, shorter one, for the board.",
    "Escribe un correo para los clientes y otro, más divertido, para los compañeros.",
    "Schreib eine Mail für die Kunden und eine andere, lustigere, für die Kollegen.",
    "Escreve um e-mail para os clientes e outro, mais divertido, para os colegas.",
    "Scrivi una mail per i fornitori e un'altra, più formale, per la banca.",
    "Schrijf een mail voor de klanten en een andere, grappigere, voor de collega's.",
]


@pytest.mark.parametrize("query", ANOTHER_BETWEEN_COMMAS)
def test_another_with_its_manner_between_commas_is_a_second_job(query: str) -> None:
    assert _caps(query) == ["text_generation", "text_generation"]
