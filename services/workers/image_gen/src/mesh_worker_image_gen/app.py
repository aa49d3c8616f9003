"""``create_app``: the image worker as a FastAPI service (the SDK's worker API + artifacts)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from mesh_worker import WorkerSettings, create_worker_app
from mesh_worker_image_gen.api import artifact_router
from mesh_worker_image_gen.settings import ImageGenSettings
from mesh_worker_image_gen.worker import DEFAULT_PORT, ImageGenWorker


def build(settings: ImageGenSettings) -> tuple[ImageGenWorker, list[APIRouter]]:
    """The worker and its extra routers (what ``create_app`` and ``__main__`` serve)."""
    worker = ImageGenWorker(settings)
    return worker, [artifact_router(worker.store)]


def create_app(
    settings: ImageGenSettings | None = None, worker_settings: WorkerSettings | None = None
) -> FastAPI:
    """``/health``, ``/descriptor``, ``/invoke``, ``/stream`` and ``GET /artifacts/{name}``;
    the model loads in the lifespan. Artifact URLs start with the worker's public URL."""
    worker, routers = build(settings or ImageGenSettings())
    ws = worker_settings or WorkerSettings.for_port(DEFAULT_PORT)
    return create_worker_app(worker, ws, routers=routers)
