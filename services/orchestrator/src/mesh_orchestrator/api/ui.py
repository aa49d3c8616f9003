"""The dashboard's edge: the static page at ``/ui`` and CORS for pages on other origins.

The page itself (``mesh_orchestrator/ui/``, plain ES modules and SVG, shipped as package
data) reads only the public API: ``GET /v1/agents``, ``GET /v1/runs``, ``GET /v1/runs/{id}``,
``GET /v1/runs/{id}/events``, ``POST /orchestrate/stream``, ``POST /v1/runs/{id}/cancel``,
where the run waits for one, ``approve``/``reject``, and the saved workflows
(``GET /v1/workflows``, ``POST /v1/workflows/{name}/runs``). Nothing here reads runs or the
registry: the page is static, and ``GET /ui/config.json`` tells it only what the settings
say (whether tokens are needed, where Jaeger is).

Every file under ``/ui/`` is served with a Content-Security-Policy (``CSP``): scripts,
styles and requests only from this origin, images from it or inline ``data:`` (the PNG and
JPEG artifacts a worker inlines), no plugins, no ``<base>``, no framing
(``frame-ancestors 'none'``). The page never writes a worker's URL into an ``href`` or
``src`` unless it is http(s) (links) or a ``data:image/png|jpeg`` (images); the CSP is the
line behind that check.

``ORCH_CORS_ORIGINS`` (comma-separated origins, or ``*``) installs Starlette's
``CORSMiddleware`` outermost, so preflights are answered before auth or the body limit and
401/413 answers carry the CORS headers a page needs to read them. Unset, no CORS header is
ever sent (a preflight is answered 405, as before).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mesh_orchestrator.settings import Settings

UI_DIR = Path(__file__).resolve().parent.parent / "ui"

# What a page on another origin sends and reads: the bearer token, the SSE resume id, and
# the headers that name a new run (Content-Location) and the registry's index.
CORS_HEADERS = ["Authorization", "Content-Type", "Last-Event-ID"]
CORS_EXPOSE = ["Content-Location", "X-Mesh-Index", "Retry-After"]


CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
UI_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # a run's URL never leaves with a link followed
]


class _WithHeaders:
    """ASGI wrapper adding ``UI_HEADERS`` to every response of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *UI_HEADERS]
            await send(message)

        await self.app(scope, receive, sending)


def cors_origins(value: str | None) -> list[str]:
    """``ORCH_CORS_ORIGINS`` as a list (empty: CORS off)."""
    return [o.strip().rstrip("/") for o in (value or "").split(",") if o.strip()]


def _router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/ui")
    async def ui_root() -> RedirectResponse:
        # The page's modules are relative to /ui/.
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui/config.json")
    async def ui_config(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "auth": request.app.state.mesh_keys is not None,
                "jaeger_url": (settings.jaeger_url or "").rstrip("/") or None,
            },
            headers={"Cache-Control": "no-store"},
        )

    return router


def install_ui(app: FastAPI, settings: Settings) -> None:
    """Serve the dashboard at ``/ui`` and, with ``ORCH_CORS_ORIGINS``, answer CORS. Call it
    last in ``create_app``: the CORS middleware must wrap every other one."""
    app.include_router(_router(settings))
    app.mount("/ui", _WithHeaders(StaticFiles(directory=UI_DIR, html=True)), name="ui")
    origins = cors_origins(settings.cors_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSE,
            max_age=600,
        )
