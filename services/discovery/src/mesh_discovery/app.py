"""Application factory: the store, the declared agents, the sweeper and (when an OTLP
endpoint is set) the tracer provider live in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI
from fastapi.datastructures import State
from fastapi.telemetry import TelemetryConfig

from mesh_auth import AuthSettings, Keys
from mesh_auth.endpoints import EndpointPolicy, Resolver, default_networks, parse_networks
from mesh_auth.endpoints import system_resolver as _system_resolver
from mesh_auth.http import api_docs, protect, require, trusted_hosts
from mesh_contracts import AgentDescriptor
from mesh_discovery.a2a import a2a_router
from mesh_discovery.api import install_error_handlers, router
from mesh_discovery.beats import install as serve_heartbeats
from mesh_discovery.declared import load_agents_file
from mesh_discovery.mcp import mcp_router
from mesh_discovery.metrics import watch as watch_metrics
from mesh_discovery.quota import AgentQuota
from mesh_discovery.registry import Clock, Store
from mesh_discovery.settings import Settings
from mesh_discovery.tokens import VerifiedTokens
from mesh_telemetry import instrument_app, start_tracing
from mesh_telemetry.metrics import Metrics, install_metrics

log = logging.getLogger(__name__)


def make_store(settings: Settings, clock: Clock = time.time) -> Store:
    """The store named by ``settings.store``, not yet opened."""
    if settings.store == "consul":
        # Imported here so the embedded default never loads the Consul client.
        from mesh_discovery.consul_store import ConsulStore

        return ConsulStore(
            settings.consul_url,
            service=settings.consul_service,
            kv_prefix=settings.consul_kv_prefix,
            reap_after_seconds=settings.reap_after_seconds,
            clock=clock,
            token=settings.consul_acl_token(),
        )
    from mesh_discovery.embedded import EmbeddedStore

    return EmbeddedStore(
        settings.db_path, reap_after_seconds=settings.reap_after_seconds, clock=clock
    )


async def sweep_forever(store: Store, interval: float) -> None:
    """Run ``store.sweep()`` every ``interval`` seconds until cancelled; errors are logged."""
    while True:
        await asyncio.sleep(interval)
        try:
            await store.sweep()
        except Exception:
            log.exception("registry sweep failed")


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    keys: Keys | Literal["env"] | None = "env",
    resolver: Resolver = _system_resolver,
) -> FastAPI:
    """The discovery ASGI app.

    The agents file is read and validated here, so a malformed file fails before serving
    (``AgentsFileError`` names the entry and field). ``store`` overrides the one built from
    settings (tests inject a store with a fake clock); the lifespan opens and closes it.
    ``keys``: the verification keys (default: ``MESH_AUTH_*`` from the environment; None:
    open). ``resolver`` resolves registered endpoints' hosts (tests inject one).
    """
    settings = settings or Settings()
    auth_keys = AuthSettings().keys() if keys == "env" else keys
    declared: list[AgentDescriptor] = (
        load_agents_file(settings.agents_file) if settings.agents_file else []
    )
    the_store = store or make_store(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await the_store.open()
        sweeper: asyncio.Task[None] | None = None
        tracing = start_tracing(
            "discovery", settings.otlp_endpoint, instrumentation="mesh_discovery"
        )
        app.state.tracer = tracing.tracer if tracing is not None else None
        try:
            await the_store.declare(declared)
            app.state.store = the_store
            sweeper = asyncio.create_task(
                sweep_forever(the_store, settings.sweep_interval_seconds), name="registry-sweeper"
            )
            log.info(
                "discovery ready: store=%s declared=%d index=%d",
                the_store.name,
                len(declared),
                await the_store.index(),
            )
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await the_store.close()
            if tracing is not None:
                app.state.tracer = None
                await tracing.shutdown()  # exports the spans still batched

    # FastAPI's own OpenTelemetry bridge looks up the global providers on every request;
    # the mesh traces through mesh_telemetry (instrument_app below), so it is off.
    off = TelemetryConfig(tracing=False, metrics=False, logs=False)
    app = FastAPI(
        title="mesh discovery",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=off,
        **api_docs(auth_keys),
    )
    # The app's state on a dict of ours: the fast paths (beats.py, reads.py) read it
    # directly, every route and test through ``app.state`` as usual.
    values: dict[str, Any] = {}
    app.state = State(values)
    # Set when the server starts shutting down: open blocking queries answer at once.
    app.state.draining = asyncio.Event()
    app.state.tracer = None  # the request spans' tracer, set by the lifespan while tracing
    metrics = Metrics()
    # Before instrument_app: heartbeats are served ahead of the middleware stack, inside
    # the tracing middleware when tracing is on (beats.py).
    traced = bool(settings.otlp_endpoint)
    serve_heartbeats(app, values, metrics, settings.max_body_bytes, traced=traced)
    instrument_app(app, enabled=traced)
    watch_metrics(
        install_metrics(app, metrics, dependencies=[Depends(require("*"))]),  # any token
        lambda: getattr(app.state, "store", None),
    )
    protect(
        app,
        auth_keys,
        audience="discovery",
        max_body_bytes=settings.max_body_bytes,
        hosts=trusted_hosts(settings.host, settings.trusted_hosts or ""),
    )
    if auth_keys is not None:  # the verifier every route's ``require`` uses, remembering
        app.state.mesh_keys = VerifiedTokens(auth_keys)
    networks = parse_networks(settings.allowed_networks) or default_networks(settings.host)
    app.state.endpoints = EndpointPolicy(networks, resolver=resolver, cache_seconds=0)
    app.state.quota = AgentQuota(settings.max_instances_per_agent, settings.agent_writes_per_second)
    app.include_router(router)
    app.include_router(a2a_router(settings))  # A2A agents by card URL (after the store opens)
    app.include_router(mcp_router(settings))  # MCP servers by URL (mcp.py)
    install_error_handlers(app)
    return app
