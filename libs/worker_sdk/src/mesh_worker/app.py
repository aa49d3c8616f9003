"""``create_worker_app``: a ``Worker`` as a FastAPI service with its lifespan.

The lifespan runs ``worker.startup()``, then registers with discovery in the background
(the worker serves meanwhile) and heartbeats; at shutdown it deregisters, closes its HTTP
client and runs ``worker.shutdown()``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI

from mesh_auth import AuthSettings, Keys, TlsSettings, TokenSource, scope_of, worker_audience
from mesh_auth.bearer import BearerAuth
from mesh_auth.http import api_docs, protect, require, trusted_hosts
from mesh_telemetry import instrument_app, instrument_client, start_tracing
from mesh_telemetry.metrics import install_metrics
from mesh_worker import api
from mesh_worker.metrics import watch as watch_metrics
from mesh_worker.registration import Registrar, discovery_client
from mesh_worker.runtime import WorkerRuntime
from mesh_worker.settings import WorkerSettings
from mesh_worker.worker import Worker

log = logging.getLogger(__name__)


def create_worker_app(
    worker: Worker[Any],
    settings: WorkerSettings | None = None,
    *,
    routers: Sequence[APIRouter] = (),
    auth: AuthSettings | None = None,
) -> FastAPI:
    """The worker API (``/health``, ``/descriptor``, ``/invoke``, ``/stream``) for ``worker``,
    plus ``routers`` (e.g. an OpenAI-compatible API, artifact downloads).

    ``settings`` defaults to ``WorkerSettings()`` (the ``WORKER_*`` environment). The app's
    state holds ``runtime`` (the ``WorkerRuntime``) and, while registration is on,
    ``registrar`` (the ``Registrar``).
    """
    settings = settings or WorkerSettings()
    runtime = WorkerRuntime(worker, settings)
    auth = auth or AuthSettings()
    keys: Keys | None = auth.keys()
    tls = TlsSettings().client_context()  # mTLS: this worker's certificate to discovery

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        agent = runtime.describe()
        # Tokens for every worker (a client's, for its artifacts) or for this agent alone
        # (the orchestrator's per-worker tokens, which no other worker accepts).
        app.state.mesh_audience = ("workers", worker_audience(agent.agent_id))
        # Named by OTEL_SERVICE_NAME when set, else by the agent id.
        tracing = start_tracing(
            agent.agent_id, settings.otlp_endpoint, instrumentation="mesh_worker"
        )
        if tracing is not None:
            app.state.tracer = tracing.tracer
        # The agent's token (MESH_TOKEN/MESH_TOKEN_FILE; in the development mode minted from
        # the secret, stating what the agent declares) on every registration, heartbeat and
        # deregistration; none while the mesh is open.
        token = TokenSource(
            static=auth.static_token(),
            keys=keys,
            scope=scope_of("agent", agent.agent_id),
            caps=agent.capabilities,
            priority=(0, agent.priority),
        )
        async with discovery_client(BearerAuth(token), tls if tls is not None else True) as client:
            instrument_client(client, tracing)  # registration and heartbeat spans
            registrar: Registrar | None = None
            if settings.discovery_url:
                registrar = Registrar(
                    client,
                    settings.discovery_url,
                    runtime.describe,
                    ttl_seconds=settings.lease_ttl_seconds,
                    heartbeat_interval=settings.heartbeat_every,
                    load=runtime.load,
                )
                app.state.registrar = registrar
                registrar.start()
            else:
                log.info("WORKER_DISCOVERY_URL is empty: not registering")
            try:
                yield
            finally:
                if registrar is not None:
                    await registrar.stop()
                await runtime.stop()
                if tracing is not None:
                    app.state.tracer = None
                    await tracing.shutdown()  # exports the spans still batched

    app = FastAPI(
        title=f"mesh worker {type(worker).__name__}",
        description=(type(worker).__doc__ or "").strip(),
        lifespan=lifespan,
        **api_docs(keys),
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.tracer = None
    app.state.registrar = None
    instrument_app(app, enabled=bool(settings.otlp_endpoint))
    # /metrics takes any valid token when auth is on (Prometheus gets one of its own).
    watch_metrics(install_metrics(app, dependencies=[Depends(require("*"))]), runtime)
    public = urlsplit(settings.base_url).hostname or settings.host
    hosts = trusted_hosts(settings.host, [public, settings.trusted_hosts or ""])
    protect(app, keys, audience="workers", max_body_bytes=settings.max_body_bytes, hosts=hosts)
    app.include_router(api.router)
    for extra in routers:
        app.include_router(extra)
    return app
