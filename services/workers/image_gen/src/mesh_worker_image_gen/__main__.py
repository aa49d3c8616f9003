"""``python -m mesh_worker_image_gen``: serve the image worker (port 8004 unless WORKER_PORT)."""

from __future__ import annotations

from mesh_worker import serve
from mesh_worker_image_gen.api import artifact_router
from mesh_worker_image_gen.app import DEFAULT_PORT
from mesh_worker_image_gen.settings import ImageGenSettings
from mesh_worker_image_gen.worker import ImageGenWorker


def main() -> None:
    worker = ImageGenWorker(ImageGenSettings())
    serve(worker, default_port=DEFAULT_PORT, routers=[artifact_router(worker.store)])


if __name__ == "__main__":
    main()
