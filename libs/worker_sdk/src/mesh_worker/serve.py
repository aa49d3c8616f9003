"""``serve``: run a worker service under uvicorn (what a worker's ``__main__.py`` calls)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastapi import APIRouter
from starlette.middleware import Middleware

from mesh_auth import AuthSettings, TlsSettings, TokenSource, guard_bind
from mesh_worker.app import create_worker_app
from mesh_worker.settings import WorkerSettings
from mesh_worker.worker import Worker


def serve(
    worker: Worker[Any],
    *,
    default_port: int,
    settings: WorkerSettings | None = None,
    routers: Sequence[APIRouter] = (),
    middleware: Sequence[Middleware] = (),
    unguarded: bool = False,
) -> None:
    """Serve ``worker`` on ``WORKER_HOST``:``WORKER_PORT`` (``default_port`` unless set).

    Blocks until SIGTERM/SIGINT; then open requests get ``WORKER_SHUTDOWN_GRACE_SECONDS``
    to finish (streams still open after that are cancelled, which cancels their runs), and
    the lifespan's shutdown deregisters from discovery and runs ``worker.shutdown()``.
    Pass ``settings`` when the worker needs them before serving (e.g. its public URL):
    ``WorkerSettings.for_port(default_port)``. ``middleware`` wraps the worker's app
    (outermost last), e.g. the fault injection of ``bench.fault_worker``. ``unguarded``
    skips the bind guard below: only for a test harness serving open on an address that
    only its own host reaches (the fault suite's network namespace), never for a service.
    """
    settings = settings or WorkerSettings.for_port(default_port)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    auth = AuthSettings()
    keys = auth.keys()
    # Exits on a non-loopback bind without public keys (secure by default once exposed), and
    # when auth is on but there is no agent token to register with.
    token = TokenSource(static=auth.static_token(), keys=keys)
    if not unguarded:
        guard_bind(f"worker {type(worker).__name__}", settings.host, keys, token)
    tls = TlsSettings().server_options()  # mTLS: serve TLS, require client certificates
    app = create_worker_app(worker, settings, routers=routers, auth=auth)
    for layer in middleware:
        app.add_middleware(layer.cls, *layer.args, **layer.kwargs)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        lifespan="on",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        **tls,
    )
    uvicorn.Server(config).run()
