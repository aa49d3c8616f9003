"""``create_app(settings)``: the orchestrator's FastAPI app and its lifespan.

The lifespan builds every long-lived resource once: the pooled HTTP clients (a read
timeout of ``ORCH_READ_TIMEOUT_SECONDS``; quiet worker streams are cut sooner, by the
relay's idle timeout): one for discovery with the orchestrator's token, one for workers,
whose calls each carry a token for the called worker alone (``AudienceTokens``), and one
for external A2A agents with none; the two that call registered URLs dial
only addresses the endpoint policy checked at connect time. Then the discovery watch, the
run store and its batch flusher, and the compiled graph (no checkpointer: ``graph.build``). On shutdown live
runs are cancelled (their workers stop), pending events are flushed, and all is closed.
With ``ORCH_OTLP_ENDPOINT`` set it also starts tracing (a span per HTTP request, a trace per
run); the tracer provider is shut down last, exporting the spans of the runs just ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Literal

import httpx
from fastapi import Depends, FastAPI
from fastapi.telemetry import TelemetryConfig

from mesh_auth import AudienceTokens, AuthSettings, Keys, TlsSettings, TokenSource, worker_audience
from mesh_auth.bearer import BearerAuth
from mesh_auth.dialing import KEEPALIVE_EXPIRY, default_ssl_context, pinned_transport
from mesh_auth.endpoints import EndpointPolicy, default_networks, parse_networks
from mesh_auth.http import api_docs, protect, require, trusted_hosts
from mesh_orchestrator.api import install_error_handlers, router
from mesh_orchestrator.api.a2a_route import mount_a2a, push_body
from mesh_orchestrator.api.mcp_route import mount_mcp
from mesh_orchestrator.api.openai import router as openai_router
from mesh_orchestrator.api.stream_path import install as install_stream_path
from mesh_orchestrator.api.threads import router as threads_router
from mesh_orchestrator.api.ui import install_ui
from mesh_orchestrator.api.workflows import router as workflows_router
from mesh_orchestrator.caps import StreamCaps
from mesh_orchestrator.graph.build import GraphDeps, build_runner
from mesh_orchestrator.graph.preview import PlanPreview
from mesh_orchestrator.llm import build_chat_model
from mesh_orchestrator.llm_auth import LLMAuth
from mesh_orchestrator.metrics import CallMetrics
from mesh_orchestrator.planning.choice import (
    build_planning,
    llm_plans,
    llm_synthesizes,
    no_llm_planner,
    synthesis_reason,
)
from mesh_orchestrator.planning.deterministic import Planner
from mesh_orchestrator.planning.llm import LLMPlanner
from mesh_orchestrator.push.delivery import Deliverer
from mesh_orchestrator.push.notifier import Notifier
from mesh_orchestrator.relay.a2a_credentials import A2ACredentials
from mesh_orchestrator.relay.artifacts import ArtifactDeleter
from mesh_orchestrator.relay.calls import WorkerCalls, settle_a2a_cancels
from mesh_orchestrator.relay.executor import Executor
from mesh_orchestrator.routing.registry import DiscoveryClient, Sync
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.runs.build import build_runs
from mesh_orchestrator.runs.in_doubt import InDoubtPolicy
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.retention import Retention, parse_clients
from mesh_orchestrator.runs.store import open_store
from mesh_orchestrator.runs.store.messages import message_store
from mesh_orchestrator.runs.store.outbox import outbox_store
from mesh_orchestrator.runs.store.threads import thread_store
from mesh_orchestrator.runs.threads import Threads
from mesh_orchestrator.runs.withdrawal import Withdrawal
from mesh_orchestrator.services import Services, watch
from mesh_orchestrator.settings import Settings
from mesh_orchestrator.synthesis.deterministic import DeterministicSynthesizer, Synthesizer
from mesh_orchestrator.synthesis.llm import LLMSynthesizer
from mesh_orchestrator.tracing import NO_TRACER, RunTracer, Tracer
from mesh_orchestrator.workflows.store import open_workflow_store
from mesh_telemetry import instrument_app, start_tracing
from mesh_telemetry.metrics import Metrics, install_metrics

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)


async def _keep_warm(planner: Planner, discovery: DiscoveryClient) -> None:
    """Let a planner that keeps per-registry state (``prepare``) build it for every new
    registry content in the background, so a request does not pay for it."""
    prepare = getattr(planner, "prepare", None)
    if prepare is None:
        return
    while True:
        changed = discovery.changed
        await asyncio.to_thread(prepare, discovery.manifest())
        await changed.wait()


def _registry_read(
    discovery: DiscoveryClient, tracer: Tracer, settings: Settings
) -> Callable[[], Awaitable[Sync]] | None:
    """A run's read of discovery (``ORCH_REGISTRY_READ``; off: None), traced beneath the
    run span when tracing is on."""
    seconds = settings.registry_read_seconds
    if settings.registry_read == "off":
        return None
    return functools.partial(tracer.registry_read, discovery, seconds)


def _llm_nodes(
    settings: Settings, llm: BaseChatModel | None, http: httpx.AsyncClient | None = None
) -> tuple[LLMPlanner | None, LLMSynthesizer | None]:
    """The LLM planner and synthesizer when an LLM is configured (and each is enabled);
    ``http``: the client their calls go through (``_llm_client``)."""
    if llm is None and not settings.llm_configured:
        log.info("no LLM configured (ORCH_LLM_BASE_URL / OPENAI_API_KEY): no-LLM planning")
        return None, None
    log.info("LLM %s at %s", settings.llm_model, settings.llm_base_url or "api.openai.com")
    planner = None
    if llm_plans(settings, injected=llm is not None):
        planner = LLMPlanner(
            llm or build_chat_model(settings, max_tokens=settings.llm_plan_max_tokens, http=http),
            timeout_seconds=settings.llm_timeout_seconds,
            method=settings.llm_structured_output,
        )
    synth = None
    if llm_synthesizes(settings, injected=llm is not None):
        synth = LLMSynthesizer(
            llm
            or build_chat_model(settings, max_tokens=settings.llm_synthesis_max_tokens, http=http),
            model_name=settings.llm_model,
            first_token_timeout=settings.llm_timeout_seconds,
            total_timeout=settings.llm_timeout_seconds * 5,
        )
    return planner, synth


def _llm_client(
    settings: Settings,
    token: TokenSource,
    tls: ssl.SSLContext | None,
    per_worker: AudienceTokens,
    discovery: DiscoveryClient,
) -> httpx.AsyncClient | None:
    """The LLM's HTTP client when it is the mesh's own (no ``ORCH_LLM_API_KEY``) and the mesh
    has auth or mTLS on: a token goes as the API key (the writer's OpenAI routes take it),
    with this service's certificate: the one for the worker serving the LLM's origin
    (``worker:<agent id>``: the registry's, else the origin's ``/descriptor``, so there is
    no window before the writer registers, ``llm_auth``) when the orchestrator mints per
    worker, else its own. An LLM with its own key never sees a mesh token."""
    if not settings.llm_configured or settings.llm_api_key is not None:
        return None
    if not token.available and tls is None:
        return None

    def audience_of(url: httpx.URL) -> str | None:
        for record in discovery.records:
            if record.descriptor.endpoint is None:
                continue
            try:
                served = httpx.URL(record.descriptor.endpoint)
            except httpx.InvalidURL:
                continue
            if (served.scheme, served.host, served.port) == (url.scheme, url.host, url.port):
                return worker_audience(record.descriptor.agent_id)
        return None

    return httpx.AsyncClient(
        auth=LLMAuth(per_worker, audience_of, token, verify=tls or default_ssl_context()),
        verify=tls or default_ssl_context(),
        timeout=httpx.Timeout(settings.llm_timeout_seconds * 5, connect=10.0),
        follow_redirects=False,
    )


def create_app(
    settings: Settings | None = None,
    *,
    planner: Planner | None = None,
    synthesizer: Synthesizer | None = None,
    llm: BaseChatModel | None = None,
    span_exporter: SpanExporter | None = None,
    keys: Keys | Literal["env"] | None = "env",
    endpoints: EndpointPolicy | None = None,
    token: TokenSource | None = None,
    worker_tokens: AudienceTokens | None = None,
) -> FastAPI:
    """The app. ``planner`` replaces the no-LLM planner, ``synthesizer`` the deterministic
    synthesis; ``llm`` replaces
    the ``ChatOpenAI`` built from settings (tests pass langchain's fake chat models);
    ``span_exporter`` turns tracing on with it instead of OTLP (tests pass the SDK's
    ``InMemorySpanExporter``). ``keys``: the verification keys (default ``MESH_AUTH_*`` from
    the environment; None: open); ``endpoints`` replaces the worker endpoint policy built
    from ``ORCH_ALLOWED_NETWORKS`` (tests inject one with a fake resolver); ``token``: what it
    sends to discovery (default: ``MESH_TOKEN*`` with ``keys="env"``, else minted from a
    development secret); ``worker_tokens``: the per-worker tokens (default: minted with
    ``MESH_TOKEN_KEY_FILE`` or the development secret, else ``token`` itself)."""
    settings = settings or Settings()
    auth_keys = AuthSettings().keys() if keys == "env" else keys
    # The orchestrator's own token (MESH_TOKEN/MESH_TOKEN_FILE; in the development mode minted
    # from the secret), for discovery and the workers, goes with every call to them; none
    # while the mesh runs open. Under mTLS every call presents this service's certificate.
    token = token or TokenSource(
        static=AuthSettings().static_token() if keys == "env" else None,
        keys=auth_keys,
        scope="orchestrator",
    )
    # Each worker call carries a token for that worker alone (audience worker:<agent id>,
    # minutes long), so a worker that replays it reaches neither discovery nor another
    # worker; without a key to sign them (MESH_TOKEN_KEY_FILE, `mesh keys delegate`, or the
    # development secret), the orchestrator's own token, as before.
    per_worker = worker_tokens or (
        AudienceTokens.from_env("orchestrator", auth_keys, token)
        if keys == "env"
        else AudienceTokens("orchestrator", signer=auth_keys, fallback=token)
    )
    if auth_keys is not None and not per_worker.minting:
        log.warning(
            "orchestrator: no MESH_TOKEN_KEY_FILE (`mesh keys delegate`): worker calls carry"
            " the orchestrator's own token, which every worker accepts"
        )
    tls = TlsSettings().client_context()
    policy = endpoints or EndpointPolicy(
        parse_networks(settings.allowed_networks) or default_networks(settings.host)
    )
    a2a_credentials = A2ACredentials.from_file(settings.a2a_credentials_file)
    metrics = Metrics()  # this app's registry: GET /metrics
    call_metrics = CallMetrics(metrics.registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            tracing = start_tracing(
                "orchestrator",
                settings.otlp_endpoint,
                instrumentation="mesh_orchestrator",
                exporter=span_exporter,
            )
            tracer: Tracer = NO_TRACER
            if tracing is not None:
                app.state.tracer = tracing.tracer
                tracer = RunTracer(tracing.tracer)

                async def stop_tracing() -> None:
                    app.state.tracer = None
                    await tracing.shutdown()

                stack.push_async_callback(stop_tracing)  # the first pushed runs last
            timeout = httpx.Timeout(
                settings.read_timeout_seconds, connect=settings.connect_timeout_seconds
            )
            limits = httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_keepalive_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,  # under the workers' keep-alive timeout
            )
            # A worker's (or an A2A agent's) 3xx is its answer, never followed.
            # Under mTLS the mesh's clients present this service's certificate and trust the
            # mesh's CA (discovery's and the workers'); the A2A client keeps the public CAs.
            verify = tls or default_ssl_context()
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    timeout=timeout,
                    limits=limits,
                    auth=BearerAuth(token),
                    follow_redirects=False,
                    verify=verify,
                )
            )
            workers_http = await stack.enter_async_context(
                httpx.AsyncClient(  # no token of its own: each call names its worker's
                    timeout=timeout,
                    follow_redirects=False,
                    transport=pinned_transport(policy, limits=limits, ssl_context=tls),
                )
            )
            a2a_http = await stack.enter_async_context(
                httpx.AsyncClient(
                    timeout=timeout,
                    follow_redirects=False,
                    transport=pinned_transport(policy, limits=limits),
                )
            )
            discovery = DiscoveryClient(
                settings.discovery_url,
                http,
                wait_seconds=settings.watch_wait_seconds,
                retry_seconds=settings.discovery_retry_seconds,
            )
            await discovery.refresh(request_timeout=settings.connect_timeout_seconds)
            watch = asyncio.create_task(discovery.watch(), name="discovery-watch")

            async def stop_watch() -> None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch

            stack.push_async_callback(stop_watch)
            store = open_store(settings.database_url, settings.db_path)
            await store.open()
            stack.push_async_callback(store.close)
            workflows = open_workflow_store(settings.database_url, settings.db_path)
            await workflows.open()
            stack.push_async_callback(workflows.close)
            mux = EventMux(
                store,
                interval=settings.flush_interval_seconds,
                batch=settings.flush_batch,
                max_backlog=settings.max_subscriber_backlog,
            )
            await mux.start()
            stack.push_async_callback(mux.stop)
            # Webhooks and A2A push notifications: an outbox in the run store, delivered
            # by every replica through the endpoint policy (push/).
            threads_store, outbox = thread_store(store), outbox_store(store)
            await threads_store.open()
            await outbox.open()
            messages = message_store(store)  # A2A tasks' history past their first message
            await messages.open()
            deliverer = Deliverer(
                outbox,
                a2a_http,
                owner=settings.replica(),
                backoff_seconds=settings.webhook_backoff_seconds,
                max_attempts=settings.webhook_max_attempts,
                lease_seconds=settings.webhook_lease_seconds,
            )
            await deliverer.start()
            stack.push_async_callback(deliverer.stop)
            notifier = Notifier(outbox, deliverer, policy)
            notifier.a2a_body = push_body  # A2A push notifications: the task, as A2A says
            mux.outbox_for = notifier.deliveries  # stored with the state, one transaction
            mux.on_changed = notifier.stored
            resolver = Resolver(
                lambda: discovery.records,
                fail_max=settings.breaker_failures,
                base_ejection_seconds=settings.breaker_ejection_seconds,
                max_ejection_seconds=settings.breaker_max_ejection_seconds,
            )
            calls = WorkerCalls(
                workers_http,
                resolver,
                max_streams=settings.max_connections,
                connect_timeout=settings.connect_timeout_seconds,
                stream_client=settings.stream_client,
                stream_idle=settings.stream_idle_seconds,
                metrics=call_metrics,
                auth_headers=lambda agent: per_worker.headers(worker_audience(agent)),
                endpoints=policy,
                a2a_http=a2a_http,
                a2a_credentials=a2a_credentials,
            )
            stack.push_async_callback(calls.aclose)
            # Runs first: CancelTask calls to A2A agents still on their way finish (each
            # bounded) before the clients close.
            stack.push_async_callback(settle_a2a_cancels)
            executor = Executor(
                calls,
                max_retry_after=settings.max_retry_after_seconds,
                max_context_chars=settings.max_context_chars,
                max_attempts=settings.max_task_attempts,
                max_iterations=settings.max_iterations,
                backoff_initial=settings.retry_backoff_seconds,
                backoff_max=settings.retry_backoff_max_seconds,
                tracer=tracer,
                metrics=call_metrics,
            )
            chosen_planner = planner or no_llm_planner(settings)
            warm = asyncio.create_task(_keep_warm(chosen_planner, discovery), name="plan-warm")

            async def stop_warm() -> None:
                warm.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await warm

            stack.push_async_callback(stop_warm)
            chosen_synth = synthesizer or DeterministicSynthesizer()
            llm_http = (
                _llm_client(settings, token, tls, per_worker, discovery) if llm is None else None
            )
            if llm_http is not None:
                stack.push_async_callback(llm_http.aclose)
            llm_planner, llm_synth = _llm_nodes(settings, llm, llm_http)
            planning = build_planning(
                settings, chosen_planner, llm_planner, settings.llm_plan_attempts
            )
            deps = GraphDeps(
                manifest=discovery.manifest,
                resolver=resolver,
                executor=executor,
                planning=planning,
                synthesizer=chosen_synth,
                llm_synthesizer=llm_synth,
                tracer=tracer,
            )
            # The graph's table, driven node by node (``graph.build.GraphRunner``): no
            # checkpointer, nothing reads a run's checkpoint.
            graph = build_runner(deps)
            # A cancelled run's open A2A questions: CancelTask to the agents that asked.
            withdrawal = Withdrawal(mux, store, calls.cancel_asked)
            stack.push_async_callback(withdrawal.settle)  # after the runs stop, below
            runs = build_runs(
                graph,
                mux,
                store,
                max_replans=settings.max_replans,
                max_llm_attempts=settings.llm_plan_attempts,
                tracer=tracer,
                replica_id=settings.replica(),
                lease_seconds=settings.run_lease_seconds,
                registry_read=_registry_read(discovery, tracer, settings),
                read_every_run=settings.registry_read == "always",
                in_flight_check=executor,
                in_doubt=InDoubtPolicy(settings.in_doubt),
                on_ended=withdrawal.ended,
            )
            threads = Threads(runs, threads_store)  # before recover: resumed runs' prelude
            await runs.recover()
            stack.push_async_callback(runs.shutdown)
            retention = Retention(
                store,
                runs.replica_id,
                seconds=settings.retention_seconds,
                clients=parse_clients(settings.retention_clients),
                every=settings.retention_every_seconds,
                threads=threads_store,
                outbox=outbox,
                messages=messages,
                # A removed run's files on the mesh's workers go too (their DELETE route).
                artifacts=ArtifactDeleter(
                    workers_http,
                    lambda: [r.descriptor for r in discovery.records],
                    auth_headers=lambda agent: per_worker.headers(worker_audience(agent)),
                ).delete,
            )
            retention.start()
            stack.push_async_callback(retention.stop)
            app.state.services = Services(
                settings=settings,
                discovery=discovery,
                resolver=resolver,
                executor=executor,
                planning=planning,
                runs=runs,
                plans=PlanPreview(deps),
                streams=StreamCaps(
                    settings.max_streams_per_client,
                    settings.max_streams_per_run,
                    settings.runs_retry_after_seconds,
                ),
                workflows=workflows,
                retention=retention,
                threads=threads,
                notifier=notifier,
                messages=messages,
                synthesis="llm" if llm_synth is not None else "deterministic",
                synthesis_reason=synthesis_reason(settings, llm_synth is not None),
            )
            await stack.enter_async_context(serve_mcp())  # MCP sessions end before the runs
            yield

    # FastAPI's own OpenTelemetry bridge looks up the global providers on every request (three
    # environment reads and three provider checks, ~13% of the stream route's fast path); the
    # mesh traces through mesh_telemetry (instrument_app below), so it is off, as discovery's.
    off = TelemetryConfig(tracing=False, metrics=False, logs=False)
    app = FastAPI(
        title="mesh orchestrator",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=off,
        **api_docs(auth_keys),
    )
    app.state.tracer = None  # the request spans' tracer, set by the lifespan while tracing
    traced = bool(settings.otlp_endpoint) or span_exporter is not None
    # Before instrument_app: POST /orchestrate/stream is served ahead of the middleware
    # stack, inside the tracing middleware when tracing is on (api/stream_path.py).
    install_stream_path(app, metrics, settings.max_body_bytes, traced=traced)
    instrument_app(app, enabled=traced)
    install_error_handlers(app)
    protect(
        app,
        auth_keys,
        audience="orchestrator",
        max_body_bytes=settings.max_body_bytes,
        hosts=trusted_hosts(settings.host, settings.trusted_hosts or ""),
    )
    install_metrics(app, metrics, dependencies=[Depends(require("*"))])  # any valid token
    watch(metrics, lambda: getattr(app.state, "services", None))
    app.include_router(router)
    app.include_router(workflows_router)  # saved workflows (api/workflows.py)
    app.include_router(threads_router)
    # The mesh as an A2A agent: card, JSON-RPC and REST (api/a2a.py, built on the first A2A
    # request: api/a2a_route.py); with auth on, its card declares the bearer scheme every
    # A2A route checks. The card's security schemes are what the routes check: a bearer token with keys on, a
    # client certificate under mTLS (both, in one requirement, when both are on).
    mount_a2a(app, bearer=auth_keys is not None, mtls=tls is not None)
    app.include_router(openai_router)
    serve_mcp = mount_mcp(app)  # the mesh as an MCP server at /mcp (api/mcp_route.py)
    install_ui(app, settings)  # /ui and ORCH_CORS_ORIGINS; last: CORS wraps everything
    return app
