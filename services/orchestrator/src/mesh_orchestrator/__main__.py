"""``python -m mesh_orchestrator``: serve the orchestrator on ORCH_HOST:ORCH_PORT."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import sys

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from uvicorn.config import LOG_LEVELS

from mesh_auth import (
    AudienceTokens,
    AuthSettings,
    SecretError,
    TlsSettings,
    TokenSource,
    guard_bind,
)
from mesh_orchestrator.api.http_protocol import LeanHttpToolsProtocol
from mesh_orchestrator.api.stream_path import Front
from mesh_orchestrator.app import create_app
from mesh_orchestrator.relay.a2a_credentials import CredentialsError
from mesh_orchestrator.settings import Settings

GC_YOUNG = 10_000  # allocations between two collections of the young generation (default 700)
WARM_WAIT_SECONDS = 120.0  # the longest wait for the planner's model before freezing anyway
WARM_POLL_SECONDS = 0.05
_freezing: set[asyncio.Task[None]] = set()


def freeze_when_warm(app: FastAPI) -> None:
    """Once the app has started (its lifespan's stores, clients, registry and the planner's
    model, which loads in a thread after start-up): collect once, and freeze what exists
    out of every later collection. Frozen before ``uvicorn.run`` only, those ~20,000 objects
    (the model's tables among them) were walked by every full collection, 30-90 ms each
    on the loop's thread, landing on whatever stream was starting (bench/README.md,
    "Round 10: the first token")."""
    task = asyncio.get_running_loop().create_task(_freeze_when_warm(app), name="gc-freeze")
    _freezing.add(task)
    task.add_done_callback(_freezing.discard)


async def _freeze_when_warm(app: FastAPI) -> None:
    # Polled: the model loads in ``app._keep_warm``'s thread, which sets no event.
    for _ in range(int(WARM_WAIT_SECONDS / WARM_POLL_SECONDS)):
        if _planner_ready(app):
            break
        await asyncio.sleep(WARM_POLL_SECONDS)
    gc.collect()
    gc.freeze()


def _planner_ready(app: FastAPI) -> bool:
    """What ``/health`` says as ``planner_ready``."""
    services = getattr(app.state, "services", None)
    if services is None:
        return False
    return bool(getattr(services.planning.draft, "ready", True))


def access_log(log_level: str) -> bool:
    """Whether uvicorn keeps its access log: only at a level that prints it (``info`` and
    below). uvicorn sets ``uvicorn.access`` to the log level, so at ``warning`` no line is
    written, but with the logger's handlers in place it still built every line's
    arguments (the client's address, the quoted path): ~30 us a request."""
    return LOG_LEVELS.get(log_level.lower(), logging.INFO) <= logging.INFO


def main() -> int:
    try:
        settings = Settings()
        auth = AuthSettings()
        keys = auth.keys()
        token = TokenSource(static=auth.static_token(), keys=keys, scope="orchestrator")
        # Per-worker tokens, signed with MESH_TOKEN_KEY_FILE (else the development secret).
        worker_tokens = AudienceTokens.from_env("orchestrator", keys, token, auth)
        tls = TlsSettings().server_options()  # mTLS: serve TLS, require client certificates
    except (ValidationError, SecretError) as exc:
        print(f"mesh_orchestrator: bad settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s: %(message)s")
    # Exits on 0.0.0.0 without public keys, or with auth on and no orchestrator token.
    guard_bind("mesh_orchestrator", settings.host, keys, token)
    try:
        app = create_app(settings, keys=keys, token=token, worker_tokens=worker_tokens)
    except CredentialsError as exc:
        print(f"mesh_orchestrator: bad ORCH_A2A_CREDENTIALS_FILE: {exc}", file=sys.stderr)
        return 2
    # The relay allocates a few objects per relayed event; with CPython's default
    # thresholds the cyclic collector ran every ~100 events and walked everything the
    # imports made (bench/README.md, "The relay's hot path"). What exists now lives as long
    # as the process: frozen out of every collection; young objects are collected in
    # bigger, rarer batches.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 10, 10)
    uvicorn.run(
        Front(app, on_started=functools.partial(freeze_when_warm, app)),
        interface="asgi3",
        http=LeanHttpToolsProtocol,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=access_log(settings.log_level),
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        **tls,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
