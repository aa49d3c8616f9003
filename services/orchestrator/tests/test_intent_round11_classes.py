"""The intent planner on the classes round 11 found: four that retraining with blind batches
21-22 flipped, and the node classes those batches failed.

Each test is one mechanism, probed in wording written here (not from the benchmark), in
several of the seven languages, and asserts which tasks are planned (nodes):

* a remark about oneself before a job the model is sure of is context, also when the model
  reads it as weak writing (what it makes of small talk);
* "tell me whether ..." beside a table is its analysis, also when read as writing;
* a sentence that only describes, after a picture, is more of the picture whichever of
  picture or text the unsure model reads in it;
* a verb of turning ("turn that note into a poster"): what the text becomes decides the job;
* a thing wished for after a lead reference ("From that, I want a summary ...") is a job;
* "only" after a wish ("I want only the picture") names the job;
* a summary of a table's figures after the table is its analysis;
* a head that counts things ("I need three things 1) ... 2) ... 3) ...") shares no job with
  its parts, so a part led by a question word is a lookup.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, caps_of, shape_of

from mesh_orchestrator.planning.intent.rules import Routed, _questions_about_data
from mesh_orchestrator.planning.intent.segment import Segment

_ROWS = "\nweek,visits,signups\n1,400,12\n2,420,15\n3,380,9\n4,910,44\n"


@pytest.mark.parametrize(
    "query",
    [
        "I'm a teacher with thirty kids and I always lose track of birthdays. "
        "Write me a cheerful little rhyme for the class calendar.",
        "Ich bin Busfahrer und stehe jeden Tag um vier auf. "
        "Schreib mir ein kurzes Gedicht über den Sonnenaufgang.",
        "Je suis boulangère et je travaille la nuit. Écris-moi un petit poème sur le pain chaud.",
    ],
)
def test_a_remark_about_oneself_before_a_sure_job_is_context(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


@pytest.mark.parametrize(
    "ask",
    [
        "tell me whether signups follow the visits",
        "sag mir, ob die Anmeldungen den Besuchen folgen",
        "dimmi se le iscrizioni seguono le visite",
        "vertel me of de aanmeldingen de bezoeken volgen",
    ],
)
def test_tell_me_whether_read_as_writing_beside_a_table_is_its_analysis(ask: str) -> None:
    # the routing as a retrained model left it: the table's analysis, and the question
    # beside it read as weak writing (the rule reads the model given the table)
    PLANNER.warm()
    assert PLANNER._model is not None
    table = Routed(Segment("look at these figures", data=[_ROWS]), "data_analysis", 0.7)
    told = Routed(Segment(ask, joined="and"), "text_generation", 0.2)
    _questions_about_data([table, told], PLANNER._model)
    assert told.capability == "data_analysis"


def test_a_writing_job_beside_a_table_stays_writing() -> None:
    PLANNER.warm()
    assert PLANNER._model is not None
    table = Routed(Segment("look at these figures", data=[_ROWS]), "data_analysis", 0.7)
    note = Routed(Segment("write a short note for the team", joined="and"), "text_generation", 0.9)
    _questions_about_data([table, note], PLANNER._model)
    assert note.capability == "text_generation"


@pytest.mark.parametrize(
    "query",
    [
        "Draw me a lighthouse on a cliff. Pencil lines, grey winter sea.",
        "Dibújame un faro en un acantilado. Trazo de lápiz, mar gris de invierno.",
        "Zeichne mir einen Leuchtturm auf einer Klippe. Bleistiftstriche, graues Wintermeer.",
    ],
)
def test_a_describing_sentence_after_a_picture_is_more_of_it(query: str) -> None:
    assert caps_of(query) == ["image_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Write a short notice about the street party. Then turn that notice into a poster.",
        "Escribe un aviso corto sobre la mudanza de la oficina. Luego convierte ese aviso en "
        "un cartel.",
        "Écris une petite annonce pour la fête du quartier. Ensuite transforme cette annonce "
        "en affiche.",
        "Escreve um aviso curto sobre a reunião de pais. Depois transforma esse aviso num cartaz.",
        "Scrivi un breve avviso per la festa del paese. Poi trasforma quell'avviso in un poster.",
    ],
)
def test_what_a_text_is_turned_into_decides_the_job(query: str) -> None:
    assert caps_of(query) == ["text_generation", "image_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Look up how coral reefs grow. From that, I want a two-line summary for my notes and, "
        "on its own, a bright picture of a reef at noon.",
        "Pesquisa como nascem os vulcões. Com isso, quero um resumo para a aula e também uma "
        "imagem de uma erupção.",
        "Busca cómo se forman los arrecifes. Con eso, quiero un resumen corto para clase y "
        "también una imagen de un arrecife.",
    ],
)
def test_a_thing_wished_for_after_a_lead_reference_is_a_job(query: str) -> None:
    assert caps_of(query) == ["search", "summarization", "image_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Voglio solo il disegno, niente testo: un gatto astronauta che beve il tè.",
        "Quiero solo la imagen, sin texto: un pulpo tocando el piano.",
        "I want only the picture, no words: a penguin riding a tram.",
    ],
)
def test_only_after_a_wish_names_the_job(query: str) -> None:
    assert caps_of(query) == ["image_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Visits and signups per week. Summarise the figures and point out the odd week, then "
        "write a two-line note for the team." + _ROWS,
        "Besuche und Anmeldungen pro Woche. Fass die Zahlen zusammen und nenne die auffällige "
        "Woche, dann schreib eine kurze Notiz fürs Team." + _ROWS,
    ],
)
def test_a_summary_of_a_tables_figures_is_its_analysis(query: str) -> None:
    assert caps_of(query) == ["data_analysis", "text_generation"]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Ho bisogno di tre cose 1) un disegno di un faro 2) la traduzione in inglese di "
            '"buon appetito" 3) quanto è profondo il lago di Garda',
            ["image_generation", "translation", "search"],
        ),
        (
            "I need three things 1) a drawing of a windmill 2) a Spanish translation of "
            '"good luck" 3) how deep Lake Baikal is',
            ["image_generation", "translation", "search"],
        ),
        (
            "Preciso de três coisas 1) um desenho de um moinho 2) a tradução para inglês de "
            '"bom proveito" 3) qual é a altura do Everest',
            ["image_generation", "translation", "search"],
        ),
    ],
)
def test_a_head_that_counts_things_shares_no_job_with_its_parts(
    query: str, caps: list[str]
) -> None:
    assert caps_of(query) == caps


def test_the_parts_of_a_shared_head_still_take_it() -> None:
    # "With that, write (a) ... and (b) ...": the head's verb is every part's
    shape = shape_of(
        "Find out who painted the Night Watch. With that, write (a) a tweet and (b) a poem."
    )
    assert [c for c, _ in shape] == ["search", "text_generation", "text_generation"]


# Left (xfail): what batches 21-22 showed that no rule here fixes.


@pytest.mark.parametrize(
    "query",
    [
        # fixed by the questions of taste put to the assistant (plan-serve11's ``chat.py``)
        "hoi! wat vind jij eigenlijk mooier, de zee of de bergen?",
        "ciao! tu cosa preferisci, il mare o la montagna?",
    ],
)
def test_a_preference_asked_of_the_assistant_is_small_talk(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


# Left (xfail), continued.


@pytest.mark.xfail(
    strict=True, reason="a full stop after a number ends no sentence (it could number a list)"
)
def test_a_sentence_that_ends_on_a_number_ends() -> None:
    query = "Look up Voyager 2. I want the findings turned into a short quiz."
    assert caps_of(query) == ["search", "text_generation"]


@pytest.mark.xfail(strict=True, reason="'Then, ...' inside a pasted text starts a step of its own")
def test_a_then_inside_pasted_prose_is_more_of_the_paste() -> None:
    query = (
        "Fais-moi un résumé en deux points :\n"
        "Le club a tenu son assemblée jeudi. D'abord, la cotisation reste à 40 euros. "
        "Ensuite, le terrain sera refait en avril, avec trois semaines de fermeture. "
        "Enfin, un nouveau trésorier a été élu à main levée."
    )
    assert caps_of(query) == ["summarization"]
