"""Queries phrased as instructions ("look up ...") rank by what they ask for, not the verb."""

from __future__ import annotations

from mesh_worker_lookup.index import SearchIndex
from mesh_worker_lookup.settings import LookupSettings


def test_instruction_words_do_not_steer_the_ranking() -> None:
    index = SearchIndex.build(LookupSettings())
    plain = [h.passage.source for h in index.search("how discovery works", top_k=3)]
    asked = [h.passage.source for h in index.search("Look up how discovery works", top_k=3)]
    assert asked == plain
    assert "discovery.md" in asked[:2]
    assert "photosynthesis.md" not in asked


def test_a_query_of_only_instruction_words_still_searches_for_them() -> None:
    index = SearchIndex.build(LookupSettings())
    assert index.search("search", top_k=1), "a lone instruction word is the query itself"
