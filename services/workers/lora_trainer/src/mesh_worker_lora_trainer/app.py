"""``create_app``: the LoRA trainer as a FastAPI service (the SDK's worker API + adapters)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from mesh_worker import WorkerSettings, create_worker_app
from mesh_worker_lora_trainer.api import adapter_router
from mesh_worker_lora_trainer.settings import LoraSettings
from mesh_worker_lora_trainer.worker import DEFAULT_PORT, LoraTrainerWorker


def build(settings: LoraSettings) -> tuple[LoraTrainerWorker, list[APIRouter]]:
    """The worker and its extra routers (what ``create_app`` and ``__main__`` serve)."""
    worker = LoraTrainerWorker(settings)
    return worker, [adapter_router(worker.store)]


def create_app(
    settings: LoraSettings | None = None, worker_settings: WorkerSettings | None = None
) -> FastAPI:
    """The worker API plus ``/artifacts/{adapter_id}.zip``, ``/adapters``, ``/adapters/{id}``;
    the base model loads in the lifespan. Artifact URLs start with the worker's public URL."""
    worker, routers = build(settings or LoraSettings())
    ws = worker_settings or WorkerSettings.for_port(DEFAULT_PORT)
    return create_worker_app(worker, ws, routers=routers)
