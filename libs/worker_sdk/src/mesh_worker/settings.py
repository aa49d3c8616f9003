"""Settings every worker process shares, read from ``WORKER_*`` environment variables."""

from __future__ import annotations

import re
import socket
from typing import Self

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh_auth.tls import TlsSettings


class WorkerSettings(BaseSettings):
    """Where the worker listens, how it registers, how it reports.

    ``public_url`` is what discovery hands to callers (default ``http://{host}:{port}``);
    an empty ``discovery_url`` turns registration off (tests, a worker run alone).
    """

    model_config = SettingsConfigDict(env_prefix="WORKER_", extra="ignore", populate_by_name=True)

    host: str = Field(default="127.0.0.1", description="bind address")
    port: int = Field(
        default=8080, ge=0, le=65535, description="bind port (default: the worker's own port)"
    )
    public_url: str | None = Field(
        default=None,
        description="URL registered with discovery; unset: `http://{host}:{port}` (the host name if bound to `0.0.0.0`)",
    )
    instance_id: str | None = Field(
        default=None,
        max_length=256,
        description="registry key of this replica; unset: `{agent_id}-{hostname}-{port}`",
    )
    discovery_url: str = Field(
        default="http://127.0.0.1:9000", description="discovery service; empty: do not register"
    )
    lease_ttl_seconds: float = Field(
        default=15.0, gt=0, le=3600, description="lease asked for at registration"
    )
    # Durations are named ``*_seconds`` here as in every service; the older names
    # (WORKER_HEARTBEAT_INTERVAL, WORKER_PING_INTERVAL) are still read.
    heartbeat_seconds: float | None = Field(
        default=None,
        gt=0,
        validation_alias=AliasChoices("WORKER_HEARTBEAT_SECONDS", "WORKER_HEARTBEAT_INTERVAL"),
        description="seconds between heartbeats; unset: a third of the lease",
    )
    max_concurrency: int | None = Field(
        default=None, ge=1, description="requests in flight before 429; unset: the descriptor's"
    )
    retry_after_seconds: int = Field(default=1, ge=0, description="`Retry-After` of a 429")
    # Well under the orchestrator's idle timeout and the usual proxy read timeouts.
    ping_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("WORKER_PING_SECONDS", "WORKER_PING_INTERVAL"),
        description="seconds between `: ping` comments on an open stream, so a quiet stream is not taken for a dead one",
    )
    shutdown_grace_seconds: float = Field(
        default=5.0, ge=0, description="time open requests (and open streams) get on SIGTERM"
    )
    # How long a cancelled run may take to end before a warning is logged (its slot stays
    # taken until it does end, however long that is).
    cancel_grace_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a cancelled run still going after this long is logged as a warning (its slot stays taken until it ends)",
    )
    key_ttl_seconds: float = Field(
        default=900.0,
        gt=0,
        le=86400,
        description="calls with an `Idempotency-Key`: how long a finished execution's key is remembered (a repeat replays it instead of running again)",
    )
    detach_grace_seconds: float = Field(
        default=0.0,
        ge=0,
        le=3600,
        description="how long a keyed run whose callers all left waits for one to come back before it is cancelled (0: at once, like an unkeyed call)",
    )
    log_level: str = Field(default="info", description="log level")
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector (e.g. `http://localhost:4318`): one server span per request, honouring `traceparent`; unset: no tracing",
    )
    # A task's input carries its upstream outputs (an artifact may be inlined): larger than
    # the services' 1 MB, the size of the relay's frame bound. Larger bodies get 413.
    max_body_bytes: int = Field(
        default=16 << 20,
        ge=1024,
        description="larger request bodies get 413 (a task input carries its upstream outputs)",
    )
    # Open mode (no mesh secret, loopback only) answers only requests whose Host is
    # localhost, 127.0.0.1, [::1], the bind address or public_url's host, plus these names
    # (comma-separated).
    trusted_hosts: str | None = Field(
        default=None,
        description="open mode: more `Host` names to answer (comma-separated) besides localhost, 127.0.0.1, [::1], the bind address and public_url's host",
    )

    @classmethod
    def for_port(cls, default_port: int) -> Self:
        """Settings from the environment, with ``default_port`` unless ``WORKER_PORT`` is set."""
        settings = cls()
        if "port" not in settings.model_fields_set:
            settings = settings.model_copy(update={"port": default_port})
        return settings

    @property
    def base_url(self) -> str:
        """The URL callers reach this instance at (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        # A wildcard bind address is not reachable as such: advertise the host name instead.
        host = socket.gethostname() if self.host in ("0.0.0.0", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{TlsSettings().scheme()}://{host}:{self.port}"  # https under mTLS

    @property
    def heartbeat_every(self) -> float:
        """Seconds between heartbeats: the setting, else a third of the lease."""
        return self.heartbeat_seconds or self.lease_ttl_seconds / 3

    def instance_id_for(self, agent_id: str) -> str:
        """``WORKER_INSTANCE_ID``, else ``{agent_id}-{hostname}-{port}``."""
        if self.instance_id:
            return self.instance_id
        host = re.sub(r"[^a-z0-9.-]+", "-", socket.gethostname().lower()).strip("-") or "host"
        return f"{agent_id}-{host}-{self.port}"
