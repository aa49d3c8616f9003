"""Settings of the image-generation worker (env prefix ``IMAGEGEN_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ImageGenSettings(BaseSettings):
    """What the worker loads and where it writes. The HTTP side (port, public URL, discovery)
    is the worker SDK's ``WORKER_*`` settings."""

    model_config = SettingsConfigDict(env_prefix="IMAGEGEN_", extra="ignore")

    # A local diffusers folder (model_index.json). Unset: a tiny random pipeline built in code.
    model_path: Path | None = Field(
        default=None,
        description="local diffusers folder (model_index.json); unset: a tiny random pipeline built in code",
    )
    output_dir: Path = Field(
        default=Path("var/images"), description="where PNGs are written and served from"
    )
    device: Literal["auto", "cuda", "cpu"] = Field(
        default="auto", description="`auto` (CUDA if available), `cuda`, `cpu`"
    )
    # Images smaller than this travel inline (base64) in the artifact event too.
    inline_max_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        description="images smaller than this travel inline (base64) in the artifact event too",
    )
    # Largest width/height accepted; unset: 1024 for a real model, 256 for the tiny one.
    max_side: int | None = Field(
        default=None,
        ge=8,
        description="largest width/height accepted; unset: 1024 for a real model, 256 for the tiny one",
    )
