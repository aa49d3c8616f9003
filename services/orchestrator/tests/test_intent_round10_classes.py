"""The intent planner on the node classes that blind batches 19 and 20 failed (round 10).

Each test is one mechanism, probed in wording written here (not from the benchmark), in
several of the seven languages, and asserts which tasks are planned (nodes): a question put
to the assistant about itself is small talk; a text named by a demonstrative or "same" and
put into a language is a translation step of its own; "a version" with no verb says its job
(shorter: a summary; in a language: a translation); a list item led by a question word is a
lookup, and a thing to make after a short line starts a line of its own; what only the
user's own accounts or channels carry out is an action no agent performs; two question words
joined by "and" are one question; a short sentence that only says what the result is for is
no job.
"""

from __future__ import annotations

import pytest
from intent_cases import caps_of

from mesh_orchestrator.planning.deterministic import PlanningFailed


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("haha ok fair enough. and do you ever get bored?", ["text_generation"]),
        ("Buenas noches. ¿Y vosotros nunca dormís?", ["text_generation"]),
        ("Salut ! Vous prenez des vacances parfois, vous ?", ["text_generation"]),
        pytest.param(
            "Sag mal, hast du eigentlich Hobbys?",
            ["text_generation"],
            marks=pytest.mark.xfail(
                strict=True, reason="the model is sure of a lookup (0.67): no rule overrides it"
            ),
        ),
        ("Hoi! Hebben jullie ook weleens weekend?", ["text_generation"]),
        ("Ciao! E tu come passi le serate?", ["text_generation"]),
        # a fact asked through "you": still a lookup
        ("Do you know who wrote Don Quixote?", ["search"]),
        ("Tu sais combien de lunes a Jupiter ?", ["search"]),
    ],
)
def test_a_question_to_the_assistant_about_itself_is_small_talk(
    query: str, caps: list[str]
) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Redacta un aviso para los vecinos sobre el corte de agua y pásame también ese "
            "aviso en alemán",
            ["text_generation", "translation"],
        ),
        (
            "Schreib eine Einladung zum Sommerkonzert unseres Chors. Mach daraus ein Plakat, "
            "und dieselbe Einladung noch auf Polnisch",
            ["text_generation", "image_generation", "translation"],
        ),
        (
            "Cria uma frase de boas-vindas para o nosso hostel. A seguir pega nela e põe-na "
            "em francês",
            ["text_generation", "translation"],
        ),
        (
            "Mets-moi ça en anglais, c'est pour le site : « Ouvert tous les jours sauf le "
            "lundi, réservation conseillée le week-end. »",
            ["translation"],
        ),
        (
            "Zet dit even in het Duits, het is voor de website: 'Dagelijks geopend, behalve "
            "op maandag. Reserveren is aan te raden.'",
            ["translation"],
        ),
    ],
)
def test_a_text_named_by_a_demonstrative_or_same_put_into_a_language(
    query: str, caps: list[str]
) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Write a toast for my parents' anniversary, and then a much shorter version of it",
            ["text_generation", "summarization"],
        ),
        (
            "Scrivimi una mail per il padrone di casa sul riscaldamento rotto. Poi una "
            "versione più breve.",
            ["text_generation", "summarization"],
        ),
        (
            "Écris un petit discours pour le départ de Julie. Avec ce discours, fais deux "
            "choses : une version en espagnol et une autre plus courte.",
            ["text_generation", "translation", "summarization"],
        ),
        (
            "Schreib ein Gedicht über den ersten Schnee und danach eine kürzere Fassung davon",
            ["text_generation", "summarization"],
        ),
        (
            "Write a short bio of a fictional jazz pianist. Then a shorter version of it, "
            "and a Dutch version.",
            ["text_generation", "summarization", "translation"],
        ),
    ],
)
def test_a_version_with_no_verb_says_its_job(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "- scrivi un limerick sul caffè\n- traduci in tedesco 'buon appetito'\n"
            "- com'è nato il tiramisù?",
            ["text_generation", "translation", "search"],
        ),
        (
            "short toast for my sister's wedding (she's marrying a chef)\n"
            "a drawing of two swans on a lake\nwho invented the bicycle",
            ["text_generation", "image_generation", "search"],
        ),
        (
            "un poema corto para la jubilación de mi profesora (35 años enseñando)\n"
            "un dibujo de un faro en medio de una tormenta\ncuándo se fundó Salamanca",
            ["text_generation", "image_generation", "search"],
        ),
    ],
)
def test_a_question_or_a_thing_to_make_on_a_list_line(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    "query",
    [
        "Mándale un WhatsApp a mi madre diciendo que llego tarde a cenar",
        "Stuur een sms naar mijn broer dat ik later kom",
        "Controlla il saldo della mia carta e dimmi se è passato l'addebito",
        "Préviens-moi quand mon colis sera livré",
        # (a price watched over time: live data, ``live.py``, round 11)
        "Avisa-me quando o preço do ouro passar os 2000 dólares",
        "Zeig mir live den Spielstand von Bayern gegen Dortmund",
        "Envoie un message sur Slack à toute l'équipe pour dire que la réunion est annulée",
    ],
)
def test_what_only_the_users_accounts_or_channels_carry_out_is_refused(query: str) -> None:
    with pytest.raises(PlanningFailed):
        caps_of(query)


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Write a birthday poem for my dad and then post it on my Facebook wall",
            ["text_generation"],
        ),
        (
            "Escreve uma canção de embalar para o meu filho e depois grava-a num mp3",
            ["text_generation"],
        ),
        (
            "Traduce al inglés y compártelo en mi LinkedIn: «Hoy empiezo una nueva etapa»",
            ["translation"],
        ),
        # writing the message is the writer's job; sending it is not asked
        ("Write an SMS to my sister saying I'm running late", ["text_generation"]),
        # a job inside the clause as well: "but first make it nicer" (one clause: "but first"
        # splits nothing; since round 12's retrain the model's writing wins over its action,
        # a near tie, 0.33 against 0.32)
        (
            "Send this to my team on Slack, but first make it friendlier: 'stand-up moved to 10'",
            ["text_generation"],
        ),
    ],
)
def test_the_servable_part_beside_an_act_on_the_users_channels(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Busca dónde y cuándo se celebraron los primeros Juegos Olímpicos y hazme un "
            "resumen de dos líneas",
            ["search", "summarization"],
        ),
        (
            "Zoek op wanneer en waar de eerste trein reed, en schrijf er een kort gedicht over",
            ["search", "text_generation"],
        ),
        ("Cherche quand et où est né Victor Hugo", ["search"]),
    ],
)
def test_two_question_words_joined_by_and_are_one_question(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Kun je 'prettige kerstdagen' in het Italiaans zetten? Voor het kaartje van "
            "onze buurvrouw.",
            ["translation"],
        ),
        (
            "Escribe un haiku sobre la lluvia de otoño. Es para el tablón del portal.",
            ["text_generation"],
        ),
        (
            "Traduis « bonne route » en grec. C'est pour la carte de mon voisin.",
            ["translation"],
        ),
        (
            "Zeichne einen Fuchs im Schnee. Für die Weihnachtskarte meiner Oma.",
            ["image_generation"],
        ),
        pytest.param(
            "Kun je 'goede reis' in het Spaans zetten? Voor de poster in de gang.",
            ["translation"],
            marks=pytest.mark.xfail(
                strict=True, reason="the model is sure of an image for 'the poster' (0.65)"
            ),
        ),
    ],
)
def test_a_sentence_that_only_says_what_the_result_is_for_is_no_job(
    query: str, caps: list[str]
) -> None:
    assert caps_of(query) == caps
