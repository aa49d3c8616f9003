"""The one loaded model and its generations, streamed as text deltas. No web framework.

Concurrency: the model is used by one generation at a time (a ``threading.Lock`` taken by
the generation thread), because LoRA adapters switch shared model state and the CPU gains
nothing from interleaving. Callers may open several streams; the extra ones wait for the
lock. Admission (how many may wait) is the callers' business: the SDK limits ``/stream``
and ``/invoke`` to the descriptor's ``max_concurrency``, the OpenAI routes check
``open_streams``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from mesh_worker.model_cache import load_causal_lm
from mesh_worker_writer.adapters import LoraAdapters
from mesh_worker_writer.generation import GenerationParams, GenerationStats, GenerationStream
from mesh_worker_writer.json_constraint import JsonConstraint, UnsupportedSchema
from mesh_worker_writer.patterns import PatternCompiler
from mesh_worker_writer.schema_guard import SchemaRefused, patterns_in
from mesh_worker_writer.settings import WriterSettings

log = logging.getLogger(__name__)


class PromptTooLong(ValueError):
    """The prompt alone does not fit the model's context window."""


class TextGenerator:
    """Loads the model once (``load``), then serves ``open(messages, params)`` streams."""

    def __init__(self, settings: WriterSettings) -> None:
        self.settings = settings
        self.model_id = settings.model_id
        self.device = "cpu"
        self.adapters = LoraAdapters(settings.adapters_dir, settings.adapter_cache_size)
        self.stats = GenerationStats()
        self.model_lock = threading.Lock()
        self.open_streams = 0
        self.tokenizer: Any = None
        self.model: Any = None
        self.json: JsonConstraint | None = None
        self.context_window = 2048
        self.loaded_from = ""  # "gguf", "converted" (model cache) or "folder" (model_path)
        # a JSON schema's patterns, compiled apart (``check_schema``)
        self.patterns = PatternCompiler(settings.json_pattern_seconds)

    @property
    def loaded(self) -> bool:
        return self.model is not None

    def load(self) -> None:
        """Load tokenizer and model (blocking, tens of seconds: run it off the event loop)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        if self.settings.threads:
            torch.set_num_threads(self.settings.threads)
        folder, gguf_file = self.settings.model_source()
        cache = self.settings.model_cache_dir.expanduser() if self.settings.model_cache else None
        loaded = load_causal_lm(
            folder,
            gguf_file,
            cache,
            tokenizer_cls=AutoTokenizer,
            model_cls=AutoModelForCausalLM,
        )
        tokenizer, model, self.loaded_from = loaded.tokenizer, loaded.model, loaded.loaded_from
        self.device = self.settings.resolved_device()
        model.to(self.device).eval()
        self.context_window = int(getattr(model.config, "max_position_embeddings", 2048))
        eos = model.generation_config.eos_token_id
        json_constraint = JsonConstraint(
            tokenizer,
            eos if isinstance(eos, list) else [eos],
            max_string_chars=self.settings.json_max_string_chars,
            required_order=self.settings.json_required_order,
            wrap_up_tokens=self.settings.json_wrap_up_tokens,
        )
        # built now rather than on the first JSON request, which would wait for it (~1 s)
        json_constraint.prepare()
        self.tokenizer, self.model, self.json = tokenizer, model, json_constraint
        log.info("model %s ready on %s", self.model_id, self.device)

    def close(self) -> None:
        self.model = self.tokenizer = self.json = None

    async def check_schema(self, schema: Mapping[str, Any]) -> None:
        """Make ``schema`` safe to ``open`` with: its shape within bounds and its patterns
        compiled (in a separate process, within ``WRITER_JSON_PATTERN_SECONDS``), so the
        enforcer never compiles one itself, neither on the event loop nor holding the model
        lock; raises ``UnsupportedSchema`` saying what is refused (``schema_guard``)."""
        if not isinstance(schema, Mapping):
            return  # ``open`` refuses it
        try:
            await self.patterns.prepare(patterns_in(schema))
        except SchemaRefused as exc:
            raise UnsupportedSchema(str(exc)) from None

    def check_adapter(self, adapter_id: str | None) -> None:
        """Raise ``UnknownAdapter`` unless ``adapter_id`` is None or an adapter folder."""
        if adapter_id is not None:
            self.adapters.resolve(adapter_id)

    def encode(self, messages: Sequence[dict[str, str]]) -> Any:
        """The chat template applied to ``messages``: a BatchEncoding on the model's device."""
        if self.tokenizer is None:
            raise RuntimeError("the model is not loaded")
        enc = self.tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return enc.to(self.device)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def open(
        self, messages: Sequence[dict[str, str]], params: GenerationParams
    ) -> GenerationStream:
        """A not-yet-started stream of text deltas; use it as ``async with``.

        Raises ``UnknownAdapter``, ``PromptTooLong`` or ``UnsupportedSchema`` (a
        ``params.json_schema`` the JSON enforcer cannot follow) before anything starts. The
        answer is cut to fit the context window. A schema must have passed ``check_schema``
        first.
        """
        self.check_adapter(params.adapter)
        enc = self.encode(messages)
        prompt_tokens = int(enc["input_ids"].shape[1])
        room = self.context_window - prompt_tokens
        if room < 1:
            raise PromptTooLong(
                f"the prompt is {prompt_tokens} tokens; the model's context is "
                f"{self.context_window} tokens"
            )
        params = dataclasses.replace(params, max_new_tokens=min(params.max_new_tokens, room))
        enforcer = None
        if params.json_schema is not None:
            assert self.json is not None  # loaded with the tokenizer that encode() used
            enforcer = self.json.enforcer(params.json_schema, params.max_new_tokens)
        return GenerationStream(
            model=self.model,
            tokenizer=self.tokenizer,
            adapters=self.adapters,
            model_lock=self.model_lock,
            stats=self.stats,
            encoding=enc,
            prompt_tokens=prompt_tokens,
            params=params,
            loop=asyncio.get_running_loop(),
            on_open=self._stream_opened,
            on_close=self._stream_closed,
            json_enforcer=enforcer,
        )

    def _stream_opened(self) -> None:
        self.open_streams += 1

    def _stream_closed(self) -> None:
        self.open_streams -= 1

    def health(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "model_loaded": self.loaded,
            "device": self.device,
            "generations": self.stats.as_dict(),
            "adapters_loaded": self.adapters.loaded(),
            "json_constraint_build_s": self.json.build_seconds if self.json else None,
            "json_patterns_killed": self.patterns.killed,
        }
