"""A clause with no job of its own is no task, in the seven languages (round 15; every wording
here is new, none is a benchmark request). The class recurred in thirteen independently
written batches; these are its sub-mechanisms fixed this round:

* a style named with no verb after the ask ("poster style", "estilo póster", "Posterstil",
  ``context.style_only``): how the thing looks;
* how the answer should be ("a short answer is fine", "kort antwoord is prima",
  ``context.answer_manner``): no text of its own;
* "only" and a thing a task before it already makes ("image only", "juste l'image",
  ``IntentPlanner._restates``): that task, restricted;
* a statement of the speaker before the ask ("I run a small bike repair shop.", "Ho una
  piccola officina ...", ``context.states_only``): who asks;
* what follows thanks or a greeting in a request that asks nothing (a farewell, "you were
  great": ``context.chat_after_thanks``, ``IntentPlanner._chat_tail``) is one answer from the
  writer, not a second one;
* a Romance "en" before an article or "forma" is "in", not Dutch "and" ("en la nieve", "en
  forma de carta", ``segment._romance_en``).
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import context as ctx_mod

PLANNER = IntentPlanner()


def _caps(query: str) -> list[str]:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    return [t.capability for t in draft.plan.tasks]


STYLE_AFTER = [
    "Paint a fox in the snow, poster style.",
    "Pinta un zorro en la nieve, estilo póster.",
    "Peins un renard dans la neige, style affiche.",
    "Mal einen Fuchs im Schnee, Posterstil.",
    "Pinta uma raposa na neve, estilo cartaz.",
    "Dipingi una volpe nella neve, stile poster.",
    "Schilder een vos in de sneeuw, posterstijl.",
]


@pytest.mark.parametrize("query", STYLE_AFTER)
def test_a_style_after_a_picture_is_no_second_picture(query: str) -> None:
    assert _caps(query) == ["image_generation"]


def test_a_style_phrase_is_read_and_a_verb_on_a_thing_is_not() -> None:
    seg = PLANNER._segmenter.split("Draw a fox. Poster style.")[-1]  # type: ignore[union-attr]
    assert ctx_mod.style_only(seg)
    seg = PLANNER._segmenter.split("Draw a fox. A poster of a cat.")[-1]  # type: ignore[union-attr]
    assert not ctx_mod.style_only(seg)


SHORT_ANSWER = [
    "How tall is the Eiffel Tower? A short answer is fine.",
    "¿Qué altura tiene la Torre Eiffel? Una respuesta corta basta.",
    "Quelle est la hauteur de la tour Eiffel ? Une réponse courte suffit.",
    "Wie hoch ist der Eiffelturm? Eine kurze Antwort reicht.",
    "Qual é a altura da Torre Eiffel? Uma resposta curta chega.",
    "Quanto è alta la Torre Eiffel? Una risposta breve va bene.",
    "Hoe hoog is de Eiffeltoren? Een kort antwoord is genoeg.",
]


@pytest.mark.parametrize("query", SHORT_ANSWER)
def test_how_to_answer_is_no_task(query: str) -> None:
    assert _caps(query) == ["search"]


def test_a_verb_on_the_answer_is_a_task() -> None:
    # counterfactual: the answer translated is a step of its own
    assert _caps("How tall is the Eiffel Tower? Translate the answer into German.") == [
        "search",
        "translation",
    ]


ONLY_THE_PICTURE = [
    "A watercolor of a harbor at dawn. Image only, no text.",
    "Une aquarelle d'un port à l'aube. Pas de légende, juste l'image.",
    "Een aquarel van een haven bij zonsopgang. Alleen de afbeelding, geen tekst.",
    "Um desenho de um farol à noite. Só a imagem, sem texto.",
]


@pytest.mark.parametrize("query", ONLY_THE_PICTURE)
def test_only_the_thing_already_asked_is_no_second_task(query: str) -> None:
    assert _caps(query) == ["image_generation"]


def test_only_a_thing_first_still_names_its_job() -> None:
    # counterfactual: with no task before it, "only the picture" names the job
    assert _caps("Só a imagem, sem texto: um gato a dormir ao sol.") == ["image_generation"]


CONTEXT_FIRST = [
    "I run a small bike repair shop. Could you write me a short slogan for the window",
    "Tengo un pequeño taller de bicicletas. ¿Podrías escribirme un eslogan corto para el "
    "escaparate",
    "Je tiens un petit atelier de vélos. Tu pourrais m'écrire un slogan court pour la vitrine",
    "Ich habe eine kleine Fahrradwerkstatt. Könntest du mir einen kurzen Slogan für das "
    "Schaufenster schreiben",
    "Eu tenho uma pequena oficina de bicicletas. Podes escrever-me um slogan curto para a montra",
    "Ho una piccola officina di biciclette. Potresti scrivermi uno slogan breve per la vetrina",
    "Ik heb een kleine fietsenwerkplaats. Kun je een korte slogan voor de etalage voor me schrijven",
]


@pytest.mark.parametrize("query", CONTEXT_FIRST)
def test_a_statement_of_oneself_before_the_ask_is_no_task(query: str) -> None:
    assert _caps(query) == ["text_generation"]


def test_a_statement_that_names_a_thing_to_make_is_not_context() -> None:
    # counterfactual: "I need a short slogan" wants a thing; the logo is a second task
    assert _caps(
        "I run a small bike repair shop and I need a short slogan. Could you also draw a logo"
    ) == ["text_generation", "image_generation"]
    seg = PLANNER._segmenter.split("Je veux un slogan court.")[0]  # type: ignore[union-attr]
    assert not ctx_mod.states_only(seg)


ROMANCE_EN = [
    "¿Quién pintó la Mona Lisa? Escribe un pequeño texto sobre esa persona en forma de carta.",
    "Pinta un zorro en la nieve.",
]


@pytest.mark.parametrize("query", ROMANCE_EN)
def test_romance_en_before_an_article_is_in(query: str) -> None:
    caps = _caps(query)
    assert len(caps) == (2 if "?" in query else 1)


def test_dutch_en_before_los_is_still_and() -> None:
    # counterfactual: Dutch "en los daarvan" (and separately) still joins two jobs
    assert _caps(
        "schrijf een kort gedicht over de herfst, en los daarvan een samenvatting van dit: "
        "'De bibliotheek gaat in juli dicht voor een verbouwing van zes weken.'"
    ) == ["text_generation", "summarization"]


CHAT_TAIL = [
    "Thanks so much for earlier, you were great, have a nice evening",
    "¡Gracias por todo, eres un sol, hasta mañana!",
    "Merci beaucoup pour ton aide, tu es génial, bonne soirée",
    "Danke dir für die Hilfe, du bist super, schönen Abend noch",
    "Obrigado pela ajuda, foste incrível, até amanhã",
    "Grazie per l'aiuto, sei stato fantastico, a domani",
    "Bedankt voor je hulp, je bent geweldig, tot morgen",
]


@pytest.mark.parametrize("query", CHAT_TAIL)
def test_a_chat_tail_after_thanks_is_one_answer(query: str) -> None:
    assert _caps(query) == ["text_generation"]


def test_the_writer_reads_the_whole_chat() -> None:
    # where two writer tasks are merged into one, the one left reads both clauses
    draft = PLANNER.build_sync(
        "Grazie mille per la ricetta di prima, sei stato gentilissimo!", load_manifest(), None
    )[0]
    assert len(draft.plan.tasks) == 1
    assert "gentilissimo" in str(draft.plan.tasks[0].input)


def test_a_job_after_thanks_is_still_a_task() -> None:
    # counterfactual: a verb and a thing to make after the thanks
    assert "image_generation" in _caps("Thanks, you were great! Now draw me a cat on a windowsill.")
    assert ctx_mod.chat_after_thanks(PLANNER._segmenter.split("Thanks. Take care!")[-1])  # type: ignore[union-attr]
    assert not ctx_mod.chat_after_thanks(PLANNER._segmenter.split("Thanks. A poem now.")[-1])  # type: ignore[union-attr]
