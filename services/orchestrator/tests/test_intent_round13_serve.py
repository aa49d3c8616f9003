"""Round 13: what the mesh can serve and what a single ask is, by class, in the seven languages.

Classes read from the dev failures of the eight earlier test splits (batch101-108) and batches
25-26 (bench/planning/README.md, "Round 13: what the mesh can serve"); the phrasings here are
new ones of each class, none of a failing request's wording.
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.serve import untranslated

PLANNER = IntentPlanner()


def _caps(query: str) -> list[str]:
    return [t.capability for t in PLANNER.plan_sync(query, load_manifest()).tasks]


def _refused(query: str) -> str:
    with pytest.raises(PlanningFailed) as err:
        PLANNER.plan_sync(query, load_manifest())
    return str(err.value)


# Class 1: live data the knowledge base cannot know: a match just played, a delay now, a stock
# index now, rain or snow soon, the user's parcel named by a compound ("DHL-Paket").
@pytest.mark.parametrize(
    "query",
    [
        "who won the Celtics match yesterday?",
        "¿cómo quedó el partido del Betis ayer?",
        "le match de l'OM hier soir, ça a fini comment ?",
        "wie ist das Spiel von Bayern gestern ausgegangen?",
        "como terminou a partida do Porto ontem?",
        "com'è finita la partita della Juve ieri sera?",
        "hoe is de wedstrijd van Ajax gisteravond afgelopen?",
        "¿mi tren a Valencia va con retraso ahora mismo?",
        "Hat mein ICE nach Köln gerade Verspätung?",
        "il mio treno per Milano è in ritardo adesso?",
        "how is the FTSE doing right now?",
        "will it rain in Lisbon this week?",
        "Wo ist mein Hermes-Paket gerade?",
    ],
)
def test_live_data_is_refused(query: str) -> None:
    _refused(query)


@pytest.mark.parametrize(
    "query",
    [
        "suggest a board game for tonight",
        "write a short poem about the rain",
        "explain how the offside rule works in a football match",
    ],
)
def test_no_live_data_without_a_live_time(query: str) -> None:
    assert _caps(query)


def test_live_part_left_out_the_rest_served() -> None:
    assert _caps("Who won the Celtics match last night? Also draw a cat playing basketball.") == [
        "image_generation"
    ]


# Class 2: acts only the user's own devices, files and accounts do: a folder cleared out, a
# player skipped, a video cut with the verb last, pasted code run, the money left in an account.
@pytest.mark.parametrize(
    "query",
    [
        "empty my Trash folder please",
        "svuota la cartella Download del mio computer",
        "maak de map Downloads op mijn laptop leeg",
        "play the next track",
        "metti la mia playlist del mattino",
        "speel het volgende liedje",
        "Kannst du aus meinen Urlaubsfotos ein Video schneiden?",
        "Kun je een filmpje van deze clips maken?",
        "ejecuta este script y dime qué imprime: print(2**10)",
        "exécute ce code et dis-moi le résultat : print(sum(range(5)))",
        "how much money is left in my checking account?",
        "wie viel Geld ist noch auf meinem Konto übrig?",
    ],
)
def test_users_own_acts_are_refused(query: str) -> None:
    _refused(query)


def test_money_knowledge_is_no_account() -> None:
    assert _caps("how much money should I keep in a savings account?")


# Class 3: after an act no agent performs, a clause joined to it that says how the act is done
# is part of it, no second task.
@pytest.mark.parametrize(
    "query",
    [
        "Edit my vacation video and add some music to it",
        "empty my Trash folder, anything from last year can go",
    ],
)
def test_how_an_act_is_done_is_part_of_it(query: str) -> None:
    _refused(query)


def test_a_job_beside_an_act_stays() -> None:
    assert _caps("Turn off the heating and write me a haiku about winter") == ["text_generation"]


# Class 4: a request that says not to translate keeps its language: no translation task.
@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "shorten this but keep it in French, don't translate it: \"Le musée ouvrira ses "
            "portes à 9h. L'entrée est gratuite le dimanche. Les groupes doivent réserver.\"",
            ["summarization"],
        ),
        (
            'Fasse das zusammen, aber nicht übersetzen, es bleibt auf Englisch: "The library '
            'opens at nine. Entry is free on Sundays. Groups must book ahead."',
            ["summarization"],
        ),
        (
            "Translate this into German and don't translate the brand names: \"Try the new "
            'Coca-Cola Zero at Starbucks."',
            ["translation"],
        ),
    ],
)
def test_kept_language(query: str, caps: list[str]) -> None:
    assert _caps(query) == caps


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("summarise it, don't translate it", True),
        ("resúmelo sin traducirlo", True),
        ("résume-le sans le traduire", True),
        ("fass es zusammen, übersetze es nicht", True),
        ("resume isso sem traduzir", True),
        ("riassumilo senza tradurlo", True),
        ("vat het samen, niet vertalen", True),
        ("translate it, don't summarise it", False),
        ("don't forget to translate it", False),
        ("et n'oublie pas de le traduire en anglais", False),
        ("vergiss nicht, es ins Englische zu übersetzen", False),
        ("keine Bilder, keine Suche, nur ins Englische übersetzen", False),
        ("no pictures, just translate it into Dutch", False),
    ],
)
def test_untranslated(query: str, said: bool) -> None:
    assert untranslated(query) is said


# Class 5: a sentence that only describes the picture or text just asked for is no second task.
@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Draw a lighthouse on a cliff at dusk. Stormy sea, gulls, dramatic clouds.",
            ["image_generation"],
        ),
        (
            "Dessine-moi un renard dans la neige. Style aquarelle, couleurs douces.",
            ["image_generation"],
        ),
        (
            "Write a limerick about a lazy cat. Then translate it into Italian.",
            ["text_generation", "translation"],
        ),
        ("Write a short poem about autumn. Who wrote The Raven?", ["text_generation", "search"]),
    ],
)
def test_a_description_is_no_second_task(query: str, caps: list[str]) -> None:
    assert _caps(query) == caps


def test_a_further_step_is_no_description() -> None:
    assert _caps(
        "Write a slogan for a flower shop. Then draw the shop sign around that slogan."
    ) == [
        "text_generation",
        "image_generation",
    ]
