"""The intent planner on clause order, shared sources, manner remarks and negated heads.

Each test is one mechanism, in wording written for it here (not from the benchmark): German
and Dutch verb-final clauses, references that hold across "and", sibling steps that read
what was looked up, lists of things to make, remarks on manner and negations before a colon.
"""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, manifest, shape_of

# ---- German and Dutch: the verb closes the clause --------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Kannst du mir ein Märchen über eine Eule schreiben und es danach ins Englische übersetzen?",
        "Wil je een verhaaltje over een schildpad schrijven en het daarna naar het Spaans vertalen?",
        "Schreib eine Glückwunschkarte für Oma und übersetz sie anschließend ins Italienische.",
    ],
)
def test_a_verb_final_step_after_und_or_en_is_a_translation_of_the_text(query: str) -> None:
    assert shape_of(query) == [("text_generation", []), ("translation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "Könntest du herausfinden, wann das erste Auto gebaut wurde, und mir darüber einen "
        "kurzen Text schreiben?",
        "Kun je opzoeken wie de stoommachine heeft uitgevonden en daar een kort verhaal over "
        "schrijven?",
        "Ik wil dat je uitzoekt hoe zonnepanelen werken en daarover een korte tekst schrijft.",
    ],
)
def test_a_lookup_then_a_verb_final_writing_step_reads_the_lookup(query: str) -> None:
    shape = shape_of(query)
    assert shape[0] == ("search", [])
    assert shape[1:] == [("text_generation", ["1"])]


def test_a_separable_verb_at_the_end_still_opens_a_step() -> None:
    shape = shape_of("Kun je opzoeken hoe oud de Dom van Utrecht is en dat in één zin samenvatten?")
    assert shape[0] == ("search", [])
    assert len(shape) == 2 and shape[1][1] == ["1"]


def test_the_model_reads_a_verb_final_clause_verb_first() -> None:
    assert PLANNER._segmenter is not None
    head, final = PLANNER._segmenter.clause_head("es danach ins Spanische übersetzen")
    assert final and head.startswith("ubersetzen ")
    head, final = PLANNER._segmenter.clause_head("Kannst du herausfinden, wer das Radio erfand")
    assert not final and head.startswith("herausfinden")
    assert PLANNER._segmenter.clause_head("Schreib ein Gedicht") == ("", False)


def test_a_capitalised_last_word_is_a_german_noun_not_a_final_verb() -> None:
    assert PLANNER._segmenter is not None
    assert PLANNER._segmenter.final_verb("dann eine kurze Zusammenfassung") is None
    assert PLANNER._segmenter.final_verb("sie dann kurz zusammenfassen") is not None


@pytest.mark.parametrize(
    "query",
    [
        "Wer hat die Dampfmaschine verbessert? Schreib einen kurzen Text über ihn.",
        "Wie bouwde de eerste windmolen? Schrijf een kort gedicht over hem.",
        "Who designed the first bicycle? Write a limerick about him.",
    ],
)
def test_him_after_a_question_reads_its_answer(query: str) -> None:
    assert shape_of(query) == [("search", []), ("text_generation", ["1"])]


def test_a_question_word_before_das_is_no_verb_on_a_result() -> None:
    shape = shape_of("Finde heraus, wer das Mikroskop erfunden hat. Zeichne dann diese Person.")
    assert shape == [("search", []), ("image_generation", ["1"])]


def test_a_lead_verb_with_its_pronoun_before_a_comma_is_no_reference_phrase() -> None:
    shape = shape_of(
        "Schreib einen Werbespruch für unsere Bäckerei und übersetze ihn ins Englische, "
        "Spanische und Polnische."
    )
    assert shape == [("text_generation", [])] + [("translation", ["1"])] * 3


# ---- fan-outs: one source, several steps ------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Look up how glaciers move, then write a short rhyme about it and paint a picture of it.",
        "Investiga cómo nacen las estrellas y, con esa información, escribe un cuento y dibuja "
        "un cartel.",
        "Pesquisa como funcionam os moinhos de vento e, com base nisso, escreve uma quadra e faz "
        "um desenho.",
    ],
)
def test_two_steps_joined_by_and_both_read_what_was_looked_up(query: str) -> None:
    assert shape_of(query) == [
        ("search", []),
        ("text_generation", ["1"]),
        ("image_generation", ["1"]),
    ]


def test_a_list_of_things_to_make_from_one_result_is_one_task_each() -> None:
    shape = shape_of(
        "Find out how lighthouses work and turn it into a haiku, a tweet and a poster."
    )
    assert shape == [
        ("search", []),
        ("text_generation", ["1"]),
        ("text_generation", ["1"]),
        ("image_generation", ["1"]),
    ]


def test_a_translation_after_a_writing_step_that_read_a_lookup_chains_to_the_writing() -> None:
    shape = shape_of(
        "Look up how bees dance, then write a short poem about it and translate it into German."
    )
    assert shape == [("search", []), ("text_generation", ["1"]), ("translation", ["2"])]


def test_a_dutch_pronominal_adverb_cut_by_a_list_still_refers() -> None:
    shape = shape_of(
        "Zoek op hoe regenbogen ontstaan en maak daar een gedicht en een tekening van."
    )
    assert shape == [
        ("search", []),
        ("text_generation", ["1"]),
        ("image_generation", ["1"]),
    ]


# ---- negations and remarks on manner ----------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "Write a wedding toast for my cousin. Keep it light and under a minute.",
        "Schrijf een afscheidsbericht voor mijn collega. Houd het kort en warm.",
        "Schreib eine Einladung zum Grillabend, halte es locker.",
        "Escribe una invitación para la cena de empresa, que sea elegante.",
        "Rédige une invitation pour l'apéro, garde-la simple.",
    ],
)
def test_a_remark_on_manner_is_no_task(query: str) -> None:
    assert shape_of(query) == [("text_generation", [])]


def test_a_remark_on_manner_stays_with_its_job() -> None:
    plan = PLANNER.plan_sync("Translate 'good luck' into Italian. Keep it informal.", manifest())
    assert [t.capability for t in plan.tasks] == ["translation"]
    assert "informal" in plan.tasks[0].description


def test_a_make_with_an_article_is_still_a_job() -> None:
    shape = shape_of("Write a slogan for a bakery and also make a cartoon that shows the shop.")
    assert [c for c, _ in shape] == ["text_generation", "image_generation"]


@pytest.mark.parametrize(
    "query",
    [
        "Ohne Bilder: schreib mir ein Rätsel über Uhren.",
        "No images: write me a riddle about clocks.",
    ],
)
def test_a_negated_phrase_before_a_colon_is_a_constraint(query: str) -> None:
    assert shape_of(query) == [("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Pas de traduction, pas d'image : juste une courte fable sur un renard.",
        "Keine Recherche, kein Bild: nur ein kurzes Gedicht über Schnee.",
    ],
)
def test_only_is_the_job_when_every_other_clause_is_negated(query: str) -> None:
    assert shape_of(query) == [("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Forget the picture, just write a riddle about owls.",
        "Vergeet de vertaling, schrijf alleen een raadsel over uilen.",
    ],
)
def test_forget_is_a_negation(query: str) -> None:
    assert shape_of(query) == [("text_generation", [])]


@pytest.mark.parametrize(
    "query",
    [
        "Write a short note for the babysitter. Don't forget to translate it into Greek.",
        "Escribe una nota para la niñera y no olvides traducirla al griego.",
        "Écris un mot pour la nounou. N'oublie pas de la traduire en grec.",
    ],
)
def test_a_reminder_is_a_job_on_the_earlier_result(query: str) -> None:
    assert shape_of(query) == [("text_generation", []), ("translation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "Traduci 'arrivederci' in francese, tedesco e olandese.",
        "Übersetze 'gute Reise' auf Englisch und auf Niederländisch.",
    ],
)
def test_a_list_of_languages_is_one_translation_each_not_new_steps(query: str) -> None:
    shape = shape_of(query)
    assert len(shape) >= 2 and all(s == ("translation", []) for s in shape)


@pytest.mark.parametrize(
    "query",
    [
        "Recherchiere, wie Ebbe entsteht, und schreib damit ein kurzes Lernblatt.",
        "Erzähl mir eine Fabel über einen Hasen. Mach davon dann eine Zusammenfassung in zwei "
        "Sätzen.",
    ],
)
def test_a_german_pronominal_adverb_reads_the_earlier_result(query: str) -> None:
    shape = shape_of(query)
    assert len(shape) == 2 and shape[1][1] == ["1"]


def test_a_language_after_daarna_is_no_step_of_its_own() -> None:
    shape = shape_of(
        "Schrijf een korte fabel over een uil en vertaal die fabel daarna naar het Pools."
    )
    assert shape == [("text_generation", []), ("translation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "Zoek uit wie de boekdrukkunst heeft uitgevonden en teken een portret van die uitvinder.",
        "Cherche qui a composé les Quatre Saisons et écris un court texte sur ce compositeur.",
    ],
)
def test_a_demonstrative_after_a_lookup_names_what_was_looked_up(query: str) -> None:
    shape = shape_of(query)
    assert shape[0] == ("search", []) and len(shape) == 2 and shape[1][1] == ["1"]


@pytest.mark.parametrize(
    "query",
    [
        "Find out how tides work. Then, using that:\n- a short rhyme\n- a poster for the class",
        "Zoek op hoe sneeuwvlokken ontstaan. Maak daarvan:\n- een kort gedicht\n- een poster",
        "Cherche comment volent les avions, puis à partir de ça : (a) un petit poème, (b) une "
        "affiche.",
    ],
)
def test_the_items_under_an_intro_that_points_back_all_read_its_source(query: str) -> None:
    shape = shape_of(query)
    assert shape[0] == ("search", [])
    assert len(shape) == 3 and all(deps == ["1"] for _, deps in shape[1:])


def test_the_items_under_an_intro_that_names_no_result_read_nothing() -> None:
    shape = shape_of("For the garden party:\n- a short invitation\n- a drawing of lanterns")
    assert all(deps == [] for _, deps in shape)


def test_a_thing_to_make_after_and_shares_the_verb_and_its_source() -> None:
    shape = shape_of("Pesquisa a história do azulejo e depois faz com isso um poema e um cartaz.")
    assert shape == [("search", []), ("text_generation", ["1"]), ("image_generation", ["1"])]


def test_it_after_a_translation_sibling_is_the_original() -> None:
    shape = shape_of(
        "Write a short fable about a crow. Then translate it into Danish and draw its cover."
    )
    assert shape == [("text_generation", []), ("translation", ["1"]), ("image_generation", ["1"])]


def test_a_dutch_er_pronominal_adverb_before_a_final_verb_reads_the_earlier_result() -> None:
    shape = shape_of("Een liedje over de herfst schrijven en daarna een tekening ervan maken.")
    assert len(shape) == 2 and shape[1] == ("image_generation", ["1"])


def test_a_german_to_do_list_of_infinitives_is_a_chain() -> None:
    shape = shape_of(
        "Bitte Folgendes:\n- kurze Fabel über einen Fuchs schreiben\n- die Fabel ins Englische "
        "übersetzen"
    )
    assert shape == [("text_generation", []), ("translation", ["1"])]


def test_a_verbless_thing_to_make_is_routed_by_the_thing() -> None:
    shape = shape_of(
        "Ik heb nodig: een korte tekst over onze bakkerij en een Franse vertaling daarvan."
    )
    assert shape == [("text_generation", []), ("translation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        'Schrijf een kort verhaal over een molen, teken een kasteel en vertaal "welterusten" '
        "naar het Engels.",
        "Escribe un poema sobre el mar, dibuja un faro y traduce 'buenas noches' al alemán.",
    ],
)
def test_a_pronoun_needs_a_whole_word_after_it_not_a_prefix(query: str) -> None:
    # "het Engels" is no "het en...", "el árbol" no "el a...": three unrelated jobs
    assert all(deps == [] for _, deps in shape_of(query))


def test_a_demonstrative_names_the_last_result_but_not_in_a_list_item() -> None:
    shape = shape_of(
        "Write two lines welcoming our new chef. Then turn that announcement into a poster."
    )
    assert shape == [("text_generation", []), ("image_generation", ["1"])]
    shape = shape_of(
        "1) who built the Colosseum 2) draw a gladiator 3) write a couplet about that arena"
    )
    assert all(deps == [] for _, deps in shape)


def test_a_list_is_a_thing_to_make_in_german_too() -> None:
    shape = shape_of(
        "Erstelle eine Liste mit vier Ideen für einen Kindergeburtstag und fasse sie dann in "
        "einem Satz zusammen."
    )
    assert shape == [("text_generation", []), ("summarization", ["1"])]
