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
