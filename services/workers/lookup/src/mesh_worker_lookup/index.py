"""Ranked retrieval over the knowledge base: passages, their tokens and a BM25 index."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from mesh_worker_lookup.bm25 import BM25Index
from mesh_worker_lookup.kb import Passage, bundled_dir, load_passages
from mesh_worker_lookup.settings import LookupSettings
from mesh_worker_lookup.text import tokenize

SCORE_DECIMALS = 4


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.passage.source,
            "title": self.passage.title,
            "passage": self.passage.text,
            "score": self.score,
        }


TITLE_WEIGHT = 3
# Words that say what to do rather than what to find ("look up how discovery works").
INSTRUCTION_TERMS = frozenset(tokenize("look search find tell explain show give lookup"))


class SearchIndex:
    """Built once (``build``), then queried concurrently; nothing mutates after build."""

    def __init__(
        self, passages: list[Passage], documents: list[str], *, k1: float = 1.5, b: float = 0.75
    ) -> None:
        self.passages = passages
        self.documents = documents
        # The title counts as part of the passage, TITLE_WEIGHT times (a poor man's BM25F):
        # "Discovery registry > Watching" should beat a paragraph that mentions discovery once.
        self.bm25 = BM25Index(
            [tokenize(f"{p.title}\n" * TITLE_WEIGHT + p.text) for p in passages], k1=k1, b=b
        )

    @classmethod
    def build(cls, settings: LookupSettings) -> SearchIndex:
        """Read the bundled documents plus ``settings.kb_dir`` (which wins on name clashes)."""
        dirs: list[Traversable | Path] = [bundled_dir()]
        if settings.kb_dir is not None:
            dirs.append(settings.kb_dir)
        passages, documents = load_passages(dirs, max_words=settings.passage_words)
        return cls(passages, documents, k1=settings.k1, b=settings.b)

    def search(self, query: str, top_k: int = 3, min_score: float = 0.0) -> list[Hit]:
        """The best passages for ``query``, best first; empty when no word matches.

        Scores are rounded to 4 decimals, and ``min_score`` applies to the rounded score, so
        a caller that passes back a score it was shown gets that passage again."""
        terms = [t for t in tokenize(query) if t not in INSTRUCTION_TERMS] or tokenize(query)
        ranked = self.bm25.search(terms, self.bm25.n_docs)
        hits = [Hit(self.passages[i], round(s, SCORE_DECIMALS)) for i, s in ranked]
        return [h for h in hits if h.score >= min_score][:top_k]
