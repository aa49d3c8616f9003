"""The lookup worker: answers a query with the best-ranked knowledge-base passages."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mesh_contracts import AgentDescriptor, Skill, StreamingMode, TaskRequest
from mesh_contracts.capabilities import SEARCH
from mesh_worker.usage import report_usage
from mesh_worker.worker import Emit, Worker
from mesh_worker_lookup.index import SearchIndex
from mesh_worker_lookup.settings import LookupSettings
from mesh_worker_lookup.text import tokenize

DEFAULT_PORT = 8003


class LookupInput(BaseModel):
    """The request's ``input``."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2_000)
    top_k: int = Field(default=3, ge=1, le=20)
    min_score: float | None = Field(default=None, ge=0)

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must contain at least one non-space character")
        return value


class LookupWorker(Worker[LookupInput]):
    """Static worker: ``run`` returns ``{"query", "results", "message"}`` and emits nothing.

    ``results`` holds up to ``top_k`` ``{"source", "title", "passage", "score"}`` objects,
    best first; it is empty (and ``message`` says why) when nothing matches.
    """

    Input = LookupInput

    def __init__(self, settings: LookupSettings | None = None) -> None:
        self.settings = settings or LookupSettings()
        self._index: SearchIndex | None = None

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            raise RuntimeError("LookupWorker.startup() has not run: the index is not built")
        return self._index

    async def startup(self) -> None:
        """Build the index once; a bad document in ``LOOKUP_KB_DIR`` fails start-up."""
        self._index = await asyncio.to_thread(SearchIndex.build, self.settings)

    def health(self) -> dict[str, Any]:
        if self._index is None:
            return {"index": "not built"}
        return {"documents": len(self._index.documents), "passages": len(self._index.passages)}

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="lookup",
            name="Knowledge Lookup",
            description=(
                "Searches a small knowledge base (how the agent mesh works, plus general "
                "science, geography and computing history) and returns the best-matching "
                "passages ranked by BM25, with their source and score."
            ),
            capabilities=[SEARCH],
            streaming_mode=StreamingMode.STATIC,
            skills=[
                Skill(
                    id="kb_search",
                    description="Ranked passages from the knowledge base for a query.",
                    tags=["search", "retrieval", "bm25", "knowledge-base", "facts"],
                    examples=[
                        "How does a worker register with discovery?",
                        "What are the streaming modes?",
                        "Who invented the World Wide Web?",
                        "What is the highest mountain?",
                    ],
                ),
                Skill(
                    id="mesh_docs",
                    description="Answers about the mesh: discovery, orchestrator, workers, runs.",
                    tags=["mesh", "documentation", "how-to"],
                    examples=["How do I add a worker?", "How does replay with Last-Event-ID work?"],
                ),
            ],
            tags=["search", "knowledge-base"],
            timeout_seconds=10.0,
            max_concurrency=16,
        )

    async def run(self, task: TaskRequest, inp: LookupInput, emit: Emit) -> dict[str, Any]:
        # no model and no GPU: its usage says 0 tokens and 0 GPU-seconds, and its wall time
        report_usage(prompt_tokens=0, completion_tokens=0, gpu_s=0.0)
        hits = self.index.search(inp.query, inp.top_k, inp.min_score or 0.0)
        results = [h.as_dict() for h in hits]
        if results:
            message = f"{len(results)} passage{'s' if len(results) > 1 else ''} found"
        elif not tokenize(inp.query):
            message = "no results: the query has no searchable words (only stop words)"
        elif inp.min_score:
            message = f"no results: no passage matches the query with score >= {inp.min_score}"
        else:
            message = "no results: no passage in the knowledge base matches the query"
        return {"query": inp.query, "results": results, "message": message}
