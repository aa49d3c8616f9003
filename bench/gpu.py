"""GPU check for the two GPU workers: the same model run in-process and through the worker.

Run: ``.venv/bin/python bench/gpu.py`` (needs CUDA; on a CPU-only machine it says so and
exits 0), or ``--allow-cpu`` to run the tiny random models on the CPU and show that the
comparison works. For each worker it measures

* **direct**: the worker package's own core in this process (``ImagePipeline.generate``,
  ``train_lora``), and
* **worker**: ``python -m <worker>`` on a loopback port, driven over ``POST /stream``
  (progress events, then the artifact), timed from request to the ``done`` frame,

and reports throughput (images/s and denoising steps/s; training steps/s and tokens/s)
and the worker's overhead as ``worker seconds / direct seconds``. ``--json PATH`` writes
the rows. One model is on the GPU at a time: the direct run frees it before the worker
process starts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from mesh_contracts import SSEDecoder
from mesh_testkit import free_port, running

EXAMPLES = [
    f"Example {i}: the quick brown fox jumps over the lazy dog, then naps in the sun."
    for i in range(64)
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--allow-cpu", action="store_true", help="without CUDA, run the tiny models")
    p.add_argument("--only", choices=["image", "lora"], help="bench one worker only")
    p.add_argument(
        "--imagegen-model",
        type=Path,
        default=os.environ.get("IMAGEGEN_MODEL_PATH") or None,
        help="local diffusers folder (default: $IMAGEGEN_MODEL_PATH, else the tiny model)",
    )
    p.add_argument(
        "--lora-base",
        default=os.environ.get("LORA_BASE_MODEL_PATH") or None,
        help="local HF causal-LM folder, or 'tiny' (default: SmolLM2 GGUF on a GPU, tiny on CPU)",
    )
    p.add_argument("--images", type=int, help="timed images (default 3 GPU / 2 CPU)")
    p.add_argument("--steps", type=int, help="denoising steps (default 30 GPU / 4 CPU)")
    p.add_argument("--size", type=int, help="image width=height (default 512 GPU / 64 CPU)")
    p.add_argument("--lora-steps", type=int, help="training steps (default 50 GPU / 5 CPU)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--json", type=Path, help="write the result rows to this file")
    return p.parse_args(argv)


def free_device_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def stream(url: str, inp: dict[str, Any], timeout: float = 3600) -> list[dict[str, Any]]:
    """POST /stream and collect the events up to ``done``; raise on an ``error`` event."""
    events: list[dict[str, Any]] = []
    decoder = SSEDecoder()
    with httpx.stream("POST", f"{url}/stream", json={"input": inp}, timeout=timeout) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_bytes():
            for msg in decoder.feed(chunk):
                event = msg.json()
                if event.get("type") == "error":
                    raise RuntimeError(f"worker error: {event}")
                events.append(event)
    if not events or events[-1].get("type") != "done":
        raise RuntimeError(f"stream ended without done: {events[-3:]}")
    return events


def worker_env(port: int, extra: dict[str, str]) -> dict[str, str]:
    return {
        "WORKER_PORT": str(port),
        "WORKER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WORKER_DISCOVERY_URL": "",
        **extra,
    }


def bench_image(args: argparse.Namespace, device: str, tmp: Path) -> list[dict[str, Any]]:
    from mesh_worker_image_gen.pipeline import ImagePipeline, ImageRequest

    cpu = device == "cpu"
    n = args.images or (2 if cpu else 3)
    steps = args.steps or (4 if cpu else 30)
    side = args.size or (64 if cpu else 512)
    prompt = "a lighthouse at dusk, oil painting"
    inp: dict[str, Any] = {"prompt": prompt, "steps": steps}
    inp |= {"width": side, "height": side, "guidance": 7.5}

    pipe = ImagePipeline.load(args.imagegen_model, device=device)
    model = pipe.model
    never = threading.Event()
    warm = ImageRequest(prompt, None, 2, 7.5, side, side, 0)
    pipe.generate(warm, never)  # first call compiles kernels, allocates: not timed
    t0 = time.perf_counter()
    for i in range(n):
        pipe.generate(ImageRequest(prompt, None, steps, 7.5, side, side, i), never)
    if not cpu:
        import torch

        torch.cuda.synchronize()
    direct = time.perf_counter() - t0
    del pipe
    free_device_memory()

    port = free_port()
    env = {"IMAGEGEN_DEVICE": device, "IMAGEGEN_OUTPUT_DIR": str(tmp / "images")}
    if args.imagegen_model:
        env["IMAGEGEN_MODEL_PATH"] = str(args.imagegen_model)
    with running("mesh_worker_image_gen", port, worker_env(port, env), startup_timeout=900) as svc:
        stream(svc.url, {**inp, "steps": 2, "seed": 0})  # warm-up
        t0 = time.perf_counter()
        for i in range(n):
            events = stream(svc.url, {**inp, "seed": i})
            progress = [e for e in events if e["type"] == "progress"]
            artifacts = [e for e in events if e["type"] == "artifact"]
            assert len(progress) == steps and len(artifacts) == 1, events
        via_worker = time.perf_counter() - t0
    common = {"worker": "image-gen", "model": model, "device": device, "unit": "images"}
    common |= {"work": f"{n} x {steps} steps @ {side}px"}
    return [
        {**common, "mode": mode, "seconds": s, "images_per_s": n / s, "steps_per_s": n * steps / s}
        for mode, s in (("direct", direct), ("worker", via_worker))
    ]


def bench_lora(args: argparse.Namespace, device: str, tmp: Path) -> list[dict[str, Any]]:
    from mesh_worker_lora_trainer.base_model import load_base_model
    from mesh_worker_lora_trainer.dataset import from_items
    from mesh_worker_lora_trainer.settings import LoraSettings
    from mesh_worker_lora_trainer.trainer import TrainConfig, train_lora

    cpu = device == "cpu"
    steps = args.lora_steps or (5 if cpu else 50)
    base_arg = args.lora_base or ("tiny" if cpu else None)
    env = {"LORA_DEVICE": device, "LORA_ADAPTERS_DIR": str(tmp / "adapters")}
    if base_arg == "tiny":
        env["LORA_BASE_MODEL"] = "tiny"
    elif base_arg:
        env["LORA_BASE_MODEL_PATH"] = str(base_arg)
    settings = LoraSettings(
        base_model="tiny" if base_arg == "tiny" else "",
        base_model_path=Path(base_arg) if base_arg and base_arg != "tiny" else None,
        device=device,  # type: ignore[arg-type]
    )
    inp: dict[str, Any] = {"examples": EXAMPLES, "steps": steps, "rank": 8, "seed": 0}
    inp |= {"batch_size": args.batch_size, "max_length": args.max_length, "learning_rate": 2e-4}

    base = load_base_model(settings)
    model = base.name
    never = threading.Event()
    target = ("q_proj", "v_proj")
    cfg = TrainConfig(steps, 2e-4, 8, 16, 0.05, target, args.batch_size, args.max_length, 0)
    examples = from_items(list(EXAMPLES))
    save_dir = tmp / "direct-adapter"

    def save(peft_model: Any, result: Any) -> None:
        peft_model.save_pretrained(str(save_dir))  # the worker saves too: same work

    train_lora(base, examples, replace(cfg, steps=2), never, lambda m, r: None)  # warm-up
    t0 = time.perf_counter()
    result = train_lora(base, examples, cfg, never, save)
    direct = time.perf_counter() - t0
    direct_tokens = result.tokens
    del base
    free_device_memory()

    port = free_port()
    with running(
        "mesh_worker_lora_trainer", port, worker_env(port, env), startup_timeout=900
    ) as svc:
        stream(svc.url, {**inp, "steps": 2})  # warm-up
        t0 = time.perf_counter()
        events = stream(svc.url, inp)
        via_worker = time.perf_counter() - t0
    [artifact] = [e for e in events if e["type"] == "artifact"]
    assert sum(e["type"] == "progress" for e in events) == steps, events
    common = {"worker": "lora-trainer", "model": model, "device": device, "unit": "steps"}
    common |= {"work": f"{steps} steps x batch {args.batch_size}"}
    return [
        {**common, "mode": mode, "seconds": s, "steps_per_s": steps / s, "tokens_per_s": tok / s}
        for mode, s, tok in (
            ("direct", direct, direct_tokens),
            ("worker", via_worker, artifact["tokens"]),
        )
    ]


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        "worker",
        "mode",
        "model",
        "work",
        "seconds",
        "images/s",
        "steps/s",
        "tokens/s",
        "overhead",
    )
    lines = [head]
    direct_s = {r["worker"]: r["seconds"] for r in rows if r["mode"] == "direct"}
    for r in rows:
        ratio = r["seconds"] / direct_s[r["worker"]]
        r["overhead"] = ratio if r["mode"] == "worker" else 1.0

        def fmt(key: str, r: dict[str, Any] = r) -> str:
            return f"{r[key]:.2f}" if key in r else "-"

        lines.append(
            (
                r["worker"],
                r["mode"],
                str(r["model"]),
                r["work"],
                f"{r['seconds']:.2f}",
                fmt("images_per_s"),
                fmt("steps_per_s"),
                fmt("tokens_per_s"),
                f"{ratio:.3f}x",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if torch.cuda.is_available():
        device = "cuda"
        print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    elif args.allow_cpu:
        device = "cpu"
        print("No CUDA: running the tiny models on the CPU (the figures mean nothing).")
    else:
        print("bench/gpu.py needs a CUDA GPU and torch sees none; nothing measured.")
        print("Use --allow-cpu to run the tiny models on the CPU and check the comparison works.")
        return 0
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        if args.only in (None, "image"):
            rows += bench_image(args, device, Path(tmp))
        if args.only in (None, "lora"):
            rows += bench_lora(args, device, Path(tmp))
    print_table(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
