"""Round 15's gate fact (``planning/intent/edges.py``, ``_names15`` / ``_asks15``).

The edge model adds no edge the rules did not make to a clause that does not ask for material
(``keep``'s gate). Held out, the gate hid references it did not read: a determiner and a noun
naming an earlier result ("Den Slogan dann als Bild", "basate sulle informazioni trovate"),
a demonstrative naming an earlier task's subject ("genau diesen Berg"), a German or Dutch
demonstrative opening the clause as its object ("Den brauche ich dann ..."), a pronoun right
before "then" ("vertaal het dan ..."). ``_asks15`` opens the gate there, in the seven
languages; the model still decides. Parallel jobs with subjects of their own ("write a poem
about the sea and draw a lighthouse") and a topic shared by two jobs ("a poem about the sea
... draw the sea") stay shut.

The requests are written for these tests (none is a benchmark request)."""

from __future__ import annotations

import pytest
from intent_cases import shape_of

from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.edges import Origin, pair_features

_PLANNER = IntentPlanner()


def _pair(first: tuple[str, str], second: tuple[str, str], joined: str = "sentence"):
    origins = [
        Origin("t1", first[0], 0, first[1], "start"),
        Origin("t2", second[0], 1, second[1], joined),
    ]
    ((_, _, f),) = pair_features(origins)
    return f


# (the earlier task, the clause that names its result or subject)
NAMES = [
    # a definite determiner and the noun the earlier clause made
    (
        ("text_generation", "Think up a tagline for a tea shop"),
        ("image_generation", "The tagline then as a poster"),
    ),
    (
        ("text_generation", "Inventa un lema para una heladería"),
        ("image_generation", "El lema luego como cartel"),
    ),
    (
        ("text_generation", "Invente une devise pour une crêperie"),
        ("image_generation", "La devise ensuite en affiche"),
    ),
    (
        ("text_generation", "Denk dir einen Werbespruch für eine Imkerei aus"),
        ("image_generation", "Den Werbespruch dann als Plakat zeichnen"),
    ),
    (
        ("text_generation", "Cria um lema para uma pastelaria"),
        ("image_generation", "O lema depois como cartaz"),
    ),
    (
        ("text_generation", "Inventa un motto per una pasticceria"),
        ("image_generation", "Il motto poi come manifesto"),
    ),
    (
        ("text_generation", "Bedenk een leus voor een bakkerij"),
        ("image_generation", "De leus daarna als affiche"),
    ),
    # a result noun after a preposition fused with its article
    (
        ("search", "Cerca notizie sui pinguini"),
        ("text_generation", "scrivi tre domande basate sulle informazioni trovate"),
    ),
    (
        ("search", "Busca datos sobre los pingüinos"),
        ("text_generation", "escribe un quiz con esa información"),
    ),
    (
        ("search", "Pesquisa sobre os pinguins"),
        ("text_generation", "escreve um quiz a partir dos dados"),
    ),
    # a demonstrative naming the earlier task's subject
    (
        ("search", "Finde den höchsten Berg Perus"),
        ("image_generation", "zeichne genau diesen Berg im Schnee"),
    ),
    (
        ("search", "Find the longest river in Peru"),
        ("image_generation", "draw a canoe on this river"),
    ),
    (
        ("search", "Trouve le plus haut volcan du Chili"),
        ("image_generation", "dessine ce volcan au coucher du soleil"),
    ),
    (
        ("search", "Zoek de hoogste berg van Peru"),
        ("image_generation", "teken deze berg in de sneeuw"),
    ),
    # a German / Dutch demonstrative as the object, its verb and subject after it
    (
        ("text_generation", "Schreib einen kurzen Text für unseren Blumenladen"),
        ("image_generation", "Den hätte ich dann gern als Plakat"),
    ),
    (
        ("text_generation", "Schrijf een korte tekst voor onze bloemenwinkel"),
        ("translation", "Die wil ik ook in het Frans"),
    ),
    # "what you found" in its tenses and contractions, "là-dessus", "diezelfde", "beidem"
    (
        ("search", "Procura como é a aurora austral"),
        ("image_generation", "faz uma imagem com base no que encontrares"),
    ),
    (
        ("search", "Busca la historia del faro de Alejandría"),
        ("summarization", "resume lo que encontraste en dos frases"),
    ),
    (
        ("search", "Cerca la storia del faro di Alessandria"),
        ("summarization", "riassumi quello che hai trovato"),
    ),
    (
        ("search", "Such die Geschichte des Leuchtturms von Alexandria"),
        ("translation", "übersetz was du gefunden hast ins Englische"),
    ),
    (
        ("search", "Cherche l'histoire du phare d'Alexandrie"),
        ("text_generation", "écris un court texte là-dessus pour des enfants"),
    ),
    (
        ("text_generation", "Beschrijf een boomhut in het bos"),
        ("image_generation", "maak van diezelfde beschrijving een tekening"),
    ),
    (
        ("search", "Recherchier, was ein Erdbeben ist"),
        ("text_generation", "erklär mir aus beidem, wie sie zusammenhängen"),
    ),
    # a pronoun right before "then"
    (
        ("text_generation", "Schrijf een gedichtje over mijn kat"),
        ("translation", "vertaal het dan naar het Duits"),
    ),
    (
        ("text_generation", "Write a short poem about my cat"),
        ("translation", "translate it then into German"),
    ),
]


@pytest.mark.parametrize(("first", "second"), NAMES)
def test_a_clause_naming_an_earlier_result_asks_for_it(first, second) -> None:
    f = _pair(first, second)
    assert f["_names15"] == 1.0 and f["_asks15"] == 1.0


# parallel jobs: subjects of their own, or a topic the earlier job wrote about
APART = [
    (("text_generation", "write a poem about the sea"), ("image_generation", "draw a lighthouse")),
    (("text_generation", "escribe un poema sobre el mar"), ("image_generation", "dibuja un faro")),
    (("text_generation", "écris un poème sur la mer"), ("image_generation", "dessine un phare")),
    (
        ("text_generation", "schreib ein Gedicht über das Meer"),
        ("image_generation", "zeichne einen Leuchtturm"),
    ),
    (("text_generation", "escreve um poema sobre o mar"), ("image_generation", "desenha um farol")),
    (("text_generation", "scrivi una poesia sul mare"), ("image_generation", "disegna un faro")),
    (
        ("text_generation", "schrijf een gedicht over de zee"),
        ("image_generation", "teken een vuurtoren"),
    ),
    # the same topic, no result named: "the sea" is what the poem is about, not the poem
    (
        ("text_generation", "write a poem about the sea"),
        ("image_generation", "draw the sea at night"),
    ),
    (
        ("text_generation", "schreib ein Gedicht über den Wald"),
        ("image_generation", "mal den Wald im Winter"),
    ),
    (
        ("text_generation", "escreve um conto sobre o rio"),
        ("image_generation", "desenha o rio ao luar"),
    ),
    # an image yields no text to read
    (
        ("image_generation", "draw a slogan on a wall"),
        ("text_generation", "the slogan then as a tweet"),
    ),
    # a German article before a noun, no V2 object
    (
        ("text_generation", "schreib ein Gedicht über Katzen"),
        ("image_generation", "den Hund zeichne ich selbst"),
    ),
]


@pytest.mark.parametrize(("first", "second"), APART)
def test_parallel_jobs_stay_apart(first, second) -> None:
    f = _pair(first, second, "and")
    assert f["_names15"] == 0.0 and f["_asks15"] == f["_asks13"]


PARALLEL = [
    "write a poem about the sea and draw a lighthouse",
    "escribe un poema sobre el mar y dibuja un faro",
    "écris un poème sur la mer et dessine un phare",
    "schreib ein Gedicht über das Meer und zeichne einen Leuchtturm",
    "escreve um poema sobre o mar e desenha um farol",
    "scrivi una poesia sul mare e disegna un faro",
    "schrijf een gedicht over de zee en teken een vuurtoren",
    "write a poem about the sea and draw the sea at night",
]


@pytest.mark.parametrize("query", PARALLEL)
def test_parallel_jobs_plan_apart(query: str) -> None:
    assert shape_of(query, planner=_PLANNER) == [
        ("text_generation", []),
        ("image_generation", []),
    ]
