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

    host: str = "127.0.0.1"
    port: int = Field(default=9000, ge=0, le=65535)
    store: Literal["embedded", "consul"] = "embedded"
    db_path: Path = Path("var/discovery.sqlite3")
    agents_file: Path | None = None
    reap_after_seconds: float = Field(default=300.0, ge=0)
    sweep_interval_seconds: float = Field(default=1.0, gt=0)
    consul_url: str = "http://127.0.0.1:8500"
    consul_service: str = "mesh-agent"
    consul_kv_prefix: str = "mesh/agents"
    # Consul's ACL token (Consul runs with default-deny ACLs in compose and Kubernetes).
    consul_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCOVERY_CONSUL_TOKEN", "CONSUL_HTTP_TOKEN"),
    )
    consul_token_file: Path | None = None  # the same from a mounted secret (compose)
    # Auth (MESH_AUTH_JWKS_FILE and the rest are read by mesh_auth): requests larger than this
    # are answered 413; networks a registered endpoint may resolve into besides public
    # addresses (comma-separated CIDRs; unset: loopback when discovery listens on loopback,
    # none otherwise). An agent token registers within the capabilities and priority range
    # it states, at most max_instances_per_agent passing instances, and writes (registers,
    # heartbeats) at most agent_writes_per_second times a second (429 past either).
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    allowed_networks: str | None = None
    max_instances_per_agent: int = Field(default=32, ge=1)
    agent_writes_per_second: float = Field(default=20.0, gt=0)
    # Open mode (no mesh secret, loopback only) answers only requests whose Host is
    # localhost, 127.0.0.1, [::1] or the bind address, plus these names (comma-separated).
    trusted_hosts: str | None = None
    # Blocking queries hold requests open for up to 5 minutes; on SIGTERM uvicorn waits for
    # them, so cap that wait instead of hanging the shutdown.
    shutdown_grace_seconds: int = Field(default=3, ge=1)
    log_level: str = "info"
    # A2A agents registered by card URL (POST /v1/agents/a2a): their cards are fetched again
    # this often (an answer renews the lease, which lasts three checks), each fetch bounded.
    # MCP servers registered by URL (POST /v1/agents/mcp) are listed on the same schedule,
    # each listing within the same timeout.
    a2a_check_seconds: float = Field(default=10.0, gt=0)
    a2a_card_timeout_seconds: float = Field(default=5.0, gt=0)
    a2a_card_max_bytes: int = Field(default=256 * 1024, ge=1024)
    # OpenTelemetry: a server span per request, exported over OTLP/HTTP, when set. Compose
    # and Kubernetes give discovery only the standard OTEL_EXPORTER_OTLP_ENDPOINT.
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCOVERY_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    )

    def consul_acl_token(self) -> str | None:
        """``DISCOVERY_CONSUL_TOKEN``, else the content of ``DISCOVERY_CONSUL_TOKEN_FILE``."""
        if self.consul_token is not None:
            return self.consul_token.get_secret_value()
        if self.consul_token_file is not None:
            return self.consul_token_file.read_text(encoding="utf-8").strip() or None
        return None
