import math

import pytest

from mesh_worker_lookup.bm25 import BM25Index

DOCS = [["cat", "sat", "mat"], ["dog", "sat", "log"], ["cat", "cat", "cat", "chased", "dog"]]


def test_score_matches_the_bm25_formula_by_hand():
    index = BM25Index(DOCS, k1=1.5, b=0.75)
    avgdl = 11 / 3
    idf_cat = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    expected = idf_cat * 1 * 2.5 / (1 + 1.5 * (1 - 0.75 + 0.75 * 3 / avgdl))
    assert index.scores(["cat"])[0] == pytest.approx(expected)


def test_rarer_terms_and_more_occurrences_rank_higher():
    index = BM25Index(DOCS)
    assert [i for i, _ in index.search(["cat"], top_k=3)] == [2, 0]
    # "log" is in one doc only, so it outweighs "sat", which is in two
    assert index.search(["sat", "log"], top_k=1)[0][0] == 1


def test_no_shared_term_gives_no_results_and_min_score_filters():
    index = BM25Index(DOCS)
    assert index.search(["bird"], top_k=3) == []
    best = index.search(["cat"], top_k=3)
    assert index.search(["cat"], top_k=3, min_score=best[0][1]) == best[:1]


def test_repeated_query_terms_count_once_and_ties_keep_index_order():
    index = BM25Index([["a", "b"], ["a", "b"]])
    assert index.search(["a", "a", "b"], top_k=2) == index.search(["a", "b"], top_k=2)
    assert [i for i, _ in index.search(["a"], top_k=2)] == [0, 1]


def test_bad_parameters_are_refused_and_empty_index_finds_nothing():
    with pytest.raises(ValueError, match="0 <= b <= 1"):
        BM25Index(DOCS, b=2.0)
    assert BM25Index([]).search(["cat"], top_k=3) == []
