"""Okapi BM25 over pre-tokenized passages.

score(q, d) = sum over distinct query terms t of
    idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
with idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)), which is never negative, so a
passage that shares no term with the query scores 0 and is never returned.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


class BM25Index:
    """An inverted index built once; ``search`` is read-only and safe to share."""

    def __init__(self, docs: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1, self.b = k1, b
        self.n_docs = len(docs)
        self.lengths = [len(d) for d in docs]
        self.avgdl = (sum(self.lengths) / self.n_docs) if self.n_docs else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                self.postings.setdefault(term, []).append((i, tf))

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        """BM25 score of every passage that shares at least one term with ``query``."""
        out: dict[int, float] = {}
        if not self.avgdl:
            return out
        for term in dict.fromkeys(query):  # distinct terms, in query order
            idf = self.idf(term)
            for i, tf in self.postings.get(term, ()):
                norm = self.k1 * (1.0 - self.b + self.b * self.lengths[i] / self.avgdl)
                out[i] = out.get(i, 0.0) + idf * tf * (self.k1 + 1.0) / (tf + norm)
        return out

    def search(
        self, query: Sequence[str], top_k: int, min_score: float = 0.0
    ) -> list[tuple[int, float]]:
        """The ``top_k`` best ``(passage index, score)`` pairs with score > 0 and
        >= ``min_score``, best first; equal scores keep index order (deterministic)."""
        ranked = sorted(self.scores(query).items(), key=lambda item: (-item[1], item[0]))
        return [(i, s) for i, s in ranked if s > 0 and s >= min_score][:top_k]
