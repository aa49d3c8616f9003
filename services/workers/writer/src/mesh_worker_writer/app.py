"""Assembly: the engine, the ``Worker`` around it and the OpenAI routes, as one service."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from mesh_worker import WorkerSettings, create_worker_app
from mesh_worker_writer.api import create_openai_router
from mesh_worker_writer.engine import TextGenerator
from mesh_worker_writer.settings import WriterSettings
from mesh_worker_writer.worker import DEFAULT_PORT, WriterWorker


def build(
    settings: WriterSettings, worker_settings: WorkerSettings
) -> tuple[WriterWorker, list[APIRouter]]:
    """The worker and its extra routers, sharing one (not yet loaded) model.

    The SDK's lifespan calls ``worker.startup()``, which loads the model once.
    """
    engine = TextGenerator(settings)
    worker = WriterWorker(engine)
    return worker, [create_openai_router(engine, ping_seconds=worker_settings.ping_seconds)]


def create_app(
    settings: WriterSettings | None = None, worker_settings: WorkerSettings | None = None
) -> FastAPI:
    """The writer service: worker API plus ``/v1`` OpenAI-compatible routes."""
    worker_settings = worker_settings or WorkerSettings.for_port(DEFAULT_PORT)
    worker, routers = build(settings or WriterSettings(), worker_settings)
    return create_worker_app(worker, worker_settings, routers=routers)
