"""The one chat-model client of the orchestrator, built in the lifespan from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from mesh_orchestrator.settings import Settings

if TYPE_CHECKING:  # langchain's imports (~0.5 s of CPU) wait for an LLM to be configured
    from langchain_core.language_models import BaseChatModel


def build_chat_model(
    settings: Settings, *, max_tokens: int, http: httpx.AsyncClient | None = None
) -> BaseChatModel:
    """A streaming ``ChatOpenAI`` for any OpenAI-compatible endpoint.

    ``max_retries=0``: the graph owns retry policy (one more planning attempt, then the
    deterministic fallback), and a silent client-side retry would double every timeout.
    ``http``: the client to call through (the mesh's own writer: it sends the orchestrator's
    token as the API key, and its certificate under mTLS).
    """
    from langchain_openai import ChatOpenAI

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    extra = {"http_async_client": http} if http is not None else {}
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,  # type: ignore[arg-type]
        timeout=settings.llm_timeout_seconds,
        max_retries=0,
        temperature=settings.llm_temperature,
        max_tokens=max_tokens,  # type: ignore[call-arg]
        streaming=True,
        # one limit: langchain's own wait for the next chunk (120 s by default) would
        # otherwise end a slow plan under a different name than the planner's timeout
        stream_chunk_timeout=settings.llm_timeout_seconds,
        **extra,
    )
