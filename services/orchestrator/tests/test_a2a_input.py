"""An external A2A agent's ``input-required`` is the mesh's own ``input_required`` (the user
is asked, the run parks); ``auth-required`` stays a failure."""

from __future__ import annotations

from a2a.types import Message, Part, Role, TaskState

from mesh_contracts import AgentDescriptor
from mesh_orchestrator.relay.a2a_client import _Call


def agent() -> AgentDescriptor:
    return AgentDescriptor(
        agent_id="remote", instance_id="remote-1", name="remote",
        endpoint="http://127.0.0.1:9", capabilities=["search"],
    )  # fmt: skip


def said(text: str) -> Message:
    return Message(message_id="m", role=Role.ROLE_AGENT, parts=[Part(text=text)])


def test_an_agents_input_required_asks_the_user_with_its_question() -> None:
    call = _Call(agent())
    events = call._status(TaskState.TASK_STATE_INPUT_REQUIRED, said("Which city?"))
    assert events == [("input_required", {"question": "Which city?"})]
    assert not call.ended
    bare = _Call(agent())._status(TaskState.TASK_STATE_INPUT_REQUIRED, None)
    assert bare == [("input_required", {"question": "remote asks for input"})]


def test_an_agents_auth_required_is_a_failure() -> None:
    events = _Call(agent())._status(TaskState.TASK_STATE_AUTH_REQUIRED, said("log in"))
    assert events == [("error", {"error": "remote asks for authentication: log in",
                                 "code": "input_required"})]  # fmt: skip


def test_a_question_names_the_agents_waiting_task_and_the_answer_continues_it() -> None:
    from mesh_contracts import TaskRequest
    from mesh_orchestrator.relay.a2a_client import a2a_message

    call = _Call(agent())
    call.task_id, call.context_id = "agent-task", "agent-ctx"
    [(kind, asked)] = call._status(TaskState.TASK_STATE_INPUT_REQUIRED, said("Which city?"))
    resume = {"agent": "remote", "taskId": "agent-task", "contextId": "agent-ctx"}
    assert (kind, asked) == ("input_required", {"question": "Which city?", "resume": resume})
    answered = {"@input": {"answers": ["Oslo"], "resume": resume}}
    request = TaskRequest(task_id="t1", run_id="r1", input={"prompt": "weather"}, context=answered)
    m = a2a_message(request, "remote")
    assert (m.task_id, m.context_id, m.parts[0].text) == ("agent-task", "agent-ctx", "Oslo")
    # another agent than the one that asked: a new task, the answers in its data part
    other = a2a_message(request, "someone-else")
    assert other.task_id == "" and other.parts[0].text == "weather"
