"""``python -m mesh_worker_lora_trainer``: serve the trainer (port 8005 unless WORKER_PORT)."""

from __future__ import annotations

from mesh_worker import serve
from mesh_worker_lora_trainer.api import adapter_router
from mesh_worker_lora_trainer.app import DEFAULT_PORT
from mesh_worker_lora_trainer.settings import LoraSettings
from mesh_worker_lora_trainer.worker import LoraTrainerWorker


def main() -> None:
    worker = LoraTrainerWorker(LoraSettings())
    serve(worker, default_port=DEFAULT_PORT, routers=[adapter_router(worker.store)])


if __name__ == "__main__":
    main()
