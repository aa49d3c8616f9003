"""The A2A routes' HTTP edge, where the a2a-sdk's route factories differ from the A2A 1.0
specification (found with the conformance kit, a2aproject/a2a-tck 1.0-dev):

* ``A2AContentType``: a POST to ``/a2a`` or ``/a2a/rest/...`` must carry a JSON body
  (``application/json`` or ``application/a2a+json``, A2A 1.0 9.1 and 11.1); any other
  ``Content-Type`` (``text/plain``, a form, none) is ``ContentTypeNotSupportedError``, HTTP
  415, before the body is read: a JSON-RPC error object on ``/a2a``, the REST error body
  on the REST binding. The SDK parsed such bodies as JSON, so a web page could start runs
  on an open mesh with a "simple" cross-origin POST (no CORS preflight for ``text/plain``).
* ``A2ARestStatus``: the REST binding answers an A2A error with the HTTP status of the
  specification's table (5.4): ``TaskNotCancelableError`` 409, ``ContentTypeNotSupported``
  415, ``InvalidAgentResponseError`` 502 (the SDK answers 400, 400 and 500). Only error
  responses are looked at (a JSON body under 64 KiB with a 4xx/5xx status); streams and
  successes pass untouched.
* ``CardCache``: the agent card's HTTP caching headers (A2A 1.0 8.6): ``Cache-Control``
  with a short ``max-age`` (the card follows the registry), an ``ETag`` of its content
  (``If-None-Match`` answers 304) and ``Last-Modified``, when this replica first served
  that content.
"""

from __future__ import annotations

import hashlib
import json
import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:  # the a2a-sdk loads with the first A2A request (``api/a2a_route.py``)
    from a2a.utils.errors import ContentTypeNotSupportedError

JSON_TYPES = ("application/json", "application/a2a+json")
# The HTTP status of an A2A error on the REST binding (A2A 1.0, 5.4), by ErrorInfo reason,
# where the a2a-sdk answers another.
REST_STATUS = {
    "TASK_NOT_CANCELABLE": 409,
    "CONTENT_TYPE_NOT_SUPPORTED": 415,
    "INVALID_AGENT_RESPONSE": 502,
}
MAX_ERROR_BODY = 64 * 1024
CARD_MAX_AGE = 30  # seconds a client may keep the card: it changes as agents come and go
CONTENT_TYPE_NOT_SUPPORTED = -32005


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media
    return ""


def _unsupported(media: str) -> ContentTypeNotSupportedError:
    from a2a.utils.errors import ContentTypeNotSupportedError

    shown = media[:60] or "none"
    return ContentTypeNotSupportedError(
        message=f"Content-Type {shown!r} is not supported: send {' or '.join(JSON_TYPES)}"
    )


class A2AContentType:
    """ASGI middleware: POSTs to ``rpc_path`` and below ``rest_path`` need a JSON
    ``Content-Type``; others get 415 ``ContentTypeNotSupportedError``."""

    def __init__(self, app: ASGIApp, rpc_path: str, rest_path: str) -> None:
        self.app = app
        self.rpc_path = rpc_path
        self.rest_prefix = rest_path.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        rpc = path in (self.rpc_path, self.rpc_path + "/")
        if not rpc and not path.startswith(self.rest_prefix):
            await self.app(scope, receive, send)
            return
        media = _media_type(scope)
        if media in JSON_TYPES:
            await self.app(scope, receive, send)
            return
        from a2a.utils.error_handlers import build_rest_error_payload

        error = _unsupported(media)
        body: dict[str, Any]
        if rpc:  # the request is not read: its id is unknown (JSON-RPC 2.0: null)
            rest = build_rest_error_payload(error)["error"]
            data = rest.get("details", [])
            body = {
                "jsonrpc": "2.0",
                "id": None,
                "error": {
                    "code": CONTENT_TYPE_NOT_SUPPORTED,
                    "message": error.message,
                    "data": data,
                },
            }
        else:
            body = build_rest_error_payload(error)
            body["error"]["code"] = 415
        await JSONResponse(body, status_code=415)(scope, receive, send)


class A2ARestStatus:
    """ASGI middleware: the REST binding's A2A errors with the specification's HTTP status
    (``REST_STATUS``); everything else is passed on as it is sent."""

    def __init__(self, app: ASGIApp, rest_path: str) -> None:
        self.app = app
        self.rest_prefix = rest_path.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.rest_prefix):
            await self.app(scope, receive, send)
            return
        held: Message | None = None  # an error's start, held until its body is read
        chunks: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400:
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size = sum(len(c) for c in chunks)
            if message.get("more_body", False) and size <= MAX_ERROR_BODY:
                return
            start, body = held, b"".join(chunks)
            held, chunks[:] = None, []
            start, body = _restated(start, body)
            await send(start)
            await send(
                {
                    "type": "http.response.body",
                    "body": body,
                    "more_body": message.get("more_body", False),
                }
            )

        await self.app(scope, receive, sending)


def _restated(start: Message, body: bytes) -> tuple[Message, bytes]:
    """The error response with the status its A2A reason has in the specification."""
    try:
        error = json.loads(body)["error"]
        reasons = [d.get("reason") for d in error.get("details", []) if isinstance(d, dict)]
    except (ValueError, KeyError, TypeError, AttributeError):
        return start, body
    status = next((REST_STATUS[r] for r in reasons if r in REST_STATUS), None)
    if status is None or status == start["status"]:
        return start, body
    error["code"] = status
    new_body = json.dumps({"error": error}).encode()
    headers = [
        (k, str(len(new_body)).encode() if k == b"content-length" else v)
        for k, v in start.get("headers", [])
    ]
    return {**start, "status": status, "headers": headers}, new_body


class CardCache:
    """The card's response with its caching headers; remembers when each content (by
    ETag) was first served, for ``Last-Modified``."""

    def __init__(self) -> None:
        self._etag = ""
        self._since = 0.0

    def respond(self, card: dict[str, Any], request: Request) -> Response:
        body = json.dumps(card, separators=(",", ":"), sort_keys=True).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if etag != self._etag:
            self._etag, self._since = etag, time.time()
        headers = {
            "Cache-Control": f"public, max-age={CARD_MAX_AGE}",
            "ETag": etag,
            "Last-Modified": formatdate(self._since, usegmt=True),
        }
        wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
        if etag in wanted or "*" in wanted:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)


__all__ = ["A2AContentType", "A2ARestStatus", "CardCache", "JSON_TYPES", "REST_STATUS"]
