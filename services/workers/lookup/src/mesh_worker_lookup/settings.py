"""Settings of the lookup worker (env prefix ``LOOKUP_``); the SDK's own are ``WORKER_``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LookupSettings(BaseSettings):
    """``LOOKUP_KB_DIR`` names a folder of extra documents: a file there with the same name
    as a bundled one replaces it, any other file is added to the index."""

    model_config = SettingsConfigDict(env_prefix="LOOKUP_", extra="ignore")

    kb_dir: Path | None = None
    k1: float = Field(default=1.5, ge=0)
    b: float = Field(default=0.75, ge=0, le=1)
    passage_words: int = Field(default=120, ge=10, description="target words per passage")
