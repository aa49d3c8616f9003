"""A registered capability the model does not know, named outright in a clause, wins that clause
unless the model is sure of a job of its own (round 13: "tide tables for Brest" went to the
writer when the retrained model read it as writing at exactly 0.50)."""

from __future__ import annotations

from typing import Any

import pytest
from intent_cases import agent

from mesh_contracts import manifest_of
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.planner import _names_capability

_PLANNER = IntentPlanner()


def _manifest() -> Any:
    text = {"prompt": {"type": "string"}}
    return manifest_of(
        [
            agent("writer", ["text_generation"], text),
            agent("tides", ["tide_tables"], text, "Tide tables: high and low water for a harbour."),
            agent("cards", ["recipe_cards"], text, "Recipe cards: ingredients and steps."),
        ],
        index=1,
    )


@pytest.mark.parametrize(
    ("query", "cap"),
    [
        ("tide tables for Brest", "tide_tables"),
        ("tide tables for Saint-Malo next week", "tide_tables"),
        ("recipe cards for a vegan lunch", "recipe_cards"),
        ("a recipe card for lemon cake", "recipe_cards"),
    ],
)
def test_a_capability_named_outright_wins_its_clause(query: str, cap: str) -> None:
    plan = _PLANNER.plan_sync(query, _manifest())
    assert [t.capability for t in plan.tasks] == [cap]


def test_a_job_the_model_is_sure_of_keeps_it_though_the_name_is_there() -> None:
    plan = _PLANNER.plan_sync("Write a short poem about tide tables and the sea", _manifest())
    assert [t.capability for t in plan.tasks] == ["text_generation"]


@pytest.mark.parametrize(
    ("cap", "text", "named"),
    [
        ("tide_tables", "tide tables for Brest", True),
        ("tide_tables", "the tide table for Brest", True),
        ("recipe_cards", "recipe card for lemon cake", True),
        ("tide_tables", "tides at Brest", False),
        ("tide_tables", "a table of the high water", False),
        ("", "anything", False),
    ],
)
def test_a_name_is_named_when_every_word_of_it_is_there(cap: str, text: str, named: bool) -> None:
    assert _names_capability(cap, text) is named
