"""A run of things asked by name ("a picture for it, a two-line summary, and the fable in
Spanish") is one task per thing, in the seven languages (round 15; every wording here is new,
none is a benchmark request). The class recurred in ten independently written batches: things
named after a comma or "and" were folded into the task before them.

* a thing named with its article is no lead pointing back (``segment._named_first`` in
  ``opens_job``): "a three-line summary, and ..." was read as "Based on that, ..." because "a"
  is also a Portuguese pronoun, and what followed it decided alone;
* a text named with its definite article and put into a language opens a step
  (``segment._named_into_language``): "and the fable in Spanish", "y la fábula en inglés", "et
  la fable en anglais", "und die Fabel auf Englisch", "e la favola in inglese", "e a fábula em
  inglês", "en de fabel in het Engels"; "the weather in German cities" does not;
* a thing named in a list is no greeting (``rules._continuations``): "a short quiz" is not
  "Hi!", so the four words after it ("a simple diagram picture") are a thing of their own.
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import rules as rules_mod
from mesh_orchestrator.planning.intent import segment as seg_mod

PLANNER = IntentPlanner()
FOUR = ["text_generation", "image_generation", "summarization", "translation"]


def _caps(query: str) -> list[str]:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    return [t.capability for t in draft.plan.tasks]


THINGS_NAMED = [
    "Write a fable about a lazy cat. After that I'd like a picture for it, a two-line summary, "
    "and the fable in Spanish.",
    "Escribe una fábula sobre un gato perezoso. Después quiero un dibujo, un resumen de dos "
    "líneas y la fábula en inglés.",
    "Écris une fable sur un chat paresseux. Ensuite je veux un dessin, un résumé de deux lignes "
    "et la fable en anglais.",
    "Schreib eine Fabel über eine faule Katze. Danach möchte ich ein Bild, eine Zusammenfassung "
    "in zwei Zeilen und die Fabel auf Englisch.",
    "Scrivi una favola su un gatto pigro. Poi vorrei un disegno, un riassunto di due righe e la "
    "favola in inglese.",
    "Escreve uma fábula sobre um gato preguiçoso. Depois quero um desenho, um resumo de duas "
    "linhas e a fábula em inglês.",
    "Schrijf een fabel over een luie kat. Daarna wil ik een tekening, een samenvatting van twee "
    "regels en de fabel in het Engels.",
]


@pytest.mark.parametrize("query", THINGS_NAMED)
def test_each_thing_named_after_the_first_job_is_a_task(query: str) -> None:
    assert _caps(query) == FOUR


@pytest.mark.parametrize("query", [THINGS_NAMED[0], THINGS_NAMED[5]])
def test_without_the_named_thing_rules_the_things_were_folded(
    query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seg_mod, "_named_first", lambda words: False)
    monkeypatch.setattr(seg_mod, "_DEFINITE_ART", frozenset())
    assert len(_caps(query)) < 4


@pytest.mark.parametrize(
    ("piece", "opens"),
    [
        ("the story in German", True),
        ("la storia in tedesco", True),
        ("l'histoire en allemand", True),
        ("het verhaal in het Duits", True),
        ("la traduzione in spagnolo di questa frase", True),
        ("the weather in German cities", False),
        ("la playa en España", False),
    ],
)
def test_a_text_put_into_a_language_opens_a_step(piece: str, opens: bool) -> None:
    PLANNER.warm()
    assert PLANNER._segmenter is not None
    assert PLANNER._segmenter.opens_job(piece) is opens


def test_a_thing_named_in_a_list_is_no_greeting(monkeypatch: pytest.MonkeyPatch) -> None:
    query = "Look up how tides work. From that: a lesson plan, a short quiz, and a simple diagram picture."
    assert _caps(query)[-1] == "image_generation"
    monkeypatch.setattr(rules_mod, "_deliverable", lambda words: False)
    assert "image_generation" not in _caps(query)


@pytest.mark.parametrize(
    "query",
    [
        "hi! how are you?",
        "Hello there, hope you are well",
        "Ciao! Come stai oggi?",
    ],
)
def test_short_chat_is_still_one_answer(query: str) -> None:
    assert _caps(query) == ["text_generation"]
