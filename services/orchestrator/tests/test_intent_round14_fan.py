"""Round 14, fan-outs and references: classes read in the dev failures of those two kinds,
each tested on new phrasings in several of the seven languages (none copied from dev).

* a lookup joined by "and" to a phrase that points back at it and leads what follows ("...
  y de ahí sácame ...", "..., et avec ça :", "... und daraus ...", "... e da lì fammi ...",
  "... en daarmee: 1) ..."): the lookup is a job of its own (it was swallowed by the head of
  the list, or by the first consumer), and every consumer reads it;
* "once ... and once ..." ("einmal auf Französisch und einmal als Bild", "una volta ... e
  una volta ...", "une fois ... et une fois ...", "una vez ... y otra vez ...", "een keer
  ... en een keer ..."): the same result made twice, two jobs, each reading the source (the
  second does not read the first);
* the second thing of a fan-out named by a compound's last part ("ein Plakatmotiv"), a
  hyphenated part ("una foto-ilustración"), a length ("a one-sentence version", "uma versão
  curtinha") or "translated into" ("la fable traduite en italien"): a job of its own;
* an earlier result put into a language by a pronoun ("I'll need it in French and German,
  plus ...", "Lo quiero en francés y ..."): a step, not a remark that is context for the
  job after it.
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.segment import Segmenter, leads_back

PLANNER = IntentPlanner()


def _plan(query: str) -> list[tuple[str, list[str]]]:
    return [(t.capability, t.depends_on) for t in PLANNER.plan_sync(query, load_manifest()).tasks]


def _segmenter() -> Segmenter:
    PLANNER.warm()
    assert PLANNER._segmenter is not None
    return PLANNER._segmenter


SEARCH_FAN = [
    ("search", []),
    ("summarization", ["t1"]),
    ("image_generation", ["t1"]),
]


@pytest.mark.parametrize(
    ("query", "plan"),
    [
        (
            "Look up how coral reefs form and from that give me two things: a short summary "
            "and a picture of a reef",
            SEARCH_FAN,
        ),
        (
            "Busca cómo se forman los arrecifes de coral y de ahí sácame un resumen corto y un "
            "dibujo de un arrecife",
            SEARCH_FAN,
        ),
        (
            "Renseigne-toi sur les aurores boréales, et avec ça :\n1. écris un petit poème\n"
            "2. fais un dessin du ciel",
            [("search", []), ("text_generation", ["t1"]), ("image_generation", ["t1"])],
        ),
        (
            "Recherchiere, wie Vulkane entstehen, und daraus brauche ich zwei Dinge: eine kurze "
            "Zusammenfassung und ein Bild",
            SEARCH_FAN,
        ),
        (
            "Cerca come nascono le stelle e da lì fammi un breve riassunto e un disegno di una "
            "nebulosa",
            SEARCH_FAN,
        ),
        (
            "Zoek op hoe regenbogen ontstaan en daarmee: 1) een korte samenvatting 2) een "
            "tekening van een regenboog",
            SEARCH_FAN,
        ),
    ],
)
def test_a_lookup_before_a_lead_back_is_the_source_of_each_job(
    query: str, plan: list[tuple[str, list[str]]]
) -> None:
    assert _plan(query) == plan


TWICE = [("text_generation", []), ("translation", ["t1"]), ("image_generation", ["t1"])]
TWO_LANGUAGES = [("text_generation", []), ("translation", ["t1"]), ("translation", ["t1"])]


@pytest.mark.parametrize(
    ("query", "plan"),
    [
        (
            "Schreib ein kurzes Gedicht über den Herbstwind. Das hätte ich gern einmal auf "
            "Französisch und einmal als Aquarellbild.",
            TWICE,
        ),
        (
            "Écris une courte comptine sur la pluie. Je la veux une fois en espagnol et une "
            "fois en allemand.",
            TWO_LANGUAGES,
        ),
        (
            "Escribe un refrán inventado sobre el café. Lo quiero una vez en francés y otra "
            "vez en alemán.",
            TWO_LANGUAGES,
        ),
        (
            "Schrijf een kort versje over de zee. Ik wil het een keer in het Duits en een keer "
            "in het Frans.",
            TWO_LANGUAGES,
        ),
        (
            "Scrivi un breve augurio di compleanno per mia nonna. Lo vorrei una volta in "
            "francese e una volta in tedesco.",
            TWO_LANGUAGES,
        ),
        (
            "Escreve um pequeno poema sobre o outono. Quero-o uma vez em inglês e outra vez "
            "como ilustração.",
            TWICE,
        ),
        (
            "Write a limerick about a sleepy owl, then give it to me once in Spanish and once "
            "in Dutch.",
            TWO_LANGUAGES,
        ),
    ],
)
def test_once_and_once_makes_two_jobs_reading_the_source(
    query: str, plan: list[tuple[str, list[str]]]
) -> None:
    assert _plan(query) == plan


def test_once_as_a_conjunction_makes_no_twin() -> None:
    """ "una vez que ..." ("once you have ...") is no "once ... and once ...": the
    segmenter makes no copy of a job asked twice (while "una vez ... y una vez ..." does)."""
    parts = _segmenter().split("Una vez que tengas el resultado, escribe un poema sobre el mar")
    assert not any(s.again for s in parts)
    twice = _segmenter().split("Escribe un poema una vez en inglés y una vez en francés")
    assert [s.again for s in twice] == [True, True]


@pytest.mark.parametrize(
    ("query", "plan"),
    [
        (
            "Schreib eine kurze Einladung zum Gartenfest. Daraus bitte eine englische Fassung "
            "und ein Plakatmotiv für den Zaun.",
            [("text_generation", []), ("translation", ["t1"]), ("image_generation", ["t1"])],
        ),
        (
            "Escribe una invitación para la fiesta del barrio. Con ese texto haz una versión en "
            "inglés y una foto-ilustración para la puerta.",
            [("text_generation", []), ("translation", ["t1"]), ("image_generation", ["t1"])],
        ),
        (
            "Write a product blurb for our new lamp. From it, make a poster and also a "
            "one-sentence version for the newsletter.",
            [("text_generation", []), ("image_generation", ["t1"]), ("summarization", ["t1"])],
        ),
        (
            "Escreve uma mensagem de boas-vindas para a equipa. A partir dela faz um cartaz e "
            "uma versão curtinha para o telemóvel.",
            [("text_generation", []), ("image_generation", ["t1"]), ("summarization", ["t1"])],
        ),
        (
            "Écris une petite fable sur un renard. Ensuite je voudrais un dessin du renard, et "
            "la fable traduite en italien pour mon voisin.",
            [("text_generation", []), ("image_generation", ["t1"]), ("translation", ["t1"])],
        ),
    ],
)
def test_a_second_thing_named_without_a_verb_is_a_job(
    query: str, plan: list[tuple[str, list[str]]]
) -> None:
    assert _plan(query) == plan


def test_a_translation_by_pronoun_before_another_job_is_a_step() -> None:
    assert _plan(
        "Write a notice that the gym closes early on Friday. I'll need it in French and German "
        "for the members, plus a two-line version for the screen."
    ) == [
        ("text_generation", []),
        ("translation", ["t1"]),
        ("translation", ["t1"]),
        ("summarization", ["t1"]),
    ]


@pytest.mark.parametrize(
    "piece",
    [
        "y de ahí sácame dos cosas",
        "con eso, prepárame un correo",
        "avec ça",
        "daraus zwei Sachen",
        "da lì fammi un indovinello",
        "e com isso faz um resumo",
        "daarmee twee dingen",
        "con lo que encuentres, hazme dos cosas",
        "à partir de ça, fais deux choses",
    ],
)
def test_leads_back(piece: str) -> None:
    words = piece.split()
    assert leads_back(" ".join(words[1:]) if words[0] in ("y", "e") else piece)


@pytest.mark.parametrize(
    "piece",
    [
        "de la playa de las Teresitas escribe un poema",  # an article, no pointing word
        "con la mano izquierda",
        "using these examples: Welcome back!",  # points at what follows
        "with a cat on the roof",
        "mit einem Hund",
    ],
)
def test_leads_back_not(piece: str) -> None:
    assert not leads_back(piece)


def test_material_after_a_colon_is_no_lead_back() -> None:
    """ "using these examples:" points at the lines that follow: one job, no split."""
    assert _plan(
        "Teach the model to answer like our hotel concierge, using these examples:\n"
        "Welcome back! Your room is ready.\nOf course, breakfast is served until ten."
    ) == [("lora_training", [])]


@pytest.mark.parametrize(
    ("query", "plan"),
    [
        (
            "Zoek op wanneer de eerste fiets werd gebouwd; daarvan een gedichtje en een "
            "tekening van die fiets.",
            [("search", []), ("text_generation", ["t1"]), ("image_generation", ["t1"])],
        ),
        (
            "Busca cuándo se inventó el paraguas; de ahí un acertijo para niños y un dibujo de "
            "un paraguas antiguo.",
            [("search", []), ("text_generation", ["t1"]), ("image_generation", ["t1"])],
        ),
        (
            "Cerca quando è nata la pizza margherita; da lì un indovinello e un disegno di una "
            "pizza.",
            [("search", []), ("text_generation", ["t1"]), ("image_generation", ["t1"])],
        ),
        (
            "Schreib eine kurze Rede zum Vereinsjubiläum. Dann bitte eine Kurzfassung für den "
            "Aushang und ein Bild für die Einladung.",
            # (whether the picture for the invitation reads the speech is no part of the
            # class and either reading is fair: a near-tie of the edge model, which round
            # 15's retrain tipped; left unasserted)
            [("text_generation", []), ("summarization", ["t1"]), ("image_generation", None)],
        ),
    ],
)
def test_a_thing_named_after_a_lead_back_or_then_is_a_job(
    query: str, plan: list[tuple[str, list[str] | None]]
) -> None:
    """ "daarvan een gedichtje en ...", "da lì un indovinello e ...": the thing after the
    lead is a job (not a lead of the next one); "Dann bitte eine Kurzfassung": a short
    version, no remark."""
    got = _plan(query)
    assert [cap for cap, _ in got] == [cap for cap, _ in plan]
    assert [reads for (_, reads), (_, want) in zip(got, plan, strict=True) if want is not None] == [
        want for _, want in plan if want is not None
    ]
