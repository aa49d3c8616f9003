"""Write ``manifest.json``: the five shipped workers' descriptors, as the planner sees them.

``python -m bench.planning.snapshot`` builds each worker's ``describe()`` without loading a
model (the workers are constructed around stand-ins for their engines), fills the input
schema from the worker's ``Input`` model as the worker SDK does, and writes the descriptors.
Run it again when a worker's description, skills or input schema change.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mesh_contracts import AgentDescriptor

OUT = Path(__file__).resolve().parent / "manifest.json"


def descriptors() -> list[AgentDescriptor]:
    from mesh_worker_analyst.worker import AnalystWorker
    from mesh_worker_image_gen.worker import ImageGenWorker
    from mesh_worker_lookup.worker import LookupWorker
    from mesh_worker_lora_trainer.worker import LoraTrainerWorker
    from mesh_worker_writer.worker import WriterWorker

    engine = SimpleNamespace(
        settings=SimpleNamespace(max_concurrency=1),
        model_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        adapters=SimpleNamespace(available=lambda: []),
    )
    from mesh_worker_image_gen.settings import ImageGenSettings
    from mesh_worker_lora_trainer.settings import LoraSettings

    scratch = Path(tempfile.mkdtemp(prefix="mesh-snapshot-"))
    workers: list[Any] = [
        WriterWorker(engine),  # type: ignore[arg-type]
        AnalystWorker(),
        LookupWorker(),
        ImageGenWorker(ImageGenSettings(output_dir=scratch / "images")),
        LoraTrainerWorker(LoraSettings(adapters_dir=scratch / "adapters")),
    ]
    out = []
    for w in workers:
        d = w.describe()
        d = d.model_copy(update={"metadata": {}, "instance_id": d.agent_id})
        if "input_schema" not in d.model_fields_set:
            d = d.model_copy(update={"input_schema": w.Input.model_json_schema()})
        out.append(d)
    return out


def main() -> None:
    body = [d.model_dump(mode="json") for d in descriptors()]
    OUT.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(body)} descriptors to {OUT}")


if __name__ == "__main__":
    main()
