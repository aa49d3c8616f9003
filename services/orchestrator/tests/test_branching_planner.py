"""The no-LLM planner's branches: "if ... then ... otherwise ..." requests become a check,
two branches behind ``when`` conditions, each part planned by the intent planner."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_planning_facade import _manifest

from mesh_contracts import ExecutionPlan, parse_condition
from mesh_orchestrator.planning.branching import read
from mesh_orchestrator.planning.facade import Planning
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.llm import plan_schema


def _env(check: str, output: Any) -> dict[str, Any]:
    text = output if isinstance(output, str) else str(output)
    tasks = {check: {"output": output, "text": text, "lower": text.lower(), "status": "completed"}}
    return {"tasks": tasks}


async def test_an_if_then_otherwise_request_plans_a_check_and_two_guarded_branches() -> None:
    query = (
        "Look up the weather in Oslo. If it is rainy, write a poem about rain, "
        "otherwise write a poem about the sun."
    )
    outcome = await Planning(IntentPlanner()).plan(query, _manifest())
    plan = outcome.plan
    assert plan is not None
    by_id = {t.task_id: t for t in plan.tasks}
    check = [t for t in plan.tasks if t.task_id.startswith("check-")]
    then = [t for t in plan.tasks if t.task_id.startswith("then-")]
    other = [t for t in plan.tasks if t.task_id.startswith("else-")]
    assert [t.capability for t in check] == ["search"]
    assert [t.capability for t in then] == ["text_generation"] == [t.capability for t in other]
    assert "rain" in str(then[0].input) and "sun" in str(other[0].input)
    assert then[0].depends_on == other[0].depends_on == [check[0].task_id]
    assert then[0].when and other[0].when
    # The branches exclude each other over what the check says.
    cid = check[0].task_id
    for said, taken in (("Rainy, 9 degrees", "then"), ("Sunny and dry, not rainy", "else")):
        env = _env(cid, said)
        assert parse_condition(by_id[then[0].task_id].when or "").evaluate(env) is (taken == "then")
        assert parse_condition(by_id[other[0].task_id].when or "").evaluate(env) is (
            taken == "else"
        )
    assert any("branch: if 'it is rainy'" in n for n in outcome.reasons)


@pytest.mark.parametrize(
    ("query", "word", "negated"),
    [
        ("Review the story; if it is approved, write the characters, otherwise revise it", "approved", False),
        ("Check the build, unless it passed then open a ticket, else close the ticket", "passed", True),
        ("If the analysis is not positive then write an apology else write a memo", "positive", True),
    ],
)  # fmt: skip
def test_the_condition_word_and_its_negation_are_read(query: str, word: str, negated: bool) -> None:
    b = read(query)
    assert b is not None and (b.word, b.negated) == (word, negated)


def test_requests_without_both_branches_are_left_to_the_planner() -> None:
    assert read("Write a haiku about rain") is None
    assert read("If it rains, write a haiku") is None  # no otherwise: not a branch
    # Everyday words that are connectives elsewhere ("als" as, "anders" differently;
    # "se" oneself): no comma before "otherwise", no branch.
    assert read("Vat het samen als een lijst, en schrijf het anders op.") is None
    assert read("Resume el texto si es largo, y escríbelo sino en verso.") is None


def test_the_llm_planners_schema_can_express_conditions_and_loops() -> None:
    schema = plan_schema(_manifest())
    t2 = schema["$defs"]["t2"]["anyOf"][0]["properties"]
    assert t2["when"] == {"type": "string", "maxLength": 500}
    assert t2["accept_skipped"] == {"type": "boolean"}
    t1 = schema["$defs"]["t1"]["anyOf"][0]["properties"]
    assert "when" not in t1 and t1["max_iterations"]["maximum"] == 10
    plan = ExecutionPlan.model_validate(
        {"tasks": [{"task_id": "t1", "capability": "search", "input": {"query": "x"}},
                   {"task_id": "t2", "capability": "text_generation", "depends_on": ["t1"],
                    "input": {"prompt": "y"}, "when": "'x' in tasks.t1.text"}]}
    )  # fmt: skip
    assert plan.task("t2").when == "'x' in tasks.t1.text"


# One request per language, each in two forms: the plain "if" (then-branch when the check
# says the word) and a denied or "unless" one (the branches swapped). ``said``/``denied``:
# what a reviewer's output says in that language, approving or not (inflected otherwise
# than the request: the word is looked for without its ending).
LANGUAGES = {
    "es": (
        "Revisa la historia; si está aprobada, escribe los personajes, de lo contrario reescribe la historia.",
        "Revisa la historia; a menos que esté aprobada, reescribe la historia, si no, escribe los personajes.",
        "aprobada", "El relato queda aprobado.", "El relato no está aprobado.",
    ),
    "fr": (
        "Relis l'histoire ; s'il est approuvé, écris les personnages, sinon réécris l'histoire.",
        "Relis l'histoire ; s'il n'est pas approuvé, réécris l'histoire, sinon écris les personnages.",
        "approuvé", "La version est approuvée.", "La version n'est pas approuvée.",
    ),
    "de": (
        "Prüfe die Geschichte; wenn sie genehmigt ist, dann schreibe die Figuren, sonst überarbeite die Geschichte.",
        "Prüfe die Geschichte; falls sie nicht genehmigt wurde, überarbeite die Geschichte, andernfalls schreibe die Figuren.",
        "genehmigt", "Die Geschichte ist genehmigt.", "Die Geschichte ist nicht genehmigt.",
    ),
    "pt": (
        "Revise a história; se estiver aprovada, escreva os personagens, caso contrário reescreva a história.",
        "Revise a história; se não estiver aprovada, então reescreva a história, senão escreva os personagens.",
        "aprovada", "O texto foi aprovado.", "O texto não foi aprovado.",
    ),
    "it": (
        "Rivedi la storia; se è approvata, scrivi i personaggi, altrimenti riscrivi la storia.",
        "Rivedi la storia; a meno che non sia approvata, riscrivi la storia, altrimenti scrivi i personaggi.",
        "approvata", "Il testo è approvato.", "Il testo non è approvato.",
    ),
    "nl": (
        "Controleer het verhaal; als het goedgekeurd is, schrijf de personages, anders herschrijf het verhaal.",
        "Controleer het verhaal; tenzij het goedgekeurd is, herschrijf het verhaal, anders schrijf de personages.",
        "goedgekeurd", "Het verhaal is goedgekeurd.", "Het verhaal is niet goedgekeurd.",
    ),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_each_language_reads_its_connectives_and_its_negation(language: str) -> None:
    plain_query, swapped_query, word, _, _ = LANGUAGES[language]
    plain, swapped = read(plain_query), read(swapped_query)
    assert plain is not None and swapped is not None
    assert (plain.language, plain.word, plain.negated) == (language, word, False)
    assert (swapped.language, swapped.word, swapped.negated) == (language, word, True)
    # The branches are the right texts, whichever comes first in the request.
    characters = re.compile(r"person|figuren", re.IGNORECASE)
    assert characters.search(plain.then) and not characters.search(plain.other)
    assert characters.search(swapped.other) and not characters.search(swapped.then)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("form", ["plain", "swapped"])
async def test_each_language_plans_a_branch_that_takes_each_side_by_the_output(
    language: str, form: str
) -> None:
    """The whole no-LLM planner on the request: a check and two guarded branches; the
    characters are written when the reviewer approves (in that language, with another
    ending), the story rewritten when it says it does not."""
    plain_query, swapped_query, _, approves, denies = LANGUAGES[language]
    outcome = await Planning(IntentPlanner()).plan(
        plain_query if form == "plain" else swapped_query, _manifest()
    )
    plan = outcome.plan
    assert plan is not None, outcome.reasons
    check = [t for t in plan.tasks if t.task_id.startswith("check-")]
    firsts = {
        prefix: next(t for t in plan.tasks if t.task_id.startswith(prefix) and t.when)
        for prefix in ("then-", "else-")
    }
    characters = "then-" if form == "plain" else "else-"
    rewrite = "else-" if form == "plain" else "then-"
    cid = check[-1].task_id
    for said, taken in ((approves, characters), (denies, rewrite)):
        env = _env(cid, said)
        for prefix, first in firsts.items():
            assert parse_condition(first.when or "").evaluate(env) is (prefix == taken), (
                said, prefix, first.when,
            )  # fmt: skip
    assert any(f"({language})" in n for n in outcome.reasons)


def test_a_structured_output_field_with_an_accent_is_read_too() -> None:
    b = read("Relis l'histoire ; si elle est approuvée, écris les personnages, sinon réécris-la.")
    assert b is not None
    from mesh_orchestrator.planning.branching import holds

    when = parse_condition(holds("check-t1", b.word, b.language))
    assert when.evaluate(_env("check-t1", {"approuvée": True})) is True
    assert when.evaluate(_env("check-t1", {"approuvée": False})) is False  # its field, not its text
