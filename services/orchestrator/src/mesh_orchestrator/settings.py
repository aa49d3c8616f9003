"""Settings of the orchestrator, read from ``ORCH_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the orchestrator; ``Settings()`` reads the environment."""

    model_config = SettingsConfigDict(env_prefix="ORCH_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    discovery_url: str = "http://127.0.0.1:9000"
    # Run store: embedded SQLite unless a postgresql:// URL is given.
    db_path: Path = Path("var/orchestrator.sqlite3")
    database_url: str | None = None
    # LangGraph checkpoints (SQLite); default: next to db_path.
    checkpoint_path: Path | None = None
    max_replans: int = Field(default=1, ge=0, le=5)
    ping_seconds: float = Field(default=10.0, gt=0)
    flush_interval_seconds: float = Field(default=0.05, gt=0)
    flush_batch: int = Field(default=200, ge=1)
    watch_wait_seconds: float = Field(default=30.0, gt=0, le=300)
    discovery_retry_seconds: float = Field(default=1.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=256, ge=1)
    max_keepalive_connections: int = Field(default=64, ge=0)
    # A busy worker's Retry-After is honoured up to this long per wait.
    max_retry_after_seconds: float = Field(default=5.0, gt=0)
    # How much upstream text is appended to a downstream prompt.
    max_context_chars: int = Field(default=6000, ge=100)
    shutdown_grace_seconds: int = Field(default=3, ge=1)
    log_level: str = "info"

    def checkpoints_file(self) -> Path:
        if self.checkpoint_path is not None:
            return self.checkpoint_path
        return self.db_path.with_name(self.db_path.stem + "-checkpoints.sqlite3")
