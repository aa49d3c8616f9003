"""``python -m mesh_worker_writer``: serve the writer (``WORKER_PORT``, default 8001)."""

from __future__ import annotations

import os

from mesh_worker import WorkerSettings, serve
from mesh_worker_writer.app import build
from mesh_worker_writer.settings import WriterSettings
from mesh_worker_writer.worker import DEFAULT_PORT


def main() -> None:
    # transformers' GGUF loader draws a tqdm bar per tensor batch: noise in service logs
    os.environ.setdefault("TQDM_DISABLE", "1")
    worker_settings = WorkerSettings.for_port(DEFAULT_PORT)
    worker, routers = build(WriterSettings(), worker_settings)
    serve(worker, default_port=DEFAULT_PORT, settings=worker_settings, routers=routers)


if __name__ == "__main__":
    main()
