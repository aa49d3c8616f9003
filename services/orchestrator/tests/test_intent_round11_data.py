"""A lookup before a clause that asks for the analysis of the table it carries keeps its
lookup: the table is that clause's ("Look up X. Analyze this CSV: <rows>"). The lookup, given a
table, reads weakly as its analysis, and the analysis's own words alone ("Analyze this CSV") are
a near-tie, so a retrained model once moved the table to the lookup and lost the lookup (found
by the end-to-end tests, not by a benchmark)."""

from __future__ import annotations

import pytest
from intent_cases import shape_of

_ROWS = "city,temp,rain\nOslo,4,80\nRome,18,40\nCairo,30,2\nLima,19,1\n"


@pytest.mark.parametrize(
    "query",
    [
        f"Look up the speed of light. Analyze this CSV:\n{_ROWS}",
        f"Find the population of Peru. Analyse this table:\n{_ROWS}",
        f"Busca la altura del Everest. Analiza esta tabla:\n{_ROWS}",
        f"Cherche la date de la prise de la Bastille. Analyse ce tableau :\n{_ROWS}",
        f"Schlag nach, wie hoch die Zugspitze ist. Analysiere diese Tabelle:\n{_ROWS}",
    ],
)
def test_a_lookup_before_the_analysis_of_its_table_stays_a_lookup(query: str) -> None:
    assert shape_of(query) == [("search", []), ("data_analysis", [])]
