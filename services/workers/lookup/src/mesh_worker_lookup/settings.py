"""Settings of the lookup worker (env prefix ``LOOKUP_``); the SDK's own are ``WORKER_``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LookupSettings(BaseSettings):
    """``LOOKUP_KB_DIR`` names a folder of extra documents: a file there with the same name
    as a bundled one replaces it, any other file is added to the index."""

    model_config = SettingsConfigDict(env_prefix="LOOKUP_", extra="ignore")

    kb_dir: Path | None = Field(
        default=None,
        description="a folder of `.md`/`.markdown`/`.txt`/`.json` documents; a file named like a bundled one replaces it, others are added",
    )
    k1: float = Field(default=1.5, ge=0, description="BM25 term-frequency saturation")
    b: float = Field(default=0.75, ge=0, le=1, description="BM25 length normalisation")
    passage_words: int = Field(default=120, ge=10, description="target words per passage")
