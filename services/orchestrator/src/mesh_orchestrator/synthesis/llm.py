"""Streamed LLM synthesis: the final answer written by a chat model from the sub-task results.

Tokens go out through ``on_token`` while the model generates them. A failed sub-task is put
in front of the model as a failure so the answer acknowledges it instead of hiding it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from mesh_contracts import ExecutionPlan
from mesh_orchestrator.conversation import Conversation
from mesh_orchestrator.synthesis.answer import as_text, ordered

if TYPE_CHECKING:  # langchain-core costs ~0.4 s of CPU to import: only with an LLM configured
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

SYSTEM_PROMPT = (
    "You write the final answer to the user's request from the results of sub-tasks that "
    "worker agents ran. Use only those results. Start with the final results (what the user "
    "asked for last, e.g. the translation or the poem), in their language; mention the "
    "sources they came from only after. Be concise. If a sub-task failed or was skipped, say "
    "so plainly and answer with what is available."
)
MAX_RESULT_CHARS = 1500  # per sub-task: small local models have short contexts


class SynthesisUnavailable(Exception):
    """The LLM could not start an answer (unreachable, timeout before the first token)."""


class SynthesisInterrupted(Exception):
    """The LLM stopped mid-answer; ``partial`` is what had been streamed."""

    def __init__(self, reason: str, partial: str) -> None:
        super().__init__(reason)
        self.partial = partial


def _render_output(output: Any) -> str:
    text = as_text(output)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + " …(truncated)"
    return text


def build_messages(
    query: str, results: Mapping[str, Mapping[str, Any]], conversation: str = ""
) -> list[BaseMessage]:
    """``results`` maps task_id to {"status", "output", "error", "description"?, "agent_id"?,
    "source"?}: the final steps first, then the ones marked ``source`` (their inputs).
    ``conversation``: a thread's earlier turns, rendered (before the request)."""
    finals = {k: r for k, r in results.items() if not r.get("source")}
    sources = {k: r for k, r in results.items() if r.get("source")}
    lines = [f"Conversation so far:\n{conversation}", ""] if conversation else []
    lines += [f"Request: {query}", "", "Final results (the answer starts with these):"]
    lines += _lines(finals)
    if sources:
        lines += ["", "Sources they were made from:"]
        lines += _lines(sources)
    lines += ["", "Write the answer."]
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(SYSTEM_PROMPT), HumanMessage("\n".join(lines))]


def _lines(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = []
    for task_id, r in results.items():
        label = f"[{task_id}] {r.get('description') or ''}".strip()
        status = r.get("status")
        if status == "completed":
            lines.append(
                f"{label} (by {r.get('agent_id') or 'an agent'}):\n{_render_output(r.get('output'))}"
            )
        else:
            lines.append(f"{label}: {str(status).upper()}: {r.get('error') or 'no result'}")
    return lines


async def stream_synthesis(
    llm: BaseChatModel,
    query: str,
    results: Mapping[str, Mapping[str, Any]],
    on_token: Callable[[str], Awaitable[None]],
    *,
    first_token_timeout: float = 30.0,
    total_timeout: float = 300.0,
    conversation: str = "",
) -> str:
    """Stream the answer through ``on_token`` and return it whole.

    Raises ``SynthesisUnavailable`` when nothing was generated (the caller falls back to the
    deterministic synthesis) and ``SynthesisInterrupted`` when generation broke off midway.
    Cancellation (the run was cancelled) propagates and closes the model's stream.
    """
    parts: list[str] = []
    stream = llm.astream(build_messages(query, results, conversation))
    try:
        async with asyncio.timeout(total_timeout):
            iterator = aiter(stream)
            while True:
                try:
                    if parts:
                        chunk = await anext(iterator)
                    else:
                        chunk = await asyncio.wait_for(anext(iterator), first_token_timeout)
                except StopAsyncIteration:
                    break
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    parts.append(text)
                    await on_token(text)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError):
            reason = "the LLM took too long"
        if not parts:
            raise SynthesisUnavailable(reason) from None
        raise SynthesisInterrupted(reason, "".join(parts)) from None
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    answer = "".join(parts).strip()
    if not answer:
        raise SynthesisUnavailable("the LLM returned an empty answer")
    return answer


class LLMSynthesizer:
    """The ``Synthesizer`` protocol on top of ``stream_synthesis``.

    An answer cut off midway is kept, with a note saying so; nothing generated at all raises
    ``SynthesisUnavailable`` so the graph can take its fallback edge.
    """

    name = "llm"

    def __init__(
        self,
        llm: BaseChatModel,
        *,
        model_name: str = "llm",
        first_token_timeout: float = 30.0,
        total_timeout: float = 300.0,
    ) -> None:
        self.llm = llm
        self.model_name = model_name
        self.first_token_timeout = first_token_timeout
        self.total_timeout = total_timeout

    async def synthesize(
        self,
        query: str,
        plan: ExecutionPlan,
        results: Mapping[str, Mapping[str, Any]],
        on_token: Callable[[str], Awaitable[None]],
        conversation: Conversation | None = None,
    ) -> str:
        """The answer, streamed through ``on_token``; ``conversation``: the thread's earlier
        turns, shown to the model before the request."""
        order = ordered(plan)
        described = {
            t.task_id: {
                **results.get(t.task_id, {"status": "skipped"}),
                "description": t.description,
                "source": t in order.upstream,
            }
            for t in [*order.sinks, *order.upstream]
        }
        try:
            return await stream_synthesis(
                self.llm,
                query,
                described,
                on_token,
                first_token_timeout=self.first_token_timeout,
                total_timeout=self.total_timeout,
                conversation=conversation.render() if conversation is not None else "",
            )
        except SynthesisInterrupted as exc:
            note = f"\n\n(The answer was cut off: {exc}.)"
            await on_token(note)
            return exc.partial + note
