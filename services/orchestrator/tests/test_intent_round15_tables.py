"""A step asked after the analysis of a pasted table keeps its own task, in the seven languages
(round 15; every wording here is new, none is a benchmark request). The class recurred in six
independently written batches: a question about the table and "and then write ..." were read as
one analysis, or a German or Dutch chain of clauses each closed by its infinitive was one job.

* "and then" of the seven languages leads a job (``segment._then_led`` in ``opens_job``): "Y
  luego escríbeme ...", "Ensuite écris-moi ...", "Danach bitte eine kurze Nachricht ...", "E
  poi scrivimi ...", "E depois escreve-me ...", "En schrijf daarna ..." open a step as "And then
  write ..." does, so the table goes to the question before it, not the step to the table;
* German and Dutch clauses each closed by an infinitive and joined by "und"/"en" ("die Zahlen
  analysieren und das Ergebnis ... formulieren", "analyseren en er daarna ... van maken voor
  ...") are two steps (``Segmenter.final_pair``); a phrase of how before the closing infinitive
  ("in einem Satz zusammenfassen", "in een paar zinnen samenvatten") opens a job
  (``Segmenter.final_verb``);
* the table a chain's first step carries is its analysis when the model, given the table, ranks
  the analysis first among the jobs (``planner.IntentPlanner._route``), whatever verb it does
  not know ("durchrechnen").
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import segment as seg_mod

PLANNER = IntentPlanner()
TABLE = "\nfiliale,umsatz,kunden\nnord,1200,310\nsued,980,260\nost,1750,120\nwest,1100,300"


def _plan(query: str) -> list[tuple[str, bool]]:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    return [(t.capability, bool(t.input.get("data"))) for t in draft.plan.tasks]


QUESTION_THEN = [
    # en: the control ("And then" is a courtesy word to ``tokens`` already)
    "Which branch looks off here? And then draft a short note for the regional manager.",
    "¿Qué sucursal se sale de lo normal? Y luego redáctame una nota breve para el gerente.",
    "Quelle agence sort du lot ? Ensuite rédige-moi un petit message pour la direction.",
    "Welche Filiale fällt aus dem Rahmen? Danach bitte eine kurze Nachricht an die Leitung.",
    "Quale filiale è anomala? E poi scrivimi un breve messaggio per il responsabile.",
    "Qual filial foge ao padrão? E depois escreve-me uma mensagem curta para a gerência.",
    "Welk filiaal valt uit de toon? En schrijf daarna een kort bericht voor de directie.",
]


@pytest.mark.parametrize("query", QUESTION_THEN)
def test_a_step_after_a_question_about_the_table_is_its_own_task(query: str) -> None:
    assert _plan(query + TABLE) == [("data_analysis", True), ("text_generation", False)]


@pytest.mark.parametrize("query", QUESTION_THEN[1:])
def test_without_the_then_lead_the_step_was_folded_into_the_analysis(
    query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seg_mod, "_then_led", lambda words: [])
    assert [c for c, _ in _plan(query + TABLE)] == ["data_analysis"]


CLOSED_BY_INFINITIVES = [
    (
        "Kannst du die Zahlen analysieren und das Ergebnis anschließend in einer knappen Mail "
        "an den Vorstand formulieren?",
        ["data_analysis", "text_generation"],
    ),
    (
        "Kun je deze omzetcijfers analyseren en er daarna een kort verslag van maken voor de "
        "directie?",
        ["data_analysis", "text_generation"],
    ),
    (
        "Bitte einmal durchrechnen (Summen, Schnitt) und dann in einem Satz zusammenfassen:",
        ["data_analysis", "summarization"],
    ),
    (
        "Kun je de cijfers doorrekenen en daarna in een paar zinnen samenvatten?",
        ["data_analysis", "summarization"],
    ),
    # the other five languages put the verb first: the same two steps, already so
    (
        "Could you analyse these figures and afterwards turn the result into a short memo?",
        ["data_analysis", "text_generation"],
    ),
    ("Analiza estas cifras y después escribe un correo breve a la dirección.", None),
    ("Analyse ces chiffres et ensuite écris un court mail à la direction.", None),
    ("Analizza questi numeri e poi scrivi una breve mail alla direzione.", None),
    ("Analisa estes números e depois escreve um email curto à direção.", None),
]


@pytest.mark.parametrize(("query", "expected"), CLOSED_BY_INFINITIVES)
def test_clauses_closed_by_their_infinitives_are_two_steps(
    query: str, expected: list[str] | None
) -> None:
    caps = [c for c, _ in _plan(query + TABLE)]
    assert caps == (expected or ["data_analysis", "text_generation"])
    assert _plan(query + TABLE)[0] == ("data_analysis", True)


@pytest.mark.parametrize(("query", "expected"), CLOSED_BY_INFINITIVES[:2])
def test_without_the_infinitive_pair_the_chain_was_one_job(
    query: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seg_mod.Segmenter, "final_pair", lambda self, before, after: False)
    assert len(_plan(query + TABLE)) == 1


@pytest.mark.parametrize(
    "query",
    [
        # nouns, not infinitives: a capitalised German noun, a Dutch plural, one object
        "Schreib ein kurzes Gedicht über das Wandern und das Schwimmen",
        "Schrijf een kort verhaal over katten en honden",
        "Maak een poster van de oude molens en de dijken",
    ],
)
def test_nouns_ending_like_infinitives_split_nothing(query: str) -> None:
    assert len(_plan(query)) == 1


def test_german_translation_then_summary_without_a_table() -> None:
    caps = [
        c
        for c, _ in _plan(
            "Kannst du den Brief ins Englische übersetzen und danach in drei Sätzen zusammenfassen?"
        )
    ]
    assert caps == ["translation", "summarization"]
