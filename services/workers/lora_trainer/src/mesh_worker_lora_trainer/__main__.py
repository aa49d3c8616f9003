"""``python -m mesh_worker_lora_trainer``: serve the trainer (port 8005 unless WORKER_PORT)."""

from __future__ import annotations

from mesh_worker import serve
from mesh_worker_lora_trainer.app import build
from mesh_worker_lora_trainer.settings import LoraSettings
from mesh_worker_lora_trainer.worker import DEFAULT_PORT


def main() -> None:
    worker, routers = build(LoraSettings())
    serve(worker, default_port=DEFAULT_PORT, routers=routers)


if __name__ == "__main__":
    main()
