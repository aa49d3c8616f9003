"""A clause names a table's column in the singular or the plural, in any of the seven
languages: the stem drops the plural ending and then the last vowel, so "stanza"/"stanze",
"prodotto"/"prodotti" and "venta"/"ventas" meet (round 14: the retrained model left an Italian
"trova le stanze che sembrano strane" beside "stanza,temperatura,..." to this rule)."""

import pytest

from mesh_orchestrator.planning.intent.rules import names_column


@pytest.mark.parametrize(
    ("clause", "header"),
    [
        ("trova le stanze che sembrano strane", "stanza,temperatura"),
        ("quali prodotti vendono meno", "prodotto,vendite"),
        ("cuáles ventas bajaron", "mes,venta"),
        ("welche Zahlen fallen auf", "zahl,jahr"),
        ("which lines look odd", "line,units"),
        ("quais salas estão estranhas", "sala,umidade"),
        ("welke kamers wijken af", "kamer,vocht"),
    ],
)
def test_a_clause_names_a_column_in_the_singular_or_the_plural(clause: str, header: str) -> None:
    assert names_column(clause, [header + "\nA,1"])


@pytest.mark.parametrize(
    ("clause", "header"),
    [
        ("trova le notizie di oggi", "stanza,temperatura"),
        ("find the latest news", "line,units"),
        ("busca el clima", "sal,mes"),  # a name under four letters names nothing
    ],
)
def test_a_clause_that_names_no_column_names_none(clause: str, header: str) -> None:
    assert not names_column(clause, [header + "\nA,1"])


# ---- a question the model is unsure of, routed to its best job ------------------------------
# A retrained model read "will it rain in Lisbon this week?" as nothing, with translation and
# search tied just below (0.16 each, round 14): the unsure question went to its best job, the
# translation, and the live-data rule (which reads lookups) never saw it. A translation is
# chosen there only where a language is named, as it is for the model's own top.


def _fake_reading(pm, none: float, translation: float, search: float):  # type: ignore[no-untyped-def]
    """A fake model reading (unit test only): every text read with these three weights."""
    import numpy as np

    def probabilities(self, texts):  # type: ignore[no-untyped-def]
        rows = np.full((len(texts), len(pm.CLASSES)), 0.01, dtype=np.float32)
        rows[:, pm.CLASSES.index("none")] = none
        rows[:, pm.CLASSES.index("translation")] = translation
        rows[:, pm.CLASSES.index("search")] = search
        return rows

    return probabilities


def test_an_unsure_question_goes_to_no_translation_when_it_names_no_language() -> None:
    from bench.planning.__main__ import load_manifest
    from mesh_orchestrator.planning.deterministic import PlanningFailed
    from mesh_orchestrator.planning.intent import IntentPlanner
    from mesh_orchestrator.planning.intent import planner as pm

    planner = IntentPlanner()
    planner.plan_sync("hello", load_manifest())  # loaded before the fake
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pm.IntentModel, "probabilities", _fake_reading(pm, 0.3, 0.26, 0.24))
        with pytest.raises(PlanningFailed, match="live data"):
            planner.plan_sync("will it snow in Oslo tomorrow?", load_manifest())
        plan = planner.plan_sync("Search for the oldest bridge in Rome", load_manifest())
        assert [t.capability for t in plan.tasks] == ["search"]
