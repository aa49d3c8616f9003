"""``create_app``: the LoRA trainer as a FastAPI service (the SDK's worker API + adapters)."""

from __future__ import annotations

from fastapi import FastAPI

from mesh_worker import WorkerSettings, create_worker_app
from mesh_worker_lora_trainer.api import adapter_router
from mesh_worker_lora_trainer.settings import LoraSettings
from mesh_worker_lora_trainer.worker import LoraTrainerWorker

DEFAULT_PORT = 8005


def build_worker(
    settings: LoraSettings | None = None, worker_settings: WorkerSettings | None = None
) -> tuple[LoraTrainerWorker, WorkerSettings]:
    """The worker (base model not loaded yet: the lifespan loads it) and its ``WORKER_*``
    settings; artifact URLs use ``worker_settings.base_url`` (``WORKER_PUBLIC_URL``)."""
    ws = worker_settings or WorkerSettings.for_port(DEFAULT_PORT)
    return LoraTrainerWorker(settings or LoraSettings(), ws.base_url), ws


def create_app(
    settings: LoraSettings | None = None, worker_settings: WorkerSettings | None = None
) -> FastAPI:
    """The worker API plus ``/artifacts/{adapter_id}.zip``, ``/adapters``, ``/adapters/{id}``."""
    worker, ws = build_worker(settings, worker_settings)
    return create_worker_app(worker, ws, routers=[adapter_router(worker.store)])
