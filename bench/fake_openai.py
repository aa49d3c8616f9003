"""A fast OpenAI-format token stream: the upstream LiteLLM relays in ``bench.peers``.

``POST /v1/chat/completions`` with ``"stream": true`` answers ``max_tokens`` chunks
(``chat.completion.chunk``, each one ``delta.content`` of the request's ``user`` field or
``"Zq"``) back to back, then a chunk with ``finish_reason: "stop"`` and ``data: [DONE]``;
without ``stream``, one completion of the same text. ``GET /health`` answers 200. Plain ASGI
on uvicorn, so the upstream costs as little as the fast worker does for the orchestrator.
``python -m bench.fake_openai PORT``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from mesh_contracts import encode_event

_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_JSON = [(b"content-type", b"application/json")]


def _chunk(token: str | None, created: int) -> bytes:
    delta: dict[str, Any] = {} if token is None else {"content": token}
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": created,
            "model": "fake", "choices": [{"index": 0, "delta": delta,
                                          "finish_reason": None if token is not None else "stop"}]}  # fmt: skip
    return encode_event(body)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] != "/v1/chat/completions":
        await send({"type": "http.response.start", "status": 200, "headers": _JSON})
        await send({"type": "http.response.body", "body": b'{"status":"ok"}'})
        return
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            break
    req = json.loads(raw or b"{}")
    n, token, created = (
        int(req.get("max_tokens") or 16),
        str(req.get("user") or "Zq"),
        int(time.time()),
    )
    if not req.get("stream"):
        body = {"id": "chatcmpl-bench", "object": "chat.completion", "created": created,
                "model": "fake", "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": token * n}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1}}  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": _JSON})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _SSE})
    frame = _chunk(token, created)
    for _ in range(n):
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    end = _chunk(None, created) + encode_event("[DONE]")
    await send({"type": "http.response.body", "body": end})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
