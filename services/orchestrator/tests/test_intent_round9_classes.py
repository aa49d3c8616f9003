"""The intent planner on the node classes that blind batches 17 and 18 failed (round 9).

Each test is one mechanism, probed in wording written here (not from the benchmark), in
several of the seven languages, and asserts which tasks are planned (nodes), not which reads
which (edges): a lower-case sentence after a full stop that asks anew; a chain written with
arrows; "and then" after a pronoun, and a one-letter accented word that is no "and"; a source
and a reference after "and" lead a new step; pasted text after a remark is the material of the
ask before it, and the ask after a remark on pasted text takes it; "en" before a language;
"only the <language>" is a translation; news about oneself with "!" is small talk; a
salutation before a job is no job; an article-led list item is no action; things counted and
listed after a dash or a comma; a summary of a table is its analysis; a result named before a
language is its translation; notes announced "below" are material; a sentence that only
describes is more of the ask before it; a thing named after "and also" is a job.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, caps_of, manifest

from mesh_orchestrator.planning.intent.cues import to_language
from mesh_orchestrator.planning.intent.segment import Segment

_TABLE = "\nmonth,visits,orders\njan,1200,80\nfeb,1350,95\nmar,990,61\napr,1610,120\n"


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "find out how tall the eiffel tower is. i also want a short poem about it",
            ["search", "text_generation"],
        ),
        (
            "zoek op hoe oud de piramides zijn. daar wil ik een korte tekst over",
            ["search", "text_generation"],
        ),
        (
            "busca cuántos años vive una tortuga. a mi hijo le encantaría un dibujo de una",
            ["search", "image_generation"],
        ),
        # what follows describes the image: no second job
        (
            "quero só a imagem, sem texto. um cão a correr na praia ao pôr do sol",
            ["image_generation"],
        ),
    ],
)
def test_a_lower_case_sentence_after_a_full_stop_that_asks_anew(
    query: str, caps: list[str]
) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "a short bio for a fictional pastry chef -> cut it down to two lines -> "
            "the short one in Spanish",
            ["text_generation", "summarization", "translation"],
        ),
        pytest.param(
            "translate this from English -> German: 'the shop opens at nine'",
            ["translation"],
            marks=pytest.mark.xfail(
                strict=True, reason="no arrow split, but the fan-out makes one per language"
            ),
        ),
    ],
)
def test_a_chain_written_with_arrows(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    "query",
    [
        "pesquisa quem é Pessoa e depois escreve um poema sobre ele",
        "busca qué es un agujero de gusano y luego cuéntamelo como un cuento corto",
        '"O Mondego é o maior rio inteiramente português. Nasce na Serra da Estrela e desagua '
        'na Figueira da Foz."\nresume isso e depois faz um desenho do rio',
    ],
)
def test_and_then_after_a_pronoun_or_a_one_letter_verb_ends_the_step(query: str) -> None:
    caps = caps_of(query)  # (the model may call "cuéntamelo" a summary: two steps either way)
    assert len(caps) == 2 and caps[0] in ("search", "summarization")


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        (
            "Busca datos sobre las abejas y con esa información redáctame un párrafo para el blog",
            ["search", "text_generation"],
        ),
        (
            "Finde heraus, wann die Titanic gesunken ist, und dichte daraus einen kurzen Reim",
            ["search", "text_generation"],
        ),
    ],
)
def test_a_source_and_a_reference_after_and_lead_a_new_step(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    ("query", "cap", "marker"),
    [
        (
            "tu peux traduire ça en italien ? c'est pour mon collègue\n\n« Merci de fermer la "
            "porte du garage. Pensez à éteindre la lumière et à sortir les poubelles en partant. »",
            "translation",
            "poubelles",
        ),
        (
            "translate this into Italian for our Rome office, keep the ticket IDs unchanged:\n\n"
            "Ticket 5521 - The printer on floor 2 jams on every job. Please order a new drum and "
            "tell facilities before Monday.",
            "translation",
            "drum",
        ),
        (
            "übersetz das bitte ins Englische, lass die Namen so wie sie sind:\n\nHerr Krause "
            "hat angerufen. Bitte ruf ihn morgen zurück und schick ihm das Angebot.",
            "translation",
            "Krause",
        ),
        (
            '"Il magazzino chiude venerdì alle 16. Controllate le scorte e preparate i bancali '
            "per il ritiro di lunedì mattina.\" l'ha scritto il mio capo. fammene un riassunto.",
            "summarization",
            "bancali",
        ),
        # (round 13 passed, round 14 failed, round 15 passes, each by a retrain: 'and'/'then'
        # still split the pasted text after a blank line, and whether the pieces split off
        # are refused as acts, leaving the carrier with the translation, is a near-tie of the
        # model; kept as a plain test so that the next retrain that tips it is seen)
        pytest.param(
            "translate this into German for the warehouse crew, leave the order codes alone:\n\n"
            "Order A-113 is late. Please call the carrier and cancel the pickup if it has not "
            "left by noon, then email the customer a new date.",
            "translation",
            "carrier",
        ),
        pytest.param(
            '"Il magazzino chiude venerdì alle 16. Controllate le scorte, scrivete al fornitore '
            'e preparate i bancali per il ritiro di lunedì mattina."\n'
            "l'ha scritto il mio capo. fammene un riassunto.",
            "summarization",
            "bancali",
            marks=pytest.mark.xfail(
                strict=True, reason="a remark on a line of its own after a quotation is a step"
            ),
        ),
    ],
)
def test_pasted_text_beside_a_remark_is_the_material_of_the_ask(
    query: str, cap: str, marker: str
) -> None:
    plan = PLANNER.plan_sync(query, manifest())
    assert [t.capability for t in plan.tasks] == [cap]
    assert marker in str(plan.tasks[0].input)


@pytest.mark.parametrize(
    "clause", ["puis mets-le en portugais", "después ponlo en alemán", "zet het in het Engels"]
)
def test_a_pronoun_then_en_and_a_language_puts_an_earlier_text_in_it(clause: str) -> None:
    assert to_language(Segment(clause))


@pytest.mark.parametrize(
    "query",
    [
        'Only the Spanish please, nothing else: "The meeting moves to Friday at ten."',
        "Nur das Französische bitte, keine Erklärung: „Wir haben morgen geschlossen.“",
    ],
)
def test_only_the_language_is_its_translation(query: str) -> None:
    assert caps_of(query) == ["translation"]


@pytest.mark.parametrize(
    "query",
    [
        "I finally ran my first half marathon!!",
        "Eu passei no exame de condução hoje!",
        "Ik heb eindelijk mijn diploma gehaald!",
    ],
)
def test_news_about_oneself_is_small_talk_not_an_action(query: str) -> None:
    assert caps_of(query) == ["text_generation"]


@pytest.mark.parametrize(
    ("query", "caps"),
    [
        ("Hallo! Übersetze bitte „guten Appetit“ ins Englische.", ["translation"]),
        ('Hola! Tradúceme "buenas noches" al alemán.', ["translation"]),
        ("Buongiorno! Disegnami una volpe rossa nella neve.", ["image_generation"]),
        ("Hola, ¿qué tal estás?", ["text_generation"]),  # the greeting is all it says
    ],
)
def test_a_salutation_before_a_job_is_no_job(query: str, caps: list[str]) -> None:
    assert caps_of(query) == caps


@pytest.mark.parametrize(
    "query",
    [
        "Two separate things. First, what year did the Berlin wall fall? Second, a leaving "
        "message for Sam from the whole team, he starts at the new place on Monday.",
        "Morning! Two things today. First, who wrote Don Quixote? Second, an away message for "
        "my inbox, I'm off until the 3rd and Tom handles orders.",
    ],
)
def test_an_article_led_list_item_is_no_action(query: str) -> None:
    assert caps_of(query) == ["search", "text_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Look up how kites stay in the air. From it I need two things - a one-line teaser "
        "for the newsletter and a drawing of a kite.",
        "Scrivi una storia breve su un aquilone perso. Da lì mi servono due cose, un "
        "disegno dell'aquilone e la versione in inglese.",
    ],
)
def test_things_counted_and_listed_after_a_dash_or_a_comma(query: str) -> None:
    caps = caps_of(query)
    assert len(caps) == 3 and caps[0] in ("search", "text_generation")
    assert "image_generation" in caps[1:]


@pytest.mark.parametrize(
    "head",
    [
        "Sum these up and tell me if anything looks off:",
        "Resume estos datos y dime si hay algo raro:",
        pytest.param(
            "Fammi un riassunto di questi numeri e dimmi cosa non torna:",
            marks=pytest.mark.xfail(strict=True, reason="'fammi un riassunto' is no clitic verb"),
        ),
    ],
)
def test_a_summary_asked_before_the_analysis_of_a_table_is_that_analysis(head: str) -> None:
    assert caps_of(head + _TABLE) == ["data_analysis"]


@pytest.mark.parametrize(
    "head",
    [
        "analisa estes números e passa o resultado pra inglês",
        "analisa isto e passa o resumo pra alemão",
    ],
)
def test_a_result_named_before_a_language_is_its_translation(head: str) -> None:
    assert caps_of(head + _TABLE) == ["data_analysis", "translation"]


@pytest.mark.parametrize(
    "head",
    [
        "notes from the call below.",
        "call notes below.",  # (passes since the models retrained in round 12)
    ],
)
def test_notes_announced_below_are_material_not_jobs(head: str) -> None:
    query = (
        f"{head} write a short recap mail for the team from them\n\n"
        "- budget approved for Q3\n"
        "- Lisa: check the venue for the offsite\n"
        "- launch moved to May\n"
    )
    plan = PLANNER.plan_sync(query, manifest())
    assert [t.capability for t in plan.tasks] == ["text_generation"]
    assert "venue" in str(plan.tasks[0].input)


@pytest.mark.parametrize(
    "query",
    [
        "Paint me a fox in a snowy forest. Watercolour, soft morning light.",
        "¿Me dibujas un barco en una tormenta? Estilo óleo, con nubes oscuras",
    ],
)
def test_a_sentence_that_only_describes_is_more_of_the_ask(query: str) -> None:
    assert caps_of(query) == ["image_generation"]


def test_a_thing_named_after_and_also_is_a_job() -> None:
    query = (
        "zoek op hoe diep de oceaan is. daar wil ik een samenvatting van en ook een tekening bij"
    )
    assert caps_of(query) == ["search", "summarization", "image_generation"]
