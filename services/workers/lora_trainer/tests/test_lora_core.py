"""The LoRA trainer's core, driven directly (no HTTP): tiny random Llama on CPU."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import PeftModel
from pydantic import ValidationError
from safetensors.torch import load_file

from mesh_contracts import ArtifactEvent, ErrorEvent, ProgressEvent, TaskRequest, WorkerEvent
from mesh_worker.worker import InputError
from mesh_worker_lora_trainer import LoraSettings, LoraTrainerWorker, LoraTrainInput
from mesh_worker_lora_trainer.base_model import (
    LoadedModel,
    ModelLoadError,
    load_base_model,
    tiny_model,
    tiny_tokenizer,
)
from mesh_worker_lora_trainer.dataset import Example
from mesh_worker_lora_trainer.trainer import TrainConfig, train_lora

PUBLIC = "http://lora.test:8005"
EXAMPLES = ["the cat sat on the mat", "the dog sat on the log", "a bird sat on a word"]


@pytest.fixture(scope="module")
def tiny_base() -> LoadedModel:
    return load_base_model(LoraSettings(base_model="tiny", device="cpu"))


@pytest.fixture
def worker(tiny_base: LoadedModel, tmp_path: Path) -> LoraTrainerWorker:
    settings = LoraSettings(
        base_model="tiny", device="cpu", adapters_dir=tmp_path / "adapters", dataset_dir=tmp_path
    )
    w = LoraTrainerWorker(settings)
    w.endpoint = PUBLIC  # what the SDK's runtime binds
    w.model, w.device = tiny_base, "cpu"  # shared across tests; startup is tested below
    return w


async def _train(worker: LoraTrainerWorker, **inp: Any) -> tuple[list[WorkerEvent], Any]:
    events: list[WorkerEvent] = []

    async def emit(event: WorkerEvent) -> None:
        events.append(event)

    out = await worker.run(TaskRequest(input=inp), LoraTrainInput(**inp), emit)
    return events, out


def _no_lora_layers(base: LoadedModel) -> bool:
    return not any("lora" in name for name, _ in base.model.named_modules())


async def test_training_streams_progress_per_step_then_the_adapter_artifact(
    worker: LoraTrainerWorker, tiny_base: LoadedModel
) -> None:
    events, out = await _train(worker, examples=EXAMPLES, steps=3, learning_rate=1e-2, rank=4)

    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert [(p.step, p.total) for p in progress] == [(1, 3), (2, 3), (3, 3)]
    for p in progress:
        extra = p.model_extra or {}
        assert extra["loss"] > 0 and extra["tokens_per_s"] > 0 and extra["learning_rate"] > 0
    artifact = events[-1]
    assert isinstance(artifact, ArtifactEvent)
    adapter_id = out["adapter_id"]
    assert artifact.name == f"{adapter_id}.zip"
    assert artifact.url == f"{PUBLIC}/artifacts/{adapter_id}.zip"
    assert artifact.content_type == "application/zip"

    folder = worker.settings.adapters_dir / adapter_id
    job = json.loads((folder / "mesh_job.json").read_text())
    assert job["status"] == "complete" and job["steps_done"] == 3
    archive = worker.store.zip_bytes(adapter_id)
    assert archive is not None and artifact.size_bytes == len(archive)
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert {"adapter_config.json", "adapter_model.safetensors", "mesh_job.json"} <= set(names)
    # The base model is left as it was, ready for the next job.
    assert _no_lora_layers(tiny_base)


# peft probes a property transformers 5 deprecated (the trainer filters it the same way).
@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")
async def test_the_saved_adapter_loads_back_onto_the_base_model_with_peft(
    worker: LoraTrainerWorker, tiny_base: LoadedModel
) -> None:
    _, out = await _train(worker, examples=EXAMPLES, steps=1, adapter_name="pirate")
    assert out["adapter_id"].startswith("pirate-")
    peft_model = PeftModel.from_pretrained(tiny_base.model, out["path"])
    try:
        assert any("lora_A" in name for name, _ in peft_model.named_parameters())
    finally:
        peft_model.unload()


async def test_the_same_seed_trains_the_same_adapter(worker: LoraTrainerWorker) -> None:
    outs = [
        (await _train(worker, examples=EXAMPLES, steps=2, seed=s, learning_rate=1e-2))[1]
        for s in (5, 5, 6)
    ]
    weights = [load_file(str(Path(o["path"]) / "adapter_model.safetensors")) for o in outs]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_the_first_step_loss_is_the_base_models_own_loss_on_the_completions() -> None:
    # LoRA starts as a no-op (B = 0), so step 1's loss must be what the base model itself
    # gives the completion tokens, however the batch pads, masks and labels them. A random
    # tiny model predicts almost uniformly (every token costs ~ln(vocab)), which would hide
    # a mislabelled token: sharpen its output layer so that tokens cost different amounts.
    tok = tiny_tokenizer()
    model = tiny_model(len(tok), seed=1)
    with torch.no_grad():
        model.lm_head.weight.mul_(200)
    base = LoadedModel(model=model, tokenizer=tok, name="sharp", source="test", device="cpu")
    examples = [
        Example("", "the cat sat on the mat"),
        Example("", "a much longer line, so that the others are padded to its length"),
        Example("Q: hi\nA:", " ahoy"),
    ]
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for ex in examples:
            prompt = tok(ex.prompt, add_special_tokens=False)["input_ids"] if ex.prompt else []
            target = [*tok(ex.completion, add_special_tokens=False)["input_ids"], tok.eos_token_id]
            ids = torch.tensor([prompt + target])
            labels = torch.tensor([[-100] * len(prompt) + target])
            scored = len(target) if prompt else len(target) - 1  # the first token has no context
            total += float(model(input_ids=ids, labels=labels).loss) * scored
            count += scored
    losses: list[float] = []
    cfg = TrainConfig(1, 1e-3, 4, 8, 0.0, ("q_proj", "v_proj"), len(examples), 64, 0)
    train_lora(
        base,
        examples,
        cfg,
        threading.Event(),
        lambda m, r: None,
        lambda r: losses.append(r.loss),
    )
    assert losses == [pytest.approx(total / count, rel=1e-4)]


def test_stopping_saves_a_partial_checkpoint_at_the_current_step(
    tiny_base: LoadedModel, tmp_path: Path
) -> None:
    stop = threading.Event()
    steps: list[int] = []
    saved: list[Any] = []

    def on_step(report: Any) -> None:
        steps.append(report.step)
        if report.step == 2:
            stop.set()

    def save(model: Any, result: Any) -> None:
        model.save_pretrained(str(tmp_path / "ckpt"))
        saved.append(result)

    cfg = TrainConfig(10, 1e-3, 4, 8, 0.0, ("q_proj", "v_proj"), 2, 32, 0)
    result = train_lora(tiny_base, [Example("", t) for t in EXAMPLES], cfg, stop, save, on_step)
    assert steps == [1, 2]
    assert result.partial and result.steps_done == 2 and saved == [result]
    assert (tmp_path / "ckpt" / "adapter_config.json").is_file()
    assert _no_lora_layers(tiny_base)


async def test_a_cancelled_job_stops_early_and_leaves_a_partial_adapter(
    worker: LoraTrainerWorker,
) -> None:
    first_step = asyncio.Event()

    async def emit(event: WorkerEvent) -> None:
        if isinstance(event, ProgressEvent):
            first_step.set()

    inp = LoraTrainInput(examples=EXAMPLES, steps=10_000)
    task = asyncio.create_task(worker.run(TaskRequest(task_id="drop-me"), inp, emit))
    await asyncio.wait_for(first_step.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # run() ends only once the training thread has stopped (and saved the checkpoint).
    assert [t for t in threading.enumerate() if t.name == "lora-trainer-drop-me"] == []
    [adapter] = worker.store.summaries()
    assert adapter["status"] == "partial"
    assert 1 <= adapter["steps_done"] < 10_000


@pytest.mark.parametrize(
    "bad",
    [
        {"examples": []},
        {},
        {"examples": ["a"], "dataset_path": "x.txt"},
        {"examples": ["a"], "steps": 0},
        {"examples": ["a"], "steps": 10_001},
        {"examples": ["a"], "rank": 257},
        {"examples": ["a"], "target_modules": []},
        {"examples": ["a"], "adapter_name": "../etc"},
        {"examples": [{"prompt": "q"}]},
    ],
)
def test_out_of_range_input_is_rejected_by_the_schema(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LoraTrainInput(**bad)


@pytest.mark.parametrize(
    ("inp", "message"),
    [
        ({"dataset_path": "no-such-file.txt"}, "does not exist"),
        ({"dataset_path": "notes.csv"}, ".txt or .jsonl"),
        ({"dataset_path": "/etc/passwd"}, "outside LORA_DATASET_DIR"),
        ({"dataset_path": "../../etc/hosts.txt"}, "outside LORA_DATASET_DIR"),
        ({"examples": ["   ", ""]}, "every example is empty"),
        ({"examples": EXAMPLES, "target_modules": ["nope_proj"]}, "nope_proj"),
    ],
)
async def test_unusable_input_is_an_input_error_and_saves_nothing(
    worker: LoraTrainerWorker, inp: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        await _train(worker, steps=1, **inp)
    assert worker.store.summaries() == []


async def test_datasets_load_from_txt_and_jsonl_files(
    worker: LoraTrainerWorker, tmp_path: Path
) -> None:
    txt = tmp_path / "d.txt"
    txt.write_text("one line\n\nanother line\n")
    jsonl = tmp_path / "d.jsonl"
    rows = [{"prompt": "Q: hi\nA:", "completion": " hello"}, {"text": "plain"}, "bare"]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows))
    for path, count in ((txt, 2), (jsonl, 3)):
        _, out = await _train(worker, dataset_path=str(path), steps=1)
        job = worker.store.config(out["adapter_id"])
        assert job is not None and job["job"]["examples"] == count


async def test_without_a_dataset_dir_no_file_is_read(
    tiny_base: LoadedModel, tmp_path: Path
) -> None:
    (tmp_path / "d.txt").write_text("one line\n")
    w = LoraTrainerWorker(
        LoraSettings(base_model="tiny", device="cpu", adapters_dir=tmp_path / "adapters")
    )
    w.endpoint = PUBLIC
    w.model, w.device = tiny_base, "cpu"
    with pytest.raises(InputError, match="reads no files unless LORA_DATASET_DIR"):
        await _train(w, dataset_path=str(tmp_path / "d.txt"), steps=1)
    assert w.store.summaries() == []


async def test_cuda_out_of_memory_is_reported_and_the_worker_keeps_serving(
    worker: LoraTrainerWorker, tiny_base: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def oom(*a: Any, **kw: Any) -> Any:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    monkeypatch.setattr(tiny_base.model, "forward", oom)
    events, out = await _train(worker, examples=EXAMPLES, steps=2)
    assert out is None
    [error] = events
    assert isinstance(error, ErrorEvent) and error.code == "out_of_memory" and error.retryable
    monkeypatch.undo()
    assert worker.store.summaries() == []
    _, out = await _train(worker, examples=EXAMPLES, steps=1)
    assert out["steps_done"] == 1


def test_a_base_model_path_that_does_not_exist_fails_with_the_path(tmp_path: Path) -> None:
    settings = LoraSettings(base_model_path=tmp_path / "no-such-model", device="cpu")
    with pytest.raises(ModelLoadError, match=r"no-such-model does not exist"):
        load_base_model(settings)


async def test_startup_loads_the_tiny_model_and_describes_the_hardware(tmp_path: Path) -> None:
    w = LoraTrainerWorker(LoraSettings(base_model="tiny", device="cpu"))
    await w.startup()
    d = w.describe()
    assert d.metadata["model"] == "tiny-random"
    assert d.capabilities == ["lora_training"]
    assert d.resources.device == "cpu" and d.max_concurrency == 1 and d.tags == []


def test_a_gguf_base_model_is_converted_once_and_the_cached_copy_gives_the_same_logits(
    tmp_path: Path,
) -> None:
    """The SDK's model cache as the trainer uses it (``LORA_MODEL_CACHE_DIR``), on a tiny GGUF
    file in SmolLM2's layout: a fresh conversion, then the cached copy, identical; a damaged
    copy is converted again; with the cache off nothing is written."""
    from mesh_testkit.tiny_gguf import write_tiny_gguf

    write_tiny_gguf(tmp_path / "tiny.gguf")
    cache = tmp_path / "cache"

    def load(**kw: Any) -> LoadedModel:
        settings = LoraSettings(
            base_model_path=tmp_path, gguf_file="tiny.gguf", model_cache_dir=cache, device="cpu"
        )
        return load_base_model(settings.model_copy(update=kw))

    def logits(base: LoadedModel) -> torch.Tensor:
        ids = base.tokenizer("the cat sat on the mat", return_tensors="pt").input_ids
        with torch.no_grad():
            return base.model(ids).logits  # type: ignore[no-any-return]

    fresh = load()
    assert fresh.loaded_from == "gguf" and fresh.name == "tiny"
    [entry] = cache.iterdir()
    cached = load()
    assert cached.loaded_from == "converted" and cached.name == "tiny"
    assert torch.equal(logits(fresh), logits(cached))
    assert cached.model.dtype == torch.float32 and cached.tokenizer.pad_token is not None
    (entry / "model.safetensors").write_bytes(b"torn")
    assert load().loaded_from == "gguf"  # the damaged copy ignored, the GGUF file converted
    rebuilt = load()  # and the rebuilt copy read again
    assert rebuilt.loaded_from == "converted" and torch.equal(logits(rebuilt), logits(fresh))
    off = load(model_cache=False, model_cache_dir=tmp_path / "unused")
    assert off.loaded_from == "gguf" and not (tmp_path / "unused").exists()
