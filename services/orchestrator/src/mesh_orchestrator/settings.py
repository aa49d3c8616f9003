"""Settings of the orchestrator, read from ``ORCH_*`` environment variables."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh_contracts import Budget

log = logging.getLogger(__name__)


class Settings(BaseSettings):
    """Every knob of the orchestrator; ``Settings()`` reads the environment."""

    model_config = SettingsConfigDict(env_prefix="ORCH_", extra="ignore", populate_by_name=True)

    host: str = Field(default="127.0.0.1", description="bind address")
    port: int = Field(default=8000, ge=0, le=65535, description="bind port")
    discovery_url: str = Field(default="http://127.0.0.1:9000", description="discovery registry")
    # Runs outlive their orchestrator (README "Runs across replicas"): each is held by one
    # replica through a lease renewed every third of this; when its owner dies another
    # replica (or this one restarted) claims it within the lease time and resumes it.
    # The replica id names this process in leases; a restart with the same id takes up
    # its own runs at once (default: host name and port; in Kubernetes, the pod name).
    replica_id: str | None = Field(
        default=None,
        description="this replica's name in run leases (Kubernetes: the pod name); unset: host name and port",
    )
    run_lease_seconds: float = Field(
        default=10.0,
        gt=0.5,
        le=300,
        description="a run's lease, renewed every third of it; a dead owner's runs move within it, and a replica whose renewals fail for 3/4 of it stops its runs itself (README \"Runs across replicas\")",
    )
    in_doubt: Literal["park", "fail"] = Field(
        default="park",
        description="a resumed run's task, running on an agent not safe to retry, whose worker does not know its idempotency key: `park` the run for a decision (approve with rerun / fail), or `fail` the task",
    )
    budget_defaults: dict[str, Budget] = Field(
        default_factory=dict,
        description='default run budgets by client, JSON: `{"client:<name>": {"tokens": 20000}, "*": {...}}`; bounds a run\'s `options.budget` leaves unset',
    )
    # Run store: embedded SQLite unless a postgresql:// URL is given.
    db_path: Path = Field(
        default=Path("var/orchestrator.sqlite3"), description="embedded run store (SQLite)"
    )
    database_url: str | None = Field(
        default=None,
        description="`postgresql://...`: run store in Postgres (any number of replicas); unset: SQLite at db_path",
    )
    max_replans: int = Field(
        default=1, ge=0, le=5, description="replans when a planned task has no healthy agent"
    )
    ping_seconds: float = Field(
        default=10.0,
        gt=0,
        description="seconds between `: ping` comments on an idle client SSE stream",
    )
    flush_interval_seconds: float = Field(
        default=0.05, gt=0, description="event log batching: longest wait before a batch is written"
    )
    # 1,000, not 200: each write is several hand-offs to the store's thread, which cost one
    # streaming relay more CPU than its events did (bench/README.md, "Fewer, larger writes").
    flush_batch: int = Field(
        default=1000, ge=1, description="event log batching: most events per write"
    )
    # Live events a client may fall behind by before its stream is ended (it resumes with
    # Last-Event-ID): a slow reader never makes the orchestrator buffer without bound.
    max_subscriber_backlog: int = Field(
        default=100_000,
        ge=10,
        description="live events a client may fall behind by before its stream ends (it resumes with Last-Event-ID)",
    )
    # Every HTTP call to a worker or discovery reads with this timeout (a quiet worker
    # stream is cut sooner, by ORCH_STREAM_IDLE_SECONDS).
    read_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        description="read timeout of every HTTP call to a worker or discovery (a quiet worker stream is cut sooner, by stream_idle_seconds)",
    )
    watch_wait_seconds: float = Field(
        default=30.0, gt=0, le=300, description="discovery blocking-query wait"
    )
    discovery_retry_seconds: float = Field(
        default=1.0,
        gt=0,
        description="first wait before the discovery watch retries (doubling, with jitter, up to 10 s)",
    )
    # A run's own read of discovery (routing/registry.py; a conditional GET, a 304 while
    # nothing changed): auto, when the cached registry cannot place one of its tasks, and at
    # the start of a traced run (in its trace); always, at every run's start; off, never.
    registry_read: Literal["auto", "always", "off"] = Field(
        default="auto",
        description="a run's own read of discovery: `auto` when the cache cannot place a task, and at a traced run's start; `always` at every run's start; `off` never (runs use the cache alone)",
    )
    registry_read_seconds: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="that read's timeout (the longest a run whose cache falls short waits for it)",
    )
    connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="worker HTTP client: connect timeout"
    )
    max_connections: int = Field(
        default=256, ge=1, description="worker HTTP client: most connections at once"
    )
    # How worker streams over plain http:// are read: the httptools client (relay/
    # stream_client.py) or httpx, which the executor uses for everything else. `make bench`
    # measures both side by side (bench/README.md, "the relay's stream client").
    stream_client: Literal["httptools", "httpx"] = Field(
        default="httptools",
        description="how plain-HTTP worker streams are read: `httptools` or `httpx` (bench/README.md)",
    )
    max_keepalive_connections: int = Field(
        default=64, ge=0, description="worker HTTP client: idle connections kept open"
    )
    # A busy worker's Retry-After is honoured up to this long per wait.
    max_retry_after_seconds: float = Field(
        default=5.0, gt=0, description="longest wait honoured from a busy worker's Retry-After"
    )
    # Failures (see the README's "Failures"): a worker stream silent this long (no event, no
    # ping) is cut and counts as a failure of its instance; a sub-task runs at most this
    # many attempts; between tries the executor backs off exponentially with jitter.
    stream_idle_seconds: float = Field(
        default=15.0,
        gt=0,
        description="a worker stream silent this long (no event, no ping) is cut and counts as a failure of its instance",
    )
    max_task_attempts: int = Field(
        default=3, ge=1, le=10, description='attempts of one sub-task (README "Failures")'
    )
    max_iterations: int = Field(
        default=10,
        ge=1,
        le=10,
        description="a loop of the plan language (`repeat_until`) runs at most this many iterations, whatever its plan's `max_iterations` says",
    )
    retention_seconds: float | None = Field(
        default=None,
        ge=0,
        description="finished runs (and their events), idle threads, done webhook deliveries and removed runs' push configs older than this are removed by one replica at a time; a pinned run (and its thread) is kept; unset: kept forever",
    )
    retention_clients: str = Field(
        default="",
        description="per-client retention ages in seconds, e.g. `client:alice=3600,client:bob=86400`",
    )
    retention_every_seconds: float = Field(
        default=60.0, gt=0, description="how often the retention sweep runs"
    )
    retry_backoff_seconds: float = Field(
        default=0.05, ge=0, description="first back-off between attempts (exponential, with jitter)"
    )
    retry_backoff_max_seconds: float = Field(
        default=2.0, ge=0, description="longest back-off between attempts"
    )
    # Circuit breakers, one per instance: this many failures in a row eject it for the base
    # time, times the ejections in a row, up to the max; then one trial call.
    breaker_failures: int = Field(
        default=3,
        ge=1,
        description="failures in a row that eject an instance (its circuit breaker opens)",
    )
    breaker_ejection_seconds: float = Field(
        default=5.0, gt=0, description="first ejection time, times the ejections in a row"
    )
    breaker_max_ejection_seconds: float = Field(
        default=60.0, gt=0, description="longest ejection; then one trial call"
    )
    # How much upstream text is appended to a downstream prompt.
    max_context_chars: int = Field(
        default=6000, ge=100, description="upstream text appended to a downstream prompt"
    )
    shutdown_grace_seconds: int = Field(
        default=3, ge=1, description="longest wait for open requests and streams on shutdown"
    )
    # OpenTelemetry: spans for runs and sub-tasks exported over OTLP/HTTP when set.
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector (e.g. `http://localhost:4318`): a trace per run (see Traces); unset: no tracing",
    )
    # The dashboard at /ui (api/ui.py): a run's trace id links to ``<jaeger_url>/trace/<id>``
    # when set (e.g. http://localhost:16686); cors_origins (comma-separated origins, or *)
    # lets pages on other origins call the API; unset: no CORS headers at all.
    jaeger_url: str | None = Field(
        default=None,
        description="the dashboard links a run's trace id to `<url>/trace/<trace_id>` (e.g. `http://localhost:16686`)",
    )
    cors_origins: str | None = Field(
        default=None,
        description="comma-separated origins (or `*`) whose pages may call the API; unset: no CORS headers, a preflight gets 405",
    )
    # An OpenAI-compatible LLM for planning and synthesis (OpenAI, vLLM, Ollama, llama.cpp,
    # or the writer worker's /v1). No base URL and no key: deterministic planning/synthesis.
    llm_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ORCH_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint for planning and synthesis; `make run` sets the"
        " writer's `http://127.0.0.1:8001/v1`",
    )
    llm_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ORCH_LLM_API_KEY", "OPENAI_API_KEY"),
        description="its key; either this or a base URL turns the LLM on",
    )
    llm_model: str = Field(
        default="smollm2-135m-instruct", description="model name sent to the endpoint"
    )
    llm_timeout_seconds: float = Field(
        default=60.0, gt=0, description="per planning attempt, and to the synthesis's first token"
    )
    llm_temperature: float = Field(default=0.2, ge=0, le=2, description="sampling temperature")
    llm_plan_max_tokens: int = Field(
        default=400, ge=16, description="cap of a planning answer's length"
    )
    llm_synthesis_max_tokens: int = Field(
        default=256, ge=16, description="cap of a synthesis answer's length"
    )
    # Planning attempts before the deterministic fallback (2 = retry once).
    llm_plan_attempts: int = Field(
        default=2, ge=1, le=5, description="LLM planning attempts before the no-LLM plan is used"
    )
    llm_structured_output: Literal["json_schema", "json_mode", "prompt"] = Field(
        default="json_schema",
        description="`json_schema`, `json_mode` or `prompt` (no `response_format`)",
    )
    # Which planner runs (bench/planning chose the default): auto = the intent planner, with
    # the LLM planning first only when it is not the embedded SmolLM2; intent | deterministic:
    # no LLM planning; llm: the LLM first whenever one is configured. The no-LLM plan is the
    # LLM's hint and fallback (planning/choice.py).
    planner: Literal["auto", "intent", "deterministic", "llm"] = Field(
        default="auto",
        description="`auto`: the intent planner, the LLM first only when it is not the embedded SmolLM2; `llm`; `intent`; `deterministic`",
    )
    # Which synthesis writes the answer (``bench/planning --synthesis`` chose the default):
    # auto = the deterministic merge when the only LLM is the embedded SmolLM2 (its answers
    # carried fewer of the sub-tasks' facts), the LLM otherwise; llm | deterministic: that one.
    synthesis: Literal["auto", "llm", "deterministic"] = Field(
        default="auto",
        description="`auto`: deterministic merge with the embedded SmolLM2, the LLM otherwise; `llm`; `deterministic`",
    )
    # Deprecated (one release): ORCH_LLM_PLANNING=false is ORCH_PLANNER=intent and
    # ORCH_LLM_SYNTHESIS=false is ORCH_SYNTHESIS=deterministic; ORCH_PLANNER=semantic is intent.
    llm_planning: bool | None = Field(
        default=None,
        exclude=True,
        description="deprecated (one release): `false` means `ORCH_PLANNER=intent`",
    )
    llm_synthesis: bool | None = Field(
        default=None,
        exclude=True,
        description="deprecated (one release): `false` means `ORCH_SYNTHESIS=deterministic`",
    )

    @field_validator("planner", mode="before")
    @classmethod
    def _semantic_is_intent(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() == "semantic":
            log.warning("ORCH_PLANNER=semantic is deprecated: the intent planner replaces it")
            return "intent"
        return value

    @model_validator(mode="after")
    def _fold_deprecated(self) -> Settings:
        if self.llm_planning is not None:
            log.warning(
                "ORCH_LLM_PLANNING is deprecated: use ORCH_PLANNER (intent = no LLM planning)"
            )
            if not self.llm_planning and self.planner in ("auto", "llm"):
                self.planner = "intent"
        if self.llm_synthesis is not None:
            log.warning(
                "ORCH_LLM_SYNTHESIS is deprecated: use ORCH_SYNTHESIS (deterministic = no LLM)"
            )
            if not self.llm_synthesis and self.synthesis in ("auto", "llm"):
                self.synthesis = "deterministic"
        return self

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url or self.llm_api_key)

    log_level: str = Field(default="info", description="uvicorn log level")
    # Auth (MESH_AUTH_SECRET/MESH_TOKEN are read by mesh_auth; see the README's "Auth"):
    # bodies past max_body_bytes get 413; worker endpoints must resolve into public
    # addresses or allowed_networks (comma-separated CIDRs; unset: loopback when the
    # orchestrator listens on loopback).
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="request bodies past it get 413"
    )
    allowed_networks: str | None = Field(
        default=None,
        description="CIDRs (comma-separated) worker and A2A endpoints may resolve into besides public addresses; unset: loopback when listening on loopback",
    )
    # What one client token may hold (README "Bounds and quotas"; 429 with Retry-After past
    # each; admin and an open mesh are not bounded per client). Counted in the run store,
    # so every replica shares them: runs in progress (running or parked awaiting approval),
    # and a token bucket of starts (runs created and plans previewed: client_burst at once,
    # refilled at client_rate_per_second; 0 turns it off). Counted on each replica: SSE
    # streams open per client token and per run (every caller).
    max_runs_per_client: int = Field(
        default=8,
        ge=1,
        description='a client token\'s runs in progress (running or parked), counted in the run store (README "Bounds and quotas")',
    )
    runs_retry_after_seconds: int = Field(
        default=5, ge=1, description="`Retry-After` of a 429 for too many runs"
    )
    client_rate_per_second: float = Field(
        default=2.0,
        ge=0,
        description="a client token's starts (runs and plan previews) per second: a token bucket in the run store (0: off)",
    )
    client_burst: int = Field(default=20, ge=1, description="that bucket's size (starts at once)")
    max_streams_per_client: int = Field(
        default=32, ge=1, description="SSE streams open on a replica per client token"
    )
    max_streams_per_run: int = Field(
        default=64, ge=1, description="SSE streams open on a replica per run"
    )
    # External A2A agents' own credentials (relay/a2a_credentials.py): a JSON file
    # {"https://agent.example:443": {"<security scheme name in its card>": "<credential>"}};
    # unset: they are called with none. The orchestrator's token never goes to them.
    a2a_credentials_file: Path | None = Field(
        default=None,
        description='external A2A agents\' own credentials, `{origin: {scheme name: credential}}` (README "Auth"); unset: they get none',
    )
    # Open mode (no mesh secret, loopback only) answers only requests whose Host is
    # localhost, 127.0.0.1, [::1] or the bind address, plus these names (comma-separated):
    # a web page that rebinds its own name to 127.0.0.1 gets 400 (README "Auth").
    trusted_hosts: str | None = Field(
        default=None,
        description="open mode: more `Host` names to answer besides localhost, 127.0.0.1, [::1] and the bind address",
    )
    webhook_backoff_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="a failed webhook delivery is tried again after this, doubling with jitter (at most 5 min apart)",
    )
    webhook_max_attempts: int = Field(
        default=12, ge=1, le=100, description="a webhook delivery is given up after that many tries"
    )
    webhook_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="seconds a replica holds a webhook delivery it took (renewed at each try); another replica takes it once this lapses",
    )

    def replica(self) -> str:
        return self.replica_id or f"{socket.gethostname()}-{self.port}"
