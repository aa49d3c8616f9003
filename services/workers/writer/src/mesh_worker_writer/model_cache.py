"""A GGUF model converted once into a Hugging Face folder, so that later starts load it in
about a second instead of converting the GGUF file again.

transformers reads a GGUF file by dequantizing every tensor and rebuilding the tokenizer from
the file's vocabulary: for the bundled SmolLM2-135M that is ~29 s of a writer's start on
this 2-core machine, against ~3 s from the converted folder (the same weights, already
dequantized, so the same answers). The folder is named after the GGUF file and a key of its
path, size, modification time and the torch/transformers versions, so a changed file or a
library upgrade converts again. It is written to a temporary folder and renamed into place
whole: a crash while writing leaves no half folder, and of several writers starting at once
the first rename wins. A folder that fails to load is removed and the GGUF file used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def converted_folder(cache_dir: Path | None, folder: str, gguf_file: str | None) -> Path | None:
    """Where the converted copy of ``folder/gguf_file`` lives (it may not exist yet); None
    when there is nothing to convert (a plain Hugging Face folder) or the cache is off."""
    if cache_dir is None or gguf_file is None:
        return None
    source = Path(folder, gguf_file).resolve()
    try:
        stat = source.stat()
    except OSError:
        return None  # the load itself says what is missing
    import torch
    import transformers

    key = (
        f"{source}|{stat.st_size}|{stat.st_mtime_ns}|{torch.__version__}|{transformers.__version__}"
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / f"{source.stem}-{digest}"


def save_converted(tokenizer: Any, model: Any, target: Path) -> None:
    """Write the loaded model and tokenizer to ``target`` atomically (see the module doc)."""
    from safetensors.torch import save_model

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        tokenizer.save_pretrained(tmp)
        config = model.config.to_dict()
        config.pop("quantization_config", None)  # the weights are plain now
        type(model.config).from_dict(config).save_pretrained(tmp)
        model.generation_config.save_pretrained(tmp)
        save_model(model, str(tmp / "model.safetensors"))  # tied weights stored once
        try:
            os.rename(tmp, target)
        except OSError:  # another writer's rename won: its folder is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
            return
        log.info("converted model written to %s", target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def discard(target: Path) -> None:
    """Remove a converted folder that failed to load (the next start converts again)."""
    shutil.rmtree(target, ignore_errors=True)
