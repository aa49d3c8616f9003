"""A GGUF causal LM converted once into a Hugging Face folder, so that later starts load it in
about a second instead of converting the GGUF file again. Used by the writer and the LoRA
trainer (``load_causal_lm``).

transformers reads a GGUF file by dequantizing every tensor and rebuilding the tokenizer from
the file's vocabulary: for the bundled SmolLM2-135M that is ~25-40 s of a start on a 2-core
machine, against ~2 s from the converted folder (the same weights, already dequantized, so
the same logits).

The folder's name is the GGUF file's stem and a key of everything the conversion depends
on: the file's *contents* (sha256: a different file never reads another's folder, and one
file copied to several places shares one), the load's options (``dtype``), the versions of
the libraries that convert and write it (torch, transformers, tokenizers, gguf,
safetensors) and ``FORMAT`` (this module's own layout). It is written to a temporary folder
and renamed into place whole: a crash while writing leaves no half folder, only a
``.converting-*`` one that is never read, and of several processes converting at once the
first rename wins. A folder that fails to load is removed, and the GGUF file converted again.

torch and transformers are imported lazily (see ``mesh_worker.models``); the caller passes
the transformers classes, so the SDK never imports transformers itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The layout this module writes; bump it when ``save_converted`` changes what it writes.
FORMAT = 1
#: The libraries whose versions key a converted folder (a new one converts again).
CONVERTERS = ("torch", "transformers", "tokenizers", "gguf", "safetensors")


@dataclass
class LoadedLM:
    """A loaded tokenizer and causal LM, and what they were read from: ``gguf`` (converted
    now), ``converted`` (the cache's folder) or ``folder`` (a plain Hugging Face folder)."""

    tokenizer: Any
    model: Any
    loaded_from: str


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def file_digest(path: Path) -> str:
    """sha256 of the file's contents (~0.3 s for SmolLM2's 98 MB)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def converted_folder(
    cache_dir: Path | None, folder: str | Path, gguf_file: str | None, **options: Any
) -> Path | None:
    """Where the converted copy of ``folder/gguf_file`` loaded with ``options`` (the
    ``from_pretrained`` keywords, e.g. ``dtype``) lives; it may not exist yet. None when there
    is nothing to convert (a plain Hugging Face folder), the file is missing (the load itself
    says so) or the cache is off (``cache_dir`` None)."""
    if cache_dir is None or gguf_file is None:
        return None
    source = Path(folder, gguf_file)
    try:
        digest = file_digest(source)
    except OSError:
        return None
    opts = ",".join(f"{k}={v}" for k, v in sorted(options.items()))
    versions = ",".join(f"{d}={_version(d)}" for d in CONVERTERS)
    key = f"{FORMAT}|{digest}|{opts}|{versions}"
    return cache_dir / f"{source.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


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
        except OSError:  # another process's rename won: its folder is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
            return
        log.info("converted model written to %s", target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def discard(target: Path) -> None:
    """Remove a converted folder that failed to load (the next load converts again)."""
    shutil.rmtree(target, ignore_errors=True)


def load_causal_lm(
    folder: str | Path,
    gguf_file: str | None,
    cache_dir: Path | None,
    *,
    tokenizer_cls: Any,
    model_cls: Any,
    **options: Any,
) -> LoadedLM:
    """The tokenizer and model of the local folder ``folder`` (with ``gguf_file``: that GGUF
    file in it), read with ``tokenizer_cls.from_pretrained`` and ``model_cls.from_pretrained(...,
    **options)`` (transformers' ``AutoTokenizer`` and ``AutoModelForCausalLM``, passed in).

    With ``cache_dir`` (None: off) a GGUF file is read from its converted folder when there
    is one that loads, else converted and the folder written for the next start (a disk that
    refuses it is logged, not raised). Blocking, seconds. The loaders' own errors (a missing
    or unreadable model) propagate."""
    converted = converted_folder(cache_dir, folder, gguf_file, **options)
    if converted is not None and converted.is_dir():
        try:
            tokenizer = tokenizer_cls.from_pretrained(converted)
            model = model_cls.from_pretrained(converted, **options)
        except Exception:  # a damaged copy: the GGUF file is the source of truth
            log.warning("converted model %s failed to load; converting again", converted)
            discard(converted)
        else:
            log.info("model loaded from its converted copy %s", converted)
            return LoadedLM(tokenizer, model, "converted")
    kw: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {"local_files_only": True}
    log.info("loading model from %s %s", folder, gguf_file or "")
    tokenizer = tokenizer_cls.from_pretrained(str(folder), **kw)
    model = model_cls.from_pretrained(str(folder), **kw, **options)
    if converted is not None:
        try:
            save_converted(tokenizer, model, converted)
        except OSError as exc:  # a read-only or full disk: the next start converts again
            log.warning("converted model not kept in %s: %s", converted.parent, exc)
    return LoadedLM(tokenizer, model, "gguf" if gguf_file else "folder")
