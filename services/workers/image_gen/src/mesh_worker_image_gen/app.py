"""``create_app``: the image worker as a FastAPI service (the SDK's worker API + artifacts)."""

from __future__ import annotations

from fastapi import FastAPI

from mesh_worker import WorkerSettings, create_worker_app
from mesh_worker_image_gen.api import artifact_router
from mesh_worker_image_gen.settings import ImageGenSettings
from mesh_worker_image_gen.worker import ImageGenWorker

DEFAULT_PORT = 8004


def build_worker(
    settings: ImageGenSettings | None = None, worker_settings: WorkerSettings | None = None
) -> tuple[ImageGenWorker, WorkerSettings]:
    """The worker (model not loaded yet: the lifespan loads it) and its ``WORKER_*`` settings;
    artifact URLs use ``worker_settings.base_url`` (``WORKER_PUBLIC_URL``)."""
    ws = worker_settings or WorkerSettings.for_port(DEFAULT_PORT)
    return ImageGenWorker(settings or ImageGenSettings(), ws.base_url), ws


def create_app(
    settings: ImageGenSettings | None = None, worker_settings: WorkerSettings | None = None
) -> FastAPI:
    """``/health``, ``/descriptor``, ``/invoke``, ``/stream`` and ``GET /artifacts/{name}``."""
    worker, ws = build_worker(settings, worker_settings)
    return create_worker_app(worker, ws, routers=[artifact_router(worker.store)])
