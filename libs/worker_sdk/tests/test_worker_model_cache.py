"""``mesh_worker.model_cache`` on a real GGUF file (``mesh_testkit.tiny_gguf``: a one-layer
Llama in SmolLM2's layout, converted in about a second) and real transformers: the cached
copy gives the same tokens and logits as a fresh conversion, a damaged or partial copy is
ignored and rebuilt, a crash while writing leaves nothing that is read, and the key follows
the file's contents, the load's options and the converters' versions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from mesh_testkit.tiny_gguf import write_tiny_gguf
from mesh_worker import model_cache
from mesh_worker.model_cache import LoadedLM, converted_folder, load_causal_lm

pytest.importorskip("transformers")
pytest.importorskip("gguf")

GGUF = "tiny.gguf"
MESSAGES = [{"role": "user", "content": "the cat sat on the mat"}]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the tiny GGUF file (read-only to the tests: copy it to change it)."""
    folder = tmp_path_factory.mktemp("gguf")
    write_tiny_gguf(folder / GGUF)
    return folder


def _load(folder: Path, cache: Path | None, **options: Any) -> LoadedLM:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return load_causal_lm(
        folder,
        GGUF,
        cache,
        tokenizer_cls=AutoTokenizer,
        model_cls=AutoModelForCausalLM,
        **options,
    )


def _probe(lm: LoadedLM) -> tuple[list[int], Any]:
    import torch

    prompt = lm.tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    ids = lm.tokenizer(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        return ids.tolist(), lm.model(ids).logits


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.iterdir())


def test_the_cached_copy_loads_instead_of_the_gguf_file_with_the_same_tokens_and_logits(
    source: Path, tmp_path: Path
) -> None:
    import torch

    fresh = _load(source, tmp_path)
    assert fresh.loaded_from == "gguf"
    [entry] = _entries(tmp_path)  # one folder, no temporary left behind
    assert entry.name.startswith("tiny-") and (entry / "model.safetensors").is_file()
    cached = _load(source, tmp_path)
    assert cached.loaded_from == "converted"
    (ids1, logits1), (ids2, logits2) = _probe(fresh), _probe(cached)
    assert ids1 == ids2
    assert torch.equal(logits1, logits2)
    uncached = _load(source, None)  # the cache off: no folder, the GGUF file every time
    assert uncached.loaded_from == "gguf" and _entries(tmp_path) == [entry]
    assert torch.equal(_probe(uncached)[1], logits1)


@pytest.mark.parametrize(
    "damage",
    ["weights overwritten", "weights missing", "config missing", "tokenizer missing", "empty"],
)
def test_a_damaged_or_partial_copy_is_ignored_and_converted_again(
    source: Path, tmp_path: Path, damage: str
) -> None:
    import torch

    good = _load(source, tmp_path)
    [entry] = _entries(tmp_path)
    if damage == "weights overwritten":
        (entry / "model.safetensors").write_bytes(b"not a model")
    elif damage == "weights missing":
        (entry / "model.safetensors").unlink()
    elif damage == "config missing":
        (entry / "config.json").unlink()
    elif damage == "tokenizer missing":
        (entry / "tokenizer.json").unlink()
        (entry / "tokenizer_config.json").unlink()
    else:
        shutil.rmtree(entry)
        entry.mkdir()
    again = _load(source, tmp_path)
    assert again.loaded_from == "gguf"  # the GGUF file is the source of truth
    assert torch.equal(_probe(again)[1], _probe(good)[1])
    assert _entries(tmp_path) == [entry]  # rebuilt in place
    assert _load(source, tmp_path).loaded_from == "converted"


def test_a_crash_while_writing_leaves_no_folder_that_is_read(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import safetensors.torch

    def crash(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # the process dies half way through the weights

    monkeypatch.setattr(safetensors.torch, "save_model", crash)
    with pytest.raises(KeyboardInterrupt):
        _load(source, tmp_path)
    assert _entries(tmp_path) == []  # neither the folder nor its temporary
    monkeypatch.undo()
    # A temporary that a killed process (no clean-up) left behind is never read.
    (tmp_path / ".converting-left-behind").mkdir()
    assert _load(source, tmp_path).loaded_from == "gguf"
    assert _load(source, tmp_path).loaded_from == "converted"


def test_a_disk_that_refuses_the_copy_still_loads_the_model(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_cache, "save_converted", full)
    assert _load(source, tmp_path).loaded_from == "gguf"
    assert _entries(tmp_path) == []


def test_the_key_follows_the_files_contents_the_options_and_the_converters(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    entry = converted_folder(cache, source, GGUF)
    assert entry is not None and entry.parent == cache
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(source / GGUF, copy / GGUF)
    assert converted_folder(cache, copy, GGUF) == entry  # same bytes elsewhere: one entry
    write_tiny_gguf(copy / GGUF, seed=1)  # another file at the same path
    assert converted_folder(cache, copy, GGUF) not in (entry, None)
    assert converted_folder(cache, source, GGUF, dtype="bfloat16") != entry
    assert converted_folder(None, source, GGUF) is None  # the cache off
    assert converted_folder(cache, source, None) is None  # a plain folder: nothing to convert
    assert converted_folder(cache, source, "missing.gguf") is None  # the load says what
    monkeypatch.setattr(model_cache, "FORMAT", model_cache.FORMAT + 1)
    assert converted_folder(cache, source, GGUF) != entry
    monkeypatch.undo()
    real = model_cache._version
    for dist in model_cache.CONVERTERS:
        with monkeypatch.context() as m:
            m.setattr(model_cache, "_version", lambda d, dist=dist: "0" if d == dist else real(d))
            assert converted_folder(cache, source, GGUF) != entry, dist
    assert converted_folder(cache, source, GGUF) == entry
