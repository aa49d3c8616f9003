"""``python -m mesh_worker_lora_trainer``: serve the trainer (port 8005 unless WORKER_PORT)."""

from __future__ import annotations

from mesh_worker import serve
from mesh_worker_lora_trainer.api import adapter_router
from mesh_worker_lora_trainer.app import DEFAULT_PORT, build_worker


def main() -> None:
    worker, ws = build_worker()
    serve(worker, default_port=DEFAULT_PORT, settings=ws, routers=[adapter_router(worker.store)])


if __name__ == "__main__":
    main()
