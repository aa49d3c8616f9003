import asyncio

import pytest
from pydantic import ValidationError

from mesh_contracts import TaskRequest
from mesh_worker_lookup import LookupInput, LookupWorker


@pytest.fixture(scope="module")
def worker():
    w = LookupWorker()
    asyncio.run(w.startup())  # the index is read-only afterwards: one per module is enough
    return w


async def ask(worker, **inp):
    async def no_emit(event):
        raise AssertionError(f"a static worker emitted {event!r}")

    return await worker.run(TaskRequest(), LookupInput(**inp), no_emit)


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("How does a worker register with discovery and keep its lease?", "discovery.md"),
        ("What is the highest mountain on Earth?", "geography-rivers-mountains.md"),
        ("Who invented the World Wide Web at CERN?", "internet-history.md"),
        ("resume a run with Last-Event-ID", "runs-and-replay.md"),
        ("how do I add a new worker to the mesh", "adding-a-worker.md"),
        ("chlorophyll and the Calvin cycle", "photosynthesis.md"),
        ("GPU VRAM in the descriptor resources", "gpu-workers.md"),
        ("speed of light in metres per second", "physics-constants.json"),
    ],
)
async def test_the_right_document_ranks_first(worker, query, source):
    out = await ask(worker, query=query)
    assert out["results"][0]["source"] == source


async def test_results_carry_source_title_passage_and_descending_scores(worker):
    out = await ask(worker, query="streaming modes tokens messages", top_k=5)
    assert out["query"] == "streaming modes tokens messages"
    assert len(out["results"]) == 5
    assert out["message"] == "5 passages found"
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    first = out["results"][0]
    assert set(first) == {"source", "title", "passage", "score"}
    assert first["title"].startswith("Streaming modes")


async def test_a_query_with_no_match_returns_no_results_and_says_so(worker):
    out = await ask(worker, query="xylophone quasar zeppelin")
    assert out["results"] == []
    assert out["message"] == "no results: no passage in the knowledge base matches the query"
    out = await ask(worker, query="the of and")
    assert out["results"] == [] and "only stop words" in out["message"]


async def test_min_score_drops_weak_passages(worker):
    everything = await ask(worker, query="discovery", top_k=20)
    cut = everything["results"][2]["score"]
    out = await ask(worker, query="discovery", top_k=20, min_score=cut)
    assert [r["score"] for r in out["results"]] == [r["score"] for r in everything["results"][:3]]
    out = await ask(worker, query="discovery", min_score=1e6)
    assert out["results"] == [] and "score >= 1000000" in out["message"]


@pytest.mark.parametrize(
    "inp",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 2001},
        {"query": "a", "top_k": 0},
        {"query": "a", "top_k": 21},
    ],
)
def test_out_of_range_input_is_rejected_by_the_schema(inp):
    with pytest.raises(ValidationError):
        LookupInput(**inp)


def test_descriptor_declares_a_static_search_agent():
    d = LookupWorker().describe()
    assert d.agent_id == "lookup" and d.capabilities == ["search"]
    assert d.streaming_mode == "static" and d.invoke_path == "/invoke"
