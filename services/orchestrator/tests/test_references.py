"""References to a thread's earlier turns ("that", "the second one", "the second
paragraph") resolved into the inputs of the tasks that mention them."""

from __future__ import annotations

from mesh_contracts import ExecutionPlan, SubTask
from mesh_orchestrator.conversation import Conversation, Output, Turn, turn_of
from mesh_orchestrator.planning.references import attach, find

ESSAY = "Rain falls softly.\n\nThe sun comes back.\n\nNight falls."
ONE = Conversation(
    turns=[
        Turn(
            run_id="r1",
            query="write about rain",
            answer="(answer)",
            outputs=[Output(task_id="w", text=ESSAY)],
        )
    ]
)
TWO = Conversation(
    turns=[
        Turn(
            run_id="r2",
            query="write a haiku and a limerick",
            answer="(both)",
            outputs=[
                Output(task_id="haiku", text="Soft rain on the roof"),
                Output(task_id="limerick", text="There once was a cloud"),
            ],
        )
    ]
)


def _texts(query: str, conversation: Conversation) -> list[tuple[str, str, str | None]]:
    return [(r.phrase, r.text, r.task_id) for r in find(query, conversation)]


def test_a_pronoun_object_is_the_latest_answers_lead() -> None:
    assert _texts("translate that into German", ONE) == [("that", ESSAY, "w")]
    assert _texts("Now summarize it, please", ONE) == [("it", ESSAY, "w")]
    assert _texts("übersetze das ins Englische", ONE) == [("das", ESSAY, "w")]
    assert _texts("shorten the previous answer", ONE)[0][1] == ESSAY


def test_a_conjunction_or_a_fresh_request_is_no_reference() -> None:
    assert find("make sure that the poem rhymes", ONE) == []
    assert find("write a haiku about the sea", ONE) == []
    assert find("translate that into German", Conversation()) == []
    assert find("translate that into German", None) == []


def test_an_ordinal_part_picks_that_part_of_the_answer() -> None:
    assert _texts("translate the second paragraph into German", ONE)[0][1] == "The sun comes back."
    assert _texts("summarize the last paragraph", ONE)[0][1] == "Night falls."
    assert find("translate the ninth paragraph", ONE) == []


def test_the_second_one_is_the_second_output_of_a_run_that_made_several() -> None:
    assert _texts("translate the second one into French", TWO) == [
        ("the second one", "There once was a cloud", "limerick")
    ]


def test_attach_puts_the_text_into_the_task_that_mentions_it() -> None:
    plan = ExecutionPlan(
        tasks=[
            SubTask(task_id="s", capability="search", input={"query": "rain facts"}),
            SubTask(
                task_id="t",
                capability="translation",
                input={"prompt": "translate that into German"},
            ),
        ]
    )
    out, notes = attach(plan, find("translate that into German", ONE))
    assert out.tasks[0].input == {"query": "rain facts"}
    assert out.tasks[1].input["prompt"] == f"translate the following text into German\n\n{ESSAY}"
    assert notes == ["t: 'that' resolved to answer of r1/w"]
    assert plan.tasks[1].input["prompt"] == "translate that into German"  # not changed in place


def test_a_task_without_a_text_field_gets_the_text_as_its_text() -> None:
    plan = ExecutionPlan(tasks=[SubTask(task_id="t", capability="translation", input={})])
    out, _ = attach(plan, find("translate that", ONE))
    assert out.tasks[0].input == {"text": ESSAY}


def test_a_stored_run_is_a_turn_with_its_final_steps_first() -> None:
    plan = [
        {
            "task_id": "a",
            "capability": "search",
            "status": "completed",
            "output": {"answer": "facts"},
        },
        {"task_id": "b", "depends_on": ["a"], "status": "completed", "output": "the essay"},
        {"task_id": "c", "status": "failed", "output": None},
    ]
    turn = turn_of("r", "q", "the answer", plan)
    assert [(o.task_id, o.text, o.final) for o in turn.outputs] == [
        ("b", "the essay", True),
        ("a", "facts", False),
    ]
    assert turn.final_text() == "the essay"
    assert turn_of("r", "q", "only the answer", None).final_text() == "only the answer"
