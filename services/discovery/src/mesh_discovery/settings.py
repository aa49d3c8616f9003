"""Settings of the discovery service, read from ``DISCOVERY_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the discovery service; ``Settings()`` reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="DISCOVERY_", extra="ignore", populate_by_name=True
    )

    host: str = Field(default="127.0.0.1", description="bind address")
    port: int = Field(default=9000, ge=0, le=65535, description="bind port")
    store: Literal["embedded", "consul"] = Field(
        default="embedded", description="`embedded` or `consul`"
    )
    db_path: Path = Field(
        default=Path("var/discovery.sqlite3"),
        description="SQLite file of the embedded store (parent dirs created)",
    )
    agents_file: Path | None = Field(default=None, description="YAML file of declared agents")
    reap_after_seconds: float = Field(
        default=300.0,
        ge=0,
        description="remove instances critical for longer than this (Consul: at least 60)",
    )
    sweep_interval_seconds: float = Field(
        default=1.0, gt=0, description="how often lapsed leases are marked critical"
    )
    consul_url: str = Field(
        default="http://127.0.0.1:8500", description="Consul agent of the `consul` store"
    )
    consul_service: str = Field(
        default="mesh-agent", description="Consul service name every instance is registered under"
    )
    consul_kv_prefix: str = Field(
        default="mesh/agents", description="KV prefix holding the descriptors"
    )
    # Consul's ACL token (Consul runs with default-deny ACLs in compose and Kubernetes).
    consul_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCOVERY_CONSUL_TOKEN", "CONSUL_HTTP_TOKEN"),
        description="Consul ACL token (scoped: policy `mesh-discovery`)",
    )
    consul_token_file: Path | None = Field(
        default=None, description="the Consul ACL token, from a file (a mounted secret)"
    )
    # Auth (MESH_AUTH_JWKS_FILE and the rest are read by mesh_auth): requests larger than this
    # are answered 413; networks a registered endpoint may resolve into besides public
    # addresses (comma-separated CIDRs; unset: loopback when discovery listens on loopback,
    # none otherwise). An agent token registers within the capabilities and priority range
    # it states, at most max_instances_per_agent passing instances, and writes (registers,
    # heartbeats) at most agent_writes_per_second times a second (429 past either).
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="larger request bodies get 413"
    )
    allowed_networks: str | None = Field(
        default=None,
        description="networks a registered endpoint may resolve into besides public addresses (comma-separated CIDRs); unset: loopback when discovery listens on loopback, none otherwise",
    )
    max_instances_per_agent: int = Field(
        default=32,
        ge=1,
        description="passing instances one agent token may keep registered (429 past it)",
    )
    agent_writes_per_second: float = Field(
        default=20.0,
        gt=0,
        description="registrations and heartbeats one agent may send a second (429 past it)",
    )
    # Open mode (no mesh secret, loopback only) answers only requests whose Host is
    # localhost, 127.0.0.1, [::1] or the bind address, plus these names (comma-separated).
    trusted_hosts: str | None = Field(
        default=None,
        description="open mode: more `Host` names to answer besides localhost, 127.0.0.1, [::1] and the bind address",
    )
    # Blocking queries hold requests open for up to 5 minutes; on SIGTERM uvicorn waits for
    # them, so cap that wait instead of hanging the shutdown.
    shutdown_grace_seconds: int = Field(
        default=3,
        ge=1,
        description="longest wait for in-flight requests (blocking queries) on shutdown",
    )
    log_level: str = Field(default="info", description="uvicorn log level")
    # A2A agents registered by card URL (POST /v1/agents/a2a): their cards are fetched again
    # this often (an answer renews the lease, which lasts three checks), each fetch bounded.
    # MCP servers registered by URL (POST /v1/agents/mcp) are listed on the same schedule,
    # each listing within the same timeout.
    a2a_check_seconds: float = Field(
        default=10.0,
        gt=0,
        description="how often A2A agents' cards are fetched again and MCP servers listed (their lease: three checks)",
    )
    a2a_card_timeout_seconds: float = Field(
        default=5.0, gt=0, description="time limit of one card fetch or MCP listing"
    )
    a2a_card_max_bytes: int = Field(
        default=256 * 1024, ge=1024, description="largest card accepted"
    )
    # OpenTelemetry: a server span per request, exported over OTLP/HTTP, when set. Compose
    # and Kubernetes give discovery only the standard OTEL_EXPORTER_OTLP_ENDPOINT.
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCOVERY_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="OTLP/HTTP collector (e.g. `http://localhost:4318`): a server span per"
        " request; unset: no tracing",
    )

    def consul_acl_token(self) -> str | None:
        """``DISCOVERY_CONSUL_TOKEN``, else the content of ``DISCOVERY_CONSUL_TOKEN_FILE``."""
        if self.consul_token is not None:
            return self.consul_token.get_secret_value()
        if self.consul_token_file is not None:
            return self.consul_token_file.read_text(encoding="utf-8").strip() or None
        return None
