"""OpenAI-compatible routes: ``GET /v1/models`` and ``POST /v1/chat/completions``
(JSON, or ``chat.completion.chunk`` SSE frames ending in ``data: [DONE]``).

``response_format`` ``json_object`` / ``json_schema`` is enforced while decoding (see
``json_constraint``): the answer is JSON (fitting the schema) unless cut by ``max_tokens``.
A schema past the bounds of ``schema_guard`` (depth, size, a pattern's length, repeats,
nesting, or a pattern that does not compile within ``WRITER_JSON_PATTERN_SECONDS``) is a
400 ``invalid_json_schema`` at once.

Both routes take a token (``mesh_worker.access``: a client's, the orchestrator's, which it
sends as its API key, or admin's): 401/403 otherwise. A ``<base>:<adapter>`` model is the
caller's own adapter only; another's answers 404 like an unknown one.

Errors have OpenAI's shape (``{"error": {...}}``, 400/404/429) instead of FastAPI's 422:
the body is validated here, not by FastAPI. A client that disconnects cancels its
generation, streaming or not. Streams are the SDK's sse-starlette response
(``mesh_worker.sse.event_stream``): ``: ping`` comments every ``WORKER_PING_SECONDS``
seconds while the model is quiet (a long prefill), and a disconnect noticed at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from mesh_contracts import encode_event
from mesh_worker.access import Acting
from mesh_worker.sse import event_stream
from mesh_worker_writer.adapters import UnknownAdapter
from mesh_worker_writer.engine import PromptTooLong, TextGenerator
from mesh_worker_writer.generation import GenerationParams, GenerationStream
from mesh_worker_writer.json_constraint import UnsupportedSchema
from mesh_worker_writer.openai_models import (
    ChatCompletionRequest,
    OpenAIError,
    completion_id,
    now,
    parse_request,
    usage,
)
from mesh_worker_writer.prompting import json_instruction

DEFAULT_TEMPERATURE = 0.7
_DONE = encode_event("[DONE]")


def _error(exc: OpenAIError) -> JSONResponse:
    headers = {"Retry-After": "1"} if exc.status == 429 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _parse(request: Request) -> ChatCompletionRequest:
    req = parse_request(await request.body(), ChatCompletionRequest)
    req.check_supported()
    return req


def _messages(req: ChatCompletionRequest) -> list[dict[str, str]]:
    # The chat template knows system/user/assistant; developer is OpenAI's new "system".
    roles = {"developer": "system", "tool": "user"}
    messages = [{"role": roles.get(m.role, m.role), "content": m.text()} for m in req.messages]
    schema = _schema(req)
    if schema is not None:
        instruction = json_instruction(schema)
        if messages[0]["role"] == "system":
            messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n{instruction}"}
        else:
            messages.insert(0, {"role": "system", "content": instruction})
    return messages


def _schema(req: ChatCompletionRequest) -> dict[str, Any] | None:
    return None if req.response_format is None else req.response_format.schema_to_enforce()


def _params(
    engine: TextGenerator, req: ChatCompletionRequest, acting: str | None
) -> GenerationParams:
    limit = engine.settings.max_new_tokens_limit
    max_tokens = req.max_completion_tokens or req.max_tokens or engine.settings.max_new_tokens
    if max_tokens > limit:
        param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
        raise OpenAIError(f"{param}: at most {limit} tokens", param=param, code="invalid_value")
    adapter = None
    base, sep, suffix = req.model.partition(":")
    if sep and base == engine.model_id:
        adapter = suffix
        try:
            engine.check_adapter(adapter)
            engine.adapters.check_owner(adapter, acting)
        except UnknownAdapter as exc:
            raise OpenAIError(
                f"The model {req.model!r} does not exist ({exc})",
                status=404,
                param="model",
                code="model_not_found",
            ) from None
    temperature = DEFAULT_TEMPERATURE if req.temperature is None else req.temperature
    return GenerationParams(
        max_new_tokens=max_tokens,
        temperature=temperature,
        top_p=1.0 if req.top_p is None else req.top_p,
        stop=req.stop_strings(),
        adapter=adapter,
        json_schema=_schema(req),
        repetition_penalty=engine.settings.repetition_penalty,
    )


async def _until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _complete(
    request: Request, stream: GenerationStream, req: ChatCompletionRequest
) -> Response:
    async with stream:
        collect = asyncio.ensure_future(stream.collect())
        gone = asyncio.ensure_future(_until_disconnected(request))
        try:
            await asyncio.wait({collect, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not collect.done():
                collect.cancel()  # the client left: leaving ``async with`` stops the thread
        if not collect.done() or collect.cancelled():
            return Response(status_code=499)
        outcome = collect.result()
    return JSONResponse(
        {
            "id": completion_id(),
            "object": "chat.completion",
            "created": now(),
            "model": req.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": outcome.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": outcome.finish_reason,
                }
            ],
            "usage": usage(outcome.prompt_tokens, outcome.completion_tokens),
        }
    )


async def _chunks(stream: GenerationStream, req: ChatCompletionRequest) -> AsyncIterator[bytes]:
    """The SSE body: a role chunk, one chunk per delta, a finish chunk, usage, ``[DONE]``."""
    include_usage = req.stream_options is not None and req.stream_options.include_usage
    base: dict[str, Any] = {
        "id": completion_id(),
        "object": "chat.completion.chunk",
        "created": now(),
        "model": req.model,
        "system_fingerprint": None,
    }
    extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return encode_event({**base, "choices": [choice], **extra})

    await stream.__aenter__()
    try:
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for delta in stream:
                yield chunk({"content": delta})
        except Exception as exc:  # the generation failed after the 200 went out
            yield encode_event(
                OpenAIError(str(exc), type="server_error", code="generation_failed").body()
            )
            yield _DONE
            return
        outcome = stream.outcome
        assert outcome is not None
        yield chunk({}, outcome.finish_reason)
        if include_usage:
            usage_chunk = {**base, "choices": []}
            usage_chunk["usage"] = usage(outcome.prompt_tokens, outcome.completion_tokens)
            yield encode_event(usage_chunk)
        yield _DONE
    finally:
        # A client that left cancels this generator from the response's task group; the
        # shield lets the stream stop its thread and wait for it (bounded) in one go.
        with anyio.CancelScope(shield=True):
            await stream.__aexit__(None, None, None)


def create_openai_router(engine: TextGenerator, *, ping_seconds: float = 5.0) -> APIRouter:
    """Routes under ``/v1`` serving ``engine`` (which must be loaded before requests);
    streams send a ``: ping`` comment every ``ping_seconds``."""
    router = APIRouter(prefix="/v1", tags=["openai"])
    created = now()

    @router.get("/models")
    async def list_models(acting: Acting) -> dict[str, Any]:
        """The base model, then one ``<base>:<adapter>`` entry per adapter the caller owns."""
        ids = [engine.model_id]
        ids += [f"{engine.model_id}:{a}" for a in engine.adapters.available(acting)]
        return {
            "object": "list",
            "data": [
                {"id": i, "object": "model", "created": created, "owned_by": "mesh"} for i in ids
            ],
        }

    @router.post(
        "/chat/completions",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ChatCompletionRequest.model_json_schema()}
                },
            }
        },
    )
    async def chat_completions(request: Request, acting: Acting) -> Response:
        """OpenAI's chat completions; ``stream: true`` answers with SSE chunks."""
        try:
            req = await _parse(request)
            params = _params(engine, req, acting)
            if engine.open_streams >= engine.settings.max_concurrency:
                raise OpenAIError(
                    "the writer is busy; retry shortly",
                    status=429,
                    type="rate_limit_error",
                    code="rate_limit_exceeded",
                )
            try:
                if params.json_schema is not None:
                    await engine.check_schema(params.json_schema)
                stream = engine.open(_messages(req), params)
            except PromptTooLong as exc:
                raise OpenAIError(
                    str(exc), param="messages", code="context_length_exceeded"
                ) from None
            except UnsupportedSchema as exc:
                raise OpenAIError(
                    f"response_format: the JSON schema cannot be enforced: {exc}",
                    param="response_format",
                    code="invalid_json_schema",
                ) from None
        except OpenAIError as exc:
            return _error(exc)
        if req.stream:
            return event_stream(_chunks(stream, req), ping_seconds=ping_seconds)
        return await _complete(request, stream, req)

    return router
