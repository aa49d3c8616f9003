"""The intent planner on the classes that blind batches 15 and 16 failed (round 8).

Each test is one mechanism, probed in wording written here (not from the benchmark), in
several of the seven languages: a table with semicolons or tabs is inline data; pasted text
that asks nothing is the material of the ask after it, and a quotation ends the material of
a colon head; "both X and Y" names two jobs; a head that counts "things" lists jobs whatever
its verb; quotations each with a language are a translation each; a short line of nine
words is a list item, not a wrapped line; French and Spanish "en" before a count is "in";
how to answer and "something <quality>" are remarks; "and" before a reference that leads;
a "then" inside a German clause; after a make/give verb, the thing made decides the job;
"simply" is "only"; running a "Python-Skript" is an action.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, agent, manifest, shape_of

from mesh_orchestrator.planning.clauses import extract_data
from mesh_orchestrator.planning.deterministic import PlanningFailed

_SEMICOLONS = "\nweek;visitors;sales\n1;1200;80\n2;1350;95\n3;990;61\n4;1610;120\n"
_TABS = "\nweek\tvisitors\tsales\n1\t1200\t80\n2\t1350\t95\n3\t990\t61\n"
_REVIEW = (
    '"Ordered the blue kettle for our camper. It boils fast and the handle stays cool, but '
    "the lid rattles on bumpy roads and the whistle is far too quiet to hear from outside. "
    'Still good value for the money, I would buy it again for home use."'
)


@pytest.mark.parametrize("table", [_SEMICOLONS, _TABS])
def test_a_table_with_semicolons_or_tabs_is_inline_data(table: str) -> None:
    text, blocks = extract_data("do more visitors mean more sales?" + table)
    assert len(blocks) == 1 and blocks[0].count("\n") >= 3
    assert "1350" not in text


@pytest.mark.parametrize(
    "query",
    [
        _SEMICOLONS.strip() + "\ndo more visitors mean more sales?",
        _SEMICOLONS.strip() + "\nsind mehr Besucher auch mehr Verkäufe?",
        "settimana;visitatori;vendite\n1;1200;80\n2;1350;95\n3;990;61\nquanto vendo in media?",
    ],
)
def test_a_question_after_a_semicolon_table_is_one_analysis_of_it(query: str) -> None:
    plan = PLANNER.plan_sync(query, manifest())
    assert [t.capability for t in plan.tasks] == ["data_analysis"]
    assert "1350" in str(plan.tasks[0].input.get("data"))


@pytest.mark.parametrize(
    "query",
    [
        _REVIEW + "\n\nwhat's the gist of this review, in one line",
        "Mi vecino me ha mandado esto:\n\n" + _REVIEW + "\n\nresúmemelo en una frase",
    ],
)
def test_pasted_text_that_asks_nothing_is_the_material_of_the_ask_after_it(query: str) -> None:
    plan = PLANNER.plan_sync(query, manifest())
    assert [t.capability for t in plan.tasks] == ["summarization"]
    assert "lid rattles" in str(plan.tasks[0].input)


def test_a_quotation_ends_the_material_of_a_colon_head() -> None:
    query = (
        "Some answers our shop assistants gave:\n"
        '- "Thanks so much for waiting, your new strap is in the post and should reach you '
        'by Friday."\n'
        '- "Sorry about the scratch! I have sent a replacement glass, no need to return '
        'the old one."\n'
        "Fine-tune an adapter on these so it learns our tone, then use it to answer a "
        "buyer whose watch stopped after a week."
    )
    trainer = agent("trainer", ["lora_training"], {"data": {"type": "string"}})
    assert shape_of(query, manifest(trainer)) == [("lora_training", []), ("text_generation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "Look up how bees make honey and use that for both a tweet and a short poem.",
        "Zoek op hoe bijen honing maken en gebruik dat voor zowel een tweet als een gedichtje.",
        "Cerca come le api fanno il miele e usalo sia per un tweet che per una poesia breve.",
    ],
)
def test_both_x_and_y_names_two_jobs(query: str) -> None:
    assert shape_of(query) == [
        ("search", []),
        ("text_generation", ["1"]),
        ("text_generation", ["1"]),
    ]


def test_both_x_and_y_after_a_text_are_two_steps_on_it() -> None:
    shape = shape_of(
        "Schrijf een korte tekst over onze nieuwe fietsbel en maak daar daarna zowel een "
        "samenvatting van één zin als een Franse versie van."
    )
    assert shape == [("text_generation", []), ("summarization", ["1"]), ("translation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "Busca qué es la aurora boreal. Con eso quiero dos cosas: un poema corto y un dibujo "
        "para niños.",
        "Find out what the northern lights are. From that I want two things: an explanation "
        "for my niece and a drawing of them.",
    ],
)
def test_a_head_that_counts_things_lists_jobs_whatever_its_verb(query: str) -> None:
    shape = shape_of(query)
    assert [c for c, _ in shape] == ["search", "text_generation", "image_generation"]
    assert shape[1][1] == ["1"] and shape[2][1] == ["1"]


@pytest.mark.parametrize(
    "query",
    [
        "translate 'good night' into French and 'see you soon' into German",
        "mi servono due traduzioni: 'buona notte' in francese e 'a presto' in tedesco",
        "Übersetze „gute Nacht“ ins Spanische und „bis bald“ ins Italienische",
    ],
)
def test_quotations_each_with_a_language_are_a_translation_each(query: str) -> None:
    plan = PLANNER.plan_sync(query, manifest())
    assert [t.capability for t in plan.tasks] == ["translation", "translation"]
    assert len({t.input["text"] if "text" in t.input else str(t.input) for t in plan.tasks}) == 2


def test_a_short_line_of_nine_words_is_a_list_item_not_a_wrapped_line() -> None:
    query = (
        "a few quick ones\na watercolour of a fox in the snowy woods\nhow tall is the Matterhorn"
    )
    assert [c for c, _ in shape_of(query)] == ["image_generation", "search"]


@pytest.mark.parametrize(
    "query",
    [
        "Quel est le plus long fleuve d'Europe ? Décris-le ensuite en quelques phrases pour "
        "des enfants.",
        "Quelle est la plus haute tour de Paris ? Décris-la ensuite en quelques mots dans le "
        "style d'une carte postale.",
    ],
)
def test_french_en_before_a_count_is_in_not_and(query: str) -> None:
    assert shape_of(query) == [("search", []), ("text_generation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        _SEMICOLONS.strip() + "\nos visitantes explicam as vendas? me responde de forma curta",
        "Wie hoch ist der Mont Blanc? Antworte mir auf einfache Weise.",
    ],
)
def test_how_to_answer_with_a_clitic_or_a_manner_phrase_is_a_remark(query: str) -> None:
    assert len(shape_of(query)) == 1


@pytest.mark.parametrize(
    "query",
    [
        "Necesito un brindis para la jubilación de mi jefa, algo divertido pero con cariño",
        "Mi serve un discorso per il matrimonio di mia cugina, qualcosa di tenero ma con "
        "un po' di ironia",
    ],
)
def test_something_of_a_quality_after_the_job_says_what_it_is_like(query: str) -> None:
    assert shape_of(query) == [("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        '[{"mes":"enero","gasto":120},{"mes":"febrero","gasto":135},{"mes":"marzo","gasto":98}]'
        "\n¿cuál es el gasto medio? y con eso escríbeme un consejo para ahorrar",
        _SEMICOLONS.strip() + "\nwie entwickeln sich die Verkäufe? und schreib mir danach "
        "drei Sätze für das Team dazu",
    ],
)
def test_a_step_after_an_analysis_reads_it_through_and_or_an_inner_then(query: str) -> None:
    assert shape_of(query) == [("data_analysis", []), ("text_generation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "averigua por qué hay mareas y después hazme un dibujo que lo explique",
        "renseigne-toi sur les éclipses puis fais-moi un dessin qui les explique",
        "look up how volcanoes erupt, then give me a drawing that shows it",
    ],
)
def test_after_a_make_verb_the_thing_made_decides_the_job(query: str) -> None:
    assert shape_of(query) == [("search", []), ("image_generation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "geen tekst nodig, gewoon een plaatje: een vuurtoren in de storm bij nacht",
        "sem texto, simplesmente uma imagem: um farol numa tempestade à noite",
        "no text needed, simply a picture: a lighthouse in a storm at night",
    ],
)
def test_simply_a_thing_names_the_job(query: str) -> None:
    assert shape_of(query) == [("image_generation", [])]


@pytest.mark.parametrize(
    "query", ["Führe bitte dieses Python-Skript aus.", "Voer dit Python-script even uit."]
)
def test_running_a_hyphenated_script_is_an_action(query: str) -> None:
    with pytest.raises(PlanningFailed):
        PLANNER.plan_sync(query, manifest())
