"""FastAPI side: ``protect(app, keys)`` once in ``create_app``, ``require(...)`` per route.

```python
from mesh_auth.http import Caller, require, protect

protect(app, keys, audience="workers", max_body_bytes=...)   # in create_app
@router.post("/v1/things", dependencies=[Depends(require("client:*", "admin"))])
async def route(...): ...                                     # or, to know who called:
async def route(caller: Annotated[Principal, Depends(require("client:*", "admin"))]): ...
```

``require`` answers 401 with ``WWW-Authenticate: Bearer`` for no, malformed, badly signed,
expired or revoked tokens, and tokens for another service (``audience``); 403 for a valid
token of the wrong scope. Bodies are short JSON, ``{"detail": "...", "error":
"missing_token" | "invalid_token" | "expired_token" | "revoked_token" |
"insufficient_scope"}``. With no keys (the service runs open on loopback) every caller is
``OPEN`` (an unauthenticated admin). The token itself is never logged or echoed.

``BodyLimit`` (installed by ``protect``) answers 413 ``{"detail": ..., "error":
"body_too_large"}`` for a request whose ``Content-Length`` or streamed body passes the limit,
without reading the rest.

Open mode (no keys: loopback only, every caller an admin) also checks ``Host``
(``TrustedHosts``, which decides as Starlette's ``TrustedHostMiddleware`` does): only
``trusted_hosts(bind_host, configured)`` (localhost, 127.0.0.1, [::1], the bind address and
the configured names) are answered, anything else gets 400 ``{"detail": ..., "error":
"untrusted_host"}`` (a WebSocket is closed with 1008). A web page whose own name an attacker rebinds to 127.0.0.1 sends
its own name as ``Host``, so it cannot drive an open service from a browser. With keys
the tokens do that job (a page on another origin holds none), and ``api_docs`` turns off
``/docs``, whose Swagger UI loads scripts from a CDN onto the service's origin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mesh_auth.keys import Keys
from mesh_auth.tokens import OPEN, InvalidToken, Principal, valid_audience

DEFAULT_MAX_BODY_BYTES = 1 << 20
MAX_ECHO_CHARS = 200  # how much of a caller's input an error body may quote
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class AuthError(HTTPException):
    """401/403 raised by ``require``; ``protect`` installs the handler that answers it."""

    def __init__(self, status_code: int, code: str, detail: str) -> None:
        headers = None
        if status_code == 401:
            value = 'Bearer realm="mesh"'
            if code != "missing_token":
                value += f', error="invalid_token", error_description="{detail}"'
            headers = {"WWW-Authenticate": value}
        elif code == "insufficient_scope":
            headers = {"WWW-Authenticate": 'Bearer realm="mesh", error="insufficient_scope"'}
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.code = code


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")
        self.limit = limit


def forbidden(detail: str) -> AuthError:
    """A 403 for a route's own check (an agent token acting for another agent, ...)."""
    return AuthError(403, "insufficient_scope", detail)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "invalid_token", "Authorization must be 'Bearer <token>'")
    return token.strip()


def caller(request: Request) -> Principal:
    """The request's principal (any valid token), as ``require("*")`` gives it."""
    keys: Keys | None = _keys(request)
    if keys is None:
        return OPEN
    token = bearer_token(request)
    if token is None:
        raise AuthError(401, "missing_token", "missing bearer token")
    try:
        return keys.verify(token, request.app.state.mesh_audience)
    except InvalidToken as exc:
        raise AuthError(401, exc.code, str(exc)) from None


def require(*scopes: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting tokens of any of ``scopes`` (``"agent:*"``, ``"client:*"``,
    ``"orchestrator"``, ``"admin"``, an exact ``"agent:writer"``, or ``"*"`` for any valid
    token); it returns the caller's ``Principal``."""
    if not scopes:
        raise ValueError("require() needs at least one scope (use '*' for any valid token)")
    wanted = " or ".join(scopes)

    async def dependency(request: Request) -> Principal:
        principal = caller(request)
        if not principal.authenticated or any(principal.matches(s) for s in scopes):
            return principal
        raise forbidden(f"this route needs a token of scope {wanted}; yours is {principal.scope}")

    return dependency


def _keys(request: Request) -> Keys | None:
    state = request.app.state
    if not hasattr(state, "mesh_keys"):
        raise RuntimeError("mesh_auth.http.protect(app, keys) was not called on this app")
    keys: Keys | None = state.mesh_keys
    return keys


async def _auth_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError | BodyTooLarge)
    code = exc.code if isinstance(exc, AuthError) else "body_too_large"
    return JSONResponse(
        {"detail": exc.detail, "error": code}, status_code=exc.status_code, headers=exc.headers
    )


def trusted_hosts(bind_host: str = "127.0.0.1", configured: str | Iterable[str] = ()) -> list[str]:
    """The ``Host`` names an open service answers: loopback's, the bind address (an IPv6
    one in brackets) and ``configured`` (a comma-separated setting or a list)."""
    names = [configured] if isinstance(configured, str) else list(configured)
    extra = [n.strip().lower() for part in names for n in part.split(",") if n.strip()]
    bind = bind_host.strip().lower()
    if ":" in bind and not bind.startswith("["):
        bind = f"[{bind}]"
    return list(dict.fromkeys([*LOOPBACK_HOSTS, bind, *extra]))


def api_docs(keys: Keys | None) -> dict[str, Any]:
    """``FastAPI(**api_docs(keys))``: no ``/docs`` or ``/redoc`` when auth is on (their pages
    load scripts from a CDN onto the origin a browser keeps its token for); the OpenAPI
    document itself stays."""
    return {"docs_url": None, "redoc_url": None} if keys is not None else {}


def protect(
    app: FastAPI,
    keys: Keys | None,
    *,
    audience: str | Sequence[str],
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    hosts: Sequence[str] = LOOPBACK_HOSTS,
) -> None:
    """Make ``require`` work on ``app`` (``keys`` None: open), accepting only tokens for
    ``audience`` (``orchestrator``, ``discovery``, ``workers``; a worker passes
    ``("workers", "worker:<its agent id>")``, either will do), and bound request bodies.
    Open, it answers only requests whose ``Host`` is one of ``hosts``
    (``trusted_hosts(...)``)."""
    audiences = [audience] if isinstance(audience, str) else list(audience)
    if not audiences or not all(valid_audience(a) for a in audiences):
        raise ValueError("audience must be orchestrator, discovery, workers or worker:<agent id>")
    app.state.mesh_keys = keys
    app.state.mesh_audience = audience if isinstance(audience, str) else tuple(audiences)
    app.add_exception_handler(AuthError, _auth_error)
    app.add_exception_handler(BodyTooLarge, _auth_error)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if keys is None:
        app.state.mesh_trusted_hosts = list(hosts)  # for paths served ahead of the stack
        app.add_middleware(TrustedHosts, hosts=list(hosts))


def host_trusted(host_header: str | None, hosts: Sequence[str]) -> bool:
    """Whether ``Host: host_header`` names one of ``hosts`` (as ``TrustedHostMiddleware``
    decides it: the port dropped, ``*.name`` patterns), for a fast path that answers
    before the middleware stack."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else ""
    else:
        host = host.rsplit(":", 1)[0]
    return any(
        p == "*" or host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in hosts
    )


UNTRUSTED_HOST = {
    "detail": "the Host header names no host this service answers (open mode: loopback only)",
    "error": "untrusted_host",
}


class TrustedHosts:
    """ASGI middleware: an HTTP request whose ``Host`` is not one of ``hosts``
    (``host_trusted``) is answered 400 with a short JSON body, like every other 4xx of the
    mesh (the foreign name is not echoed); a WebSocket is closed (1008)."""

    def __init__(self, app: ASGIApp, hosts: Sequence[str]) -> None:
        self.app = app
        self.hosts = [h.lower() for h in hosts]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next(
            (v.decode("latin-1") for n, v in scope.get("headers", ()) if n == b"host"), None
        )
        if host_trusted(host, self.hosts):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await JSONResponse(UNTRUSTED_HOST, status_code=400)(scope, receive, send)


class BodyLimit:
    """ASGI middleware: at most ``max_bytes`` of request body per HTTP request.

    A ``Content-Length`` past the limit is answered 413 before the app runs; a body without
    one (chunked) is counted as it is received and the read that passes the limit raises
    ``BodyTooLarge``, which the app answers 413 (or, if nothing was sent yet, this does)."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes or declared < 0:
                    await _send_413(send, self.max_bytes)
                    return
                # The server reads no more than the declared length: nothing to count, and
                # nothing wraps the response (a stream's every message would pass through).
                await self.app(scope, receive, send)
                return
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        def watching(message: Message) -> Awaitable[None]:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            return send(message)

        try:
            await self.app(scope, counting, watching)
        except BodyTooLarge:
            if started:
                raise
            await _send_413(send, self.max_bytes)


async def _send_413(send: Send, limit: int) -> None:
    response = JSONResponse(
        {"detail": f"request body larger than {limit} bytes", "error": "body_too_large"},
        status_code=413,
        headers={"Connection": "close"},
    )
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read once, then defers to ``receive``.

    For a middleware that reads a request's whole body to answer it on a fast path and, when
    it does not, hands the request on to ``app(scope, replay(body, receive), send)``: the app
    reads the same body as one ``http.request`` message, then the client's own messages (its
    disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


class ScopeGuard:
    """ASGI middleware: requests whose path is one of ``paths`` (or below one ending in
    ``/``) need a token of one of ``scopes``, answered 401/403 like ``require``. For routes
    mounted without FastAPI dependencies (the A2A SDK's Starlette routes). Needs
    ``protect(app, ...)`` on the app."""

    def __init__(self, app: ASGIApp, paths: tuple[str, ...], scopes: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths
        self.check = require(*scopes)

    def _guarded(self, path: str) -> bool:
        return any(path == p or (p.endswith("/") and path.startswith(p)) for p in self.paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._guarded(scope.get("path", "")):
            request = Request(scope)
            try:
                await self.check(request)
            except AuthError as exc:
                response = await _auth_error(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def principal_from_headers(
    keys: Keys | None, headers: Any, audience: str | Sequence[str]
) -> Principal:
    """The principal of a request whose headers a framework handed over as a mapping
    (``Authorization`` in any case), for ``audience``; ``OPEN`` without keys. Raises
    ``AuthError``."""
    if keys is None:
        return OPEN
    header = None
    for name, value in dict(headers).items():
        if str(name).lower() == "authorization":
            header = str(value)
    if header is None:
        raise AuthError(401, "missing_token", "missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "invalid_token", "Authorization must be 'Bearer <token>'")
    try:
        return keys.verify(token.strip(), audience)
    except InvalidToken as exc:
        raise AuthError(401, exc.code, str(exc)) from None


def trim(value: Any, limit: int = MAX_ECHO_CHARS) -> str:
    """``value`` as text of at most ``limit`` characters (error bodies never echo more)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def validation_errors(errors: Any, *, with_input: bool = True) -> list[dict[str, Any]]:
    """pydantic/FastAPI errors as JSON-safe dicts, each ``msg``/``input`` trimmed, so a 422
    never echoes more than a few hundred characters of what was sent."""
    out: list[dict[str, Any]] = []
    for err in list(errors)[:20]:
        item: dict[str, Any] = {
            "type": str(err.get("type", "")),
            "loc": [p if isinstance(p, int) else trim(str(p), 64) for p in err.get("loc", ())],
            "msg": trim(str(err.get("msg", "")), 300),
        }
        if with_input and "input" in err:
            raw = err["input"]
            item["input"] = raw if _small_scalar(raw) else trim(raw)
        out.append(item)
    return out


def _small_scalar(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and len(value) <= MAX_ECHO_CHARS


__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "LOOPBACK_HOSTS",
    "api_docs",
    "host_trusted",
    "trusted_hosts",
    "AuthError",
    "BodyLimit",
    "BodyTooLarge",
    "ScopeGuard",
    "TrustedHosts",
    "caller",
    "principal_from_headers",
    "forbidden",
    "protect",
    "require",
    "trim",
    "validation_errors",
]
