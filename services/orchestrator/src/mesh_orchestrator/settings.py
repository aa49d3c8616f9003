"""Settings of the orchestrator, read from ``ORCH_*`` environment variables."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)


class Settings(BaseSettings):
    """Every knob of the orchestrator; ``Settings()`` reads the environment."""

    model_config = SettingsConfigDict(env_prefix="ORCH_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    discovery_url: str = "http://127.0.0.1:9000"
    # Runs outlive their orchestrator (README "Runs across replicas"): each is held by one
    # replica through a lease renewed every third of this; when its owner dies another
    # replica (or this one restarted) claims it within the lease time and resumes it.
    # The replica id names this process in leases; a restart with the same id takes up
    # its own runs at once (default: host name and port; in Kubernetes, the pod name).
    replica_id: str | None = None
    run_lease_seconds: float = Field(default=10.0, gt=0.5, le=300)
    # Run store: embedded SQLite unless a postgresql:// URL is given.
    db_path: Path = Path("var/orchestrator.sqlite3")
    database_url: str | None = None
    # LangGraph checkpoints (SQLite); default: next to db_path.
    checkpoint_path: Path | None = None
    max_replans: int = Field(default=1, ge=0, le=5)
    ping_seconds: float = Field(default=10.0, gt=0)
    flush_interval_seconds: float = Field(default=0.05, gt=0)
    flush_batch: int = Field(default=200, ge=1)
    # Live events a client may fall behind by before its stream is ended (it resumes with
    # Last-Event-ID): a slow reader never makes the orchestrator buffer without bound.
    max_subscriber_backlog: int = Field(default=100_000, ge=10)
    # Every HTTP call to a worker or discovery reads with this timeout (a quiet worker
    # stream is cut sooner, by ORCH_STREAM_IDLE_SECONDS).
    read_timeout_seconds: float = Field(default=120.0, gt=0)
    watch_wait_seconds: float = Field(default=30.0, gt=0, le=300)
    discovery_retry_seconds: float = Field(default=1.0, gt=0)
    # A run's own read of discovery (routing/registry.py; a conditional GET, a 304 while
    # nothing changed): auto, when the cached registry cannot place one of its tasks, and at
    # the start of a traced run (in its trace); always, at every run's start; off, never.
    registry_read: Literal["auto", "always", "off"] = "auto"
    registry_read_seconds: float = Field(default=1.0, gt=0, le=30)  # the read's timeout
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=256, ge=1)
    # How worker streams over plain http:// are read: the httptools client (relay/
    # stream_client.py) or httpx, which the executor uses for everything else. `make bench`
    # measures both side by side (bench/README.md, "the relay's stream client").
    stream_client: Literal["httptools", "httpx"] = "httptools"
    max_keepalive_connections: int = Field(default=64, ge=0)
    # A busy worker's Retry-After is honoured up to this long per wait.
    max_retry_after_seconds: float = Field(default=5.0, gt=0)
    # Failures (see the README's "Failures"): a worker stream silent this long (no event, no
    # ping) is cut and counts as a failure of its instance; a sub-task runs at most this
    # many attempts; between tries the executor backs off exponentially with jitter.
    stream_idle_seconds: float = Field(default=15.0, gt=0)
    max_task_attempts: int = Field(default=3, ge=1, le=10)
    # A loop of the plan language (``repeat_until``) runs at most this many iterations,
    # whatever its plan's ``max_iterations`` says.
    max_iterations: int = Field(default=10, ge=1, le=10)
    # Retention: finished runs (and their events) older than this many seconds are removed
    # by one replica at a time, every retention_every_seconds (unset: kept forever);
    # retention_clients overrides it per client ("client:alice=3600,client:bob=86400").
    # A pinned run is kept (POST /v1/runs/{id}/pin).
    retention_seconds: float | None = Field(default=None, ge=0)
    retention_clients: str = ""
    retention_every_seconds: float = Field(default=60.0, gt=0)
    retry_backoff_seconds: float = Field(default=0.05, ge=0)
    retry_backoff_max_seconds: float = Field(default=2.0, ge=0)
    # Circuit breakers, one per instance: this many failures in a row eject it for the base
    # time, times the ejections in a row, up to the max; then one trial call.
    breaker_failures: int = Field(default=3, ge=1)
    breaker_ejection_seconds: float = Field(default=5.0, gt=0)
    breaker_max_ejection_seconds: float = Field(default=60.0, gt=0)
    # How much upstream text is appended to a downstream prompt.
    max_context_chars: int = Field(default=6000, ge=100)
    shutdown_grace_seconds: int = Field(default=3, ge=1)
    # OpenTelemetry: spans for runs and sub-tasks exported over OTLP/HTTP when set.
    otlp_endpoint: str | None = None
    # The dashboard at /ui (api/ui.py): a run's trace id links to ``<jaeger_url>/trace/<id>``
    # when set (e.g. http://localhost:16686); cors_origins (comma-separated origins, or *)
    # lets pages on other origins call the API; unset: no CORS headers at all.
    jaeger_url: str | None = None
    cors_origins: str | None = None
    # An OpenAI-compatible LLM for planning and synthesis (OpenAI, vLLM, Ollama, llama.cpp,
    # or the writer worker's /v1). No base URL and no key: deterministic planning/synthesis.
    llm_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_model: str = "smollm2-135m-instruct"
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    llm_temperature: float = Field(default=0.2, ge=0, le=2)
    llm_plan_max_tokens: int = Field(default=400, ge=16)
    llm_synthesis_max_tokens: int = Field(default=256, ge=16)
    # Planning attempts before the deterministic fallback (2 = retry once).
    llm_plan_attempts: int = Field(default=2, ge=1, le=5)
    llm_structured_output: Literal["json_schema", "json_mode", "prompt"] = "json_schema"
    # Which planner runs (bench/planning chose the default): auto = the intent planner, with
    # the LLM planning first only when it is not the embedded SmolLM2; intent | deterministic:
    # no LLM planning; llm: the LLM first whenever one is configured. The no-LLM plan is the
    # LLM's hint and fallback (planning/choice.py).
    planner: Literal["auto", "intent", "deterministic", "llm"] = "auto"
    # Which synthesis writes the answer (``bench/planning --synthesis`` chose the default):
    # auto = the deterministic merge when the only LLM is the embedded SmolLM2 (its answers
    # carried fewer of the sub-tasks' facts), the LLM otherwise; llm | deterministic: that one.
    synthesis: Literal["auto", "llm", "deterministic"] = "auto"
    # Deprecated (one release): ORCH_LLM_PLANNING=false is ORCH_PLANNER=intent and
    # ORCH_LLM_SYNTHESIS=false is ORCH_SYNTHESIS=deterministic; ORCH_PLANNER=semantic is intent.
    llm_planning: bool | None = Field(default=None, exclude=True)
    llm_synthesis: bool | None = Field(default=None, exclude=True)

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

    log_level: str = "info"
    # Auth (MESH_AUTH_SECRET/MESH_TOKEN are read by mesh_auth; see the README's "Auth"):
    # bodies past max_body_bytes get 413; worker endpoints must resolve into public
    # addresses or allowed_networks (comma-separated CIDRs; unset: loopback when the
    # orchestrator listens on loopback).
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    allowed_networks: str | None = None
    # What one client token may hold (README "Bounds and quotas"; 429 with Retry-After past
    # each; admin and an open mesh are not bounded per client). Counted in the run store,
    # so every replica shares them: runs in progress (running or parked awaiting approval),
    # and a token bucket of starts (runs created and plans previewed: client_burst at once,
    # refilled at client_rate_per_second; 0 turns it off). Counted on each replica: SSE
    # streams open per client token and per run (every caller).
    max_runs_per_client: int = Field(default=8, ge=1)
    runs_retry_after_seconds: int = Field(default=5, ge=1)
    client_rate_per_second: float = Field(default=2.0, ge=0)
    client_burst: int = Field(default=20, ge=1)
    max_streams_per_client: int = Field(default=32, ge=1)
    max_streams_per_run: int = Field(default=64, ge=1)
    # External A2A agents' own credentials (relay/a2a_credentials.py): a JSON file
    # {"https://agent.example:443": {"<security scheme name in its card>": "<credential>"}};
    # unset: they are called with none. The orchestrator's token never goes to them.
    a2a_credentials_file: Path | None = None
    # Open mode (no mesh secret, loopback only) answers only requests whose Host is
    # localhost, 127.0.0.1, [::1] or the bind address, plus these names (comma-separated):
    # a web page that rebinds its own name to 127.0.0.1 gets 400 (README "Auth").
    trusted_hosts: str | None = None

    def replica(self) -> str:
        return self.replica_id or f"{socket.gethostname()}-{self.port}"

    def checkpoints_file(self) -> Path:
        if self.checkpoint_path is not None:
            return self.checkpoint_path
        return self.db_path.with_name(self.db_path.stem + "-checkpoints.sqlite3")
