"""``create_app``: the LoRA trainer as a FastAPI service (the SDK's worker API + adapters)."""

from __future__ import annotations

from fastapi import FastAPI

from mesh_worker import WorkerSettings, create_worker_app
from mesh_worker_lora_trainer.api import adapter_router
from mesh_worker_lora_trainer.settings import LoraSettings
from mesh_worker_lora_trainer.worker import LoraTrainerWorker

DEFAULT_PORT = 8005


def create_app(
    settings: LoraSettings | None = None, worker_settings: WorkerSettings | None = None
) -> FastAPI:
    """The worker API plus ``/artifacts/{adapter_id}.zip``, ``/adapters``, ``/adapters/{id}``;
    the base model loads in the lifespan. Artifact URLs start with the worker's public URL."""
    worker = LoraTrainerWorker(settings or LoraSettings())
    ws = worker_settings or WorkerSettings.for_port(DEFAULT_PORT)
    return create_worker_app(worker, ws, routers=[adapter_router(worker.store)])
