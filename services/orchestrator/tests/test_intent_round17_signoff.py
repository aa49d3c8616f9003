"""Round 17: a farewell that closes a request is no task (`IntentPlanner._sign_off`).

The retrained intent model of round 17 read Portuguese and Dutch farewells ("até amanhã",
"tot morgen") as a picture or a text of their own; a farewell after a job is chat, in any of
the seven languages, whatever the model routes it to. Counterfactuals: a farewell that is the
text to work on, or a thing to make named after it, stays a task.
"""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.context import sign_off
from mesh_orchestrator.planning.intent.segment import Segment

PLANNER = IntentPlanner()


def _caps(query: str) -> list[str]:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    return [t.capability for t in draft.plan.tasks]


SIGNED_OFF = [
    ("Paint a lighthouse at dusk. Bye for now!", "image_generation"),
    ("Pinta un faro al atardecer. ¡Hasta pronto!", "image_generation"),
    ("Peins un phare au crépuscule. À bientôt !", "image_generation"),
    ("Mal einen Leuchtturm in der Dämmerung. Tschüss!", "image_generation"),
    ("Desenha um farol ao anoitecer. Até logo!", "image_generation"),
    ("Desenha um farol ao anoitecer. Obrigado, até amanhã!", "image_generation"),
    ("Dipingi un faro al tramonto. A presto!", "image_generation"),
    ("Teken een vuurtoren in de schemering. Tot morgen!", "image_generation"),
    ("Vat dit samen: 'De vergadering is verplaatst naar vrijdag.' Doei!", "summarization"),
]


@pytest.mark.parametrize(("query", "cap"), SIGNED_OFF)
def test_a_farewell_after_a_job_is_no_task(query: str, cap: str) -> None:
    assert _caps(query) == [cap]


def test_the_farewell_is_no_task_even_when_the_model_routes_it() -> None:
    # "até logo" names no logo: the words past the farewell are read for a thing to make
    assert sign_off(Segment(instruction="Até logo!"))
    assert sign_off(Segment(instruction="tot ziens en bedankt"))
    assert not sign_off(Segment(instruction="take care of the invoices"))
    assert not sign_off(Segment(instruction="bye, and make me a poster"))


@pytest.mark.parametrize(
    "query",
    [
        "Traduci in inglese: 'a domani'",
        "Write a goodbye card that says see you soon",
    ],
)
def test_a_farewell_to_work_on_stays_a_task(query: str) -> None:
    assert len(_caps(query)) == 1
