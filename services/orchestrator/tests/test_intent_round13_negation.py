"""Round 13: what the user ruled out (``planning/intent``, branch plan-neg13).

The class: **a job the user ruled out gets planned anyway**. Three mechanisms, each in the
seven languages:

* **a weak reading of a ruled-out job** ("I know what X is, skip the research. Write me ..."):
  the clause of context was read as a lookup (a question word in it) though the negated clause
  beside it rules lookups out. ``serve.drop_ruled_out``: the jobs a negated clause names
  (``serve.ruled_out``: what the model reads in the few words after each negation) are not
  planned from another clause the model reads weakly as that job, when a job is left.
* **"<negations>: <the ask>"** ("No research and no pictures: three names for ..."): the ask
  after the colon was taken as pasted text, handed to the last negated clause.
  ``segment._payload_start`` (``whole``) and ``Segmenter._split_and``: when every clause
  before the colon is negated, a short line after it is the ask (not "No, really: ...", an
  interjection).
* **"only" before the wish** ("Solo quiero la imagen, sin texto: ..."): ``cues.only_thing``
  read the thing only right after "only"; the wish between them is skipped, as it was before
  "only" ("Voglio solo l'immagine").

The requests are written for these tests (none is a benchmark request)."""

from __future__ import annotations

import pytest
from intent_cases import caps_of

from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.segment import Segment
from mesh_orchestrator.planning.intent.serve import ruled_out


@pytest.mark.parametrize(
    "query",
    [
        "I know perfectly well what a black hole is, skip the research. Just write me a "
        "lullaby about one for my nephew.",
        "Je sais déjà ce qu'est un volcan, pas de recherche. Écris-moi juste une comptine sur "
        "un volcan.",
        "So già cos'è un vulcano, niente ricerche. Scrivimi solo una filastrocca su un vulcano.",
        "Ya sé lo que es un eclipse, nada de búsquedas. Escríbeme un poema corto sobre uno.",
        "Ich weiß schon, was ein Komet ist, keine Recherche nötig. Schreib mir einfach ein "
        "Gedicht über einen Kometen.",
        "Eu já sei o que é um arco-íris, sem pesquisa. Escreve-me só um poema sobre um arco-íris.",
        "Ik weet al wat een regenboog is, geen opzoekwerk. Schrijf me gewoon een gedichtje over "
        "een regenboog.",
    ],
)
def test_a_ruled_out_lookup_is_not_planned_from_context(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "No research and no pictures: three name ideas for a parrot that whistles all day.",
        "Sin búsqueda y sin imagen: tres ideas de nombre para un perro que ronca.",
        "Pas de recherche ni d'image : trois idées de nom pour une tortue très lente.",
        "Ohne Bild und ohne Suche: drei Namensvorschläge für einen Hamster, der nachts rennt.",
        "Sem pesquisa e sem imagem: três ideias de nome para um gato que adora caixas.",
        "Niente ricerche e niente immagini: tre idee di nome per un coniglio dispettoso.",
        "Geen opzoekwerk en geen plaatje: drie naamideeën voor een kip die graag zingt.",
    ],
)
def test_the_ask_after_negations_and_a_colon_is_the_job(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Just want the picture, no text: a lighthouse in a storm at night.",
        "Solo quiero la imagen, nada de texto: un faro en medio de una tormenta.",
        "Só quero a imagem, sem texto: um farol no meio de uma tempestade.",
        "Solo voglio l'immagine, niente testo: un faro durante una tempesta.",
    ],
)
def test_only_then_a_wish_names_the_thing(query: str) -> None:
    assert caps_of(query) == ["image_generation"]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        # an interjection before the colon rules nothing out: the description of the drawing
        (
            "Dessine-moi un chat. Non, vraiment : un gros chat roux endormi sur un radiateur, "
            "style aquarelle.",
            ["image_generation"],
        ),
        # an ask before the negation: the text after the colon is pasted, to be translated
        (
            "Translate this into French, no changes to the names: Anna and Piet will arrive on "
            "Monday with the boat.",
            ["translation"],
        ),
        # a negated head before the jobs after it: both jobs stay
        (
            "No pictures please: write a limerick about a sleepy owl and then translate it into "
            "German.",
            ["text_generation", "translation"],
        ),
    ],
)
def test_what_is_not_ruled_out_stays(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("clause", "job"),
    [
        ("skip the research", "search"),
        ("sin imagen", "image_generation"),
        ("pas de recherche", "search"),
        ("ohne Bild", "image_generation"),
        ("não precisa resumir", "summarization"),
        ("niente immagini", "image_generation"),
        ("niet vertalen", "translation"),
        # a job's verb read by its stem (round 16: the retrain moved "vertalen" to a near-tie)
        ("nicht übersetzen", "translation"),
        ("non riassumere", "summarization"),
        ("no dibujes nada", "image_generation"),
        ("sans traduire", "translation"),
    ],
)
def test_ruled_out_reads_the_job_after_the_negation(clause: str, job: str) -> None:
    planner = IntentPlanner()
    planner.warm()
    assert planner._model is not None
    assert job in ruled_out(Segment(clause, clause), planner._model)
