"""Round 14's enumeration edges (``planning/intent/edges.py``).

Two classes read in the enumeration and partly-servable edge errors of dev, where the edge
model linked independent list items, each fixed by mechanism in the seven languages:

* **a head counting asks, not things** ("Twee losse vragen.", "Tenho três pedidos:", "Deux
  questions :"): ``count_head`` knew only "things" (cosas, Sachen, dingen, ...), so the jobs
  listed after a head counting questions or requests were not known to be independent, and a
  question's lookup fed the next job ("Who built X? And write a rhyme for my aunt"). The
  head's nouns now include the asks ``lists._ASKS`` names and their diminutives, and "some" /
  "umas" / "unos" count like "a few".
* **a job added by "also"** ("also a picture of ...", "además, una imagen", "et aussi",
  "außerdem", "e também", "inoltre", "en ook"): it is a sibling of the step before it, not its
  reader. ``round12`` drops an edge from the step right before it unless the clause points
  back (a pronoun, a demonstrative, a noun naming that step's result); a sibling of a fan-out
  still reads the fan-out's source.

The requests are written for these tests (none is a benchmark request)."""

from __future__ import annotations

import pytest
from intent_cases import shape_of

from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.edges import count_head

_PLANNER = IntentPlanner()

# a head counting questions / requests, a question, then a job with no reference
COUNTED_ASKS = [
    "Two quick questions. Who built the first steam engine? And write a short birthday rhyme "
    "for my aunt who loves gardening.",
    "Dos preguntas rápidas: ¿quién pintó el Guernica? Y escríbeme una nota de agradecimiento "
    "para mi vecina que me regó las plantas.",
    "Deux petites questions. Qui a construit la tour Eiffel ? Et écris un petit mot "
    "d'anniversaire pour mon collègue qui part à la retraite.",
    "Zwei kurze Fragen: Wer hat das Fahrrad erfunden? Und schreib einen kleinen Glückwunsch "
    "für meine Schwester, die umgezogen ist.",
    "Tenho duas perguntas: quem inventou o avião? E escreve um bilhete de agradecimento para "
    "a minha avó que me fez um bolo.",
    "Due domande veloci: chi ha scoperto la penicillina? E scrivimi un biglietto di auguri per "
    "mio zio che compie sessant'anni.",
]


@pytest.mark.parametrize("query", COUNTED_ASKS)
def test_jobs_after_a_head_counting_asks_are_independent(query: str) -> None:
    assert shape_of(query, planner=_PLANNER) == [("search", []), ("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Drie verzoeken: wie schreef de Max Havelaar? Schrijf een bedankkaartje voor de juf die "
        "afscheid neemt. En teken een zeilboot op een kalme zee.",
        "Drie verzoekjes. Wie schreef de Max Havelaar? Schrijf een bedankkaartje voor de juf "
        "die afscheid neemt. En teken een zeilboot op een kalme zee.",
    ],
)
def test_three_counted_requests_read_nothing(query: str) -> None:
    assert shape_of(query, planner=_PLANNER) == [
        ("search", []),
        ("text_generation", []),
        ("image_generation", []),
    ]


@pytest.mark.parametrize(
    ("head", "refers"),
    [
        ("Two quick questions.", False),
        ("Tres preguntas:", False),
        ("Deux petites questions :", False),
        ("Zwei kurze Fragen:", False),
        ("Tenho três pedidos:", False),
        ("Due domande veloci:", False),
        ("Twee losse vragen.", False),
        ("Twee vraagjes:", False),
        ("Me ajuda com umas coisas?", False),
        # a head that points back still fans one result out
        ("Two questions from that:", True),
        ("Daraus zwei Fragen:", True),
    ],
)
def test_a_head_counting_asks_is_a_head(head: str, refers: bool) -> None:
    found = count_head(head)
    assert found is not None
    assert found.refers is refers


@pytest.mark.parametrize(
    "text",
    [
        "Who built the first steam engine?",
        "Write two short poems about autumn",  # a job that counts what it makes, no ask
        "Schreib mir zwei kurze Gedichte über den Herbst",
        "Dibuja tres gatos en un tejado",
    ],
)
def test_no_counting_head(text: str) -> None:
    assert count_head(text) is None


# a question, then a job added by "also" that points at nothing
ALSO_AFTER_QUESTION = [
    "how deep is the Mariana Trench? also a picture of a lighthouse in a storm",
    "¿cuántos huesos tiene un gato? además, una imagen de un faro bajo la lluvia",
    "quelle est la hauteur du Mont Blanc ? et aussi une image d'un phare sous la pluie",
    "wie alt ist der Kölner Dom? außerdem ein Bild von einem Leuchtturm im Sturm",
    "qual é a altura do Cristo Redentor? e também uma imagem de um farol na tempestade",
    "quanto è lungo il Po? inoltre un'immagine di un faro sotto la pioggia",
    "hoe hoog is de Domtoren? en ook een plaatje van een vuurtoren in de storm",
]


@pytest.mark.parametrize("query", ALSO_AFTER_QUESTION)
def test_an_also_job_does_not_read_the_question_before_it(query: str) -> None:
    assert shape_of(query, planner=_PLANNER) == [("search", []), ("image_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Write a tagline for our bike repair shop and also translate it into Spanish.",
        "Escribe un eslogan para mi floristería y también tradúcelo al inglés.",
    ],
)
def test_an_also_job_that_points_back_still_reads(query: str) -> None:
    assert shape_of(query, planner=_PLANNER) == [
        ("text_generation", []),
        ("translation", ["1"]),
    ]


def test_an_also_sibling_of_a_fan_out_reads_the_source() -> None:
    query = (
        "Look up what a black hole is. With that, write a short summary for my class and also "
        "draw a picture of one."
    )
    assert shape_of(query, planner=_PLANNER) == [
        ("search", []),
        ("text_generation", ["1"]),
        ("image_generation", ["1"]),
    ]
