"""Pasted text and lists, in the seven languages (round 17; every wording here is new, none is
a benchmark request). The classes fixed, each seen in at least three independently written
dev batches:

* a rank after a quotation that closed the rank before it ("First, summarise this: \\"...\\"
  Second, draw ...", "Erstens: ... „...“ Zweitens: ..."; dev batches t, t9, 32): each rank is
  a job, not more of the pasted text (``lists._ORDINAL``);
* a step on pasted text joined by "and then" to the next, merged into one task (batches t,
  t7, t12): an object pronoun before the next step's verb ("e poi lo traduci", "y luego la
  traduces") opens a step (``Segmenter.opens_step``), and a short step on "das"/"dit" whose
  verb the grammar reads ("Fass das kurz zusammen und übersetz es dann ...") is a step, not a
  phrase pointing back that leads the next (``segment._led_by_source``).

* notes pasted under an ask, one a line, read as jobs (batches t3, t8, t11): bullets longer
  than twelve words ("- Dana: ... will look up fees by Friday") and lines under an ask that
  ends with its question mark ("Kannst du das Protokoll zusammenfassen?" and the minutes) are
  the ask's material when most of them open no job (``lists._listed_lines``).

And hostile input: a request longer than the memo's ``MEMO_CHARS`` was normalized afresh by
each of the dozen readers that ask for it whole (``model._long_normalized`` keeps the last one):
the characters normalized are counted, not timed.
"""

from __future__ import annotations

import contextlib

import pytest

from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import model as intent_model
from mesh_orchestrator.planning.intent.lists import number_ordinals

from .intent_cases import caps_of, manifest, shape_of

_TEXT = (
    "The bakery on Lindenstraat will open an hour later on Mondays from next month. The "
    "Sunday market stall stays as it is. Orders for cakes now need two days notice."
)

RANKS_AFTER_QUOTE = [
    f'First, sum up this notice: "{_TEXT}" Second, draw a loaf of bread wearing a scarf.',
    f"Primero, resume este aviso: «{_TEXT}» Segundo, dibuja una barra de pan con bufanda.",
    f"Premièrement, résume cet avis : « {_TEXT} » Deuxièmement, dessine une baguette en écharpe.",
    f"Erstens: fass diesen Aushang zusammen „{_TEXT}“ Zweitens: mal ein Brot mit Schal.",
    f'Primeiro, resume este aviso: "{_TEXT}" Segundo, desenha um pão com cachecol.',
    f'Primo, riassumi questo avviso: "{_TEXT}" Secondo, disegna una pagnotta con la sciarpa.',
    f'Ten eerste, vat dit bericht samen: "{_TEXT}" Ten tweede, teken een brood met een sjaal.',
]


@pytest.mark.parametrize("query", RANKS_AFTER_QUOTE)
def test_a_rank_after_a_closing_quotation_is_a_job_of_its_own(query: str) -> None:
    assert sorted(caps_of(query)) == ["image_generation", "summarization"]


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ('First, fix this: "a b c." Second, draw it', 2),
        ("Erstens: kürz das „x y z“ Zweitens: mal es", 2),
        ("Primero, resume «x y». Segundo, traduce", 2),
        ('He said "no" second time around', 0),  # no first rank: no list
    ],
)
def test_ranks_are_counted_past_a_closing_quotation(text: str, marks: int) -> None:
    numbered = number_ordinals(text)
    assert numbered.count("(1) ") + numbered.count("(2) ") == marks


PRONOUN_THEN_VERB = [
    # (the pasted text is long: one task reads it, the next works on that task's result)
    f"¿Me haces un resumen de este aviso y luego lo traduces al inglés? «{_TEXT}»",
    f"Tu me fais un résumé de cet avis et puis tu le traduis en anglais ? « {_TEXT} »",
    f'Mi fai un riassunto di questo avviso e poi lo traduci in inglese? "{_TEXT}"',
    f'Fazes-me um resumo deste aviso e depois o traduzes para inglês? "{_TEXT}"',
]


@pytest.mark.parametrize("query", PRONOUN_THEN_VERB)
def test_then_a_pronoun_and_a_verb_is_a_step_on_the_last_result(query: str) -> None:
    assert shape_of(query) == [("summarization", []), ("translation", ["1"])]


STEP_ON_THIS = [
    f"Fass das kurz zusammen und übersetz es dann ins Englische: „{_TEXT}“",
    f'Vat dit kort samen en vertaal het daarna naar het Engels: "{_TEXT}"',
]


@pytest.mark.parametrize("query", STEP_ON_THIS)
def test_a_short_step_on_this_is_not_a_phrase_that_points_back(query: str) -> None:
    assert shape_of(query) == [("summarization", []), ("translation", ["1"])]


@pytest.mark.parametrize(
    "query",
    [
        "With that in hand, write a short note to the bakery and draw a cake",
        "Con eso, escríbeme una nota corta para la panadería y dibuja una tarta",
    ],
)
def test_a_phrase_led_by_its_source_still_leads(query: str) -> None:
    assert sorted(caps_of(query)) == ["image_generation", "text_generation"]


NOTES_UNDER_AN_ASK = [
    "Summarise these notes from the parents' evening:\n"
    "- Mr Ortiz: the school trip moves to the second week of May because the coach was double booked\n"
    "- the canteen will try a new supplier and look up prices for organic fruit before June\n"
    "- nobody volunteered yet to paint the new mural in the hall, ask again next meeting",
    "¿Me resumes el acta de la reunión de vecinos?\n"
    "Punto 1: la cuota de la comunidad sube diez euros al mes a partir de enero por la obra del tejado.\n"
    "Punto 2: el presidente buscará presupuestos para pintar la escalera antes del verano.\n"
    "Punto 3: la próxima reunión será el último jueves de marzo a las ocho de la tarde.",
    "Tu peux résumer le compte rendu du club ?\n"
    "Point 1 : la cotisation annuelle passe à quarante euros pour couvrir la location de la salle.\n"
    "Point 2 : Julie cherchera un nouveau traiteur pour la fête de fin de saison en juin.\n"
    "Point 3 : la prochaine réunion aura lieu le premier mardi d'avril à dix-neuf heures.",
    "Kannst du die Notizen vom Elternabend zusammenfassen?\n"
    "Punkt 1: Der Ausflug wird in die zweite Maiwoche verschoben, weil der Bus doppelt gebucht war.\n"
    "Punkt 2: Die Mensa testet einen neuen Lieferanten und sucht Preise für Bio-Obst heraus.\n"
    "Punkt 3: Für das Wandbild in der Aula hat sich noch niemand gemeldet, nächstes Mal erneut fragen.",
    "Resume estas notas da reunião de condomínio:\n"
    "- a quota mensal sobe dez euros a partir de janeiro por causa das obras no telhado do prédio\n"
    "- o administrador vai procurar orçamentos para pintar as escadas antes do verão chegar\n"
    "- a próxima reunião fica marcada para a última quinta-feira de março às oito da noite",
    "Riassumi questi appunti della riunione di condominio:\n"
    "- la quota mensile aumenta di dieci euro da gennaio per i lavori sul tetto del palazzo\n"
    "- l'amministratore cercherà dei preventivi per tinteggiare le scale prima dell'estate\n"
    "- la prossima riunione è fissata per l'ultimo giovedì di marzo alle otto di sera",
    "Kun je de notulen van de ledenvergadering samenvatten?\n"
    "Punt 1: de contributie stijgt volgend jaar met tien euro om de huur van de zaal te betalen.\n"
    "Punt 2: Sanne zoekt een nieuwe cateraar voor het eindfeest van het seizoen in juni.\n"
    "Punt 3: de volgende vergadering is op de eerste dinsdag van april om half acht.",
]


@pytest.mark.parametrize("query", NOTES_UNDER_AN_ASK)
def test_notes_under_an_ask_are_its_material_not_jobs(query: str) -> None:
    assert caps_of(query) == ["summarization"]


def _normalized_chars(planner: IntentPlanner, query: str, seen: list[int]) -> int:
    for memo in ("_normalized", "_tokenized", "_long_normalized", "_long_tokenized"):
        getattr(intent_model, memo, {}).clear()  # (b384c1a had no long memo)
    seen[0] = 0
    with contextlib.suppress(PlanningFailed):  # (refused or not, the planner read it)
        planner.plan_sync(query, manifest())
    return seen[0]


@pytest.mark.parametrize("unit", ["x then ", "cat but ", "es dann ", "le chat mais "])
def test_connectives_that_split_nothing_normalize_a_few_characters_each(
    unit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    planner = IntentPlanner()
    planner.warm()
    seen = [0]
    inner = intent_model._normalize

    def counting(text: str) -> str:
        seen[0] += len(text)
        return inner(text)

    monkeypatch.setattr(intent_model, "_normalize", counting)
    query = (unit * (8000 // len(unit) + 1))[:8000]
    # (on b384c1a: 40-63 characters normalized per character of 8,000 in the whole plan, 8-13
    # in the segmenter: the whole request, past the memo's ``MEMO_CHARS``, normalized afresh
    # by each of its readers; 1.3-4.6 here)
    assert _normalized_chars(planner, query, seen) <= 6 * len(query)
