"""``python -m mesh_worker_image_gen``: serve the image worker (port 8004 unless WORKER_PORT)."""

from __future__ import annotations

from mesh_worker import serve
from mesh_worker_image_gen.app import build
from mesh_worker_image_gen.settings import ImageGenSettings
from mesh_worker_image_gen.worker import DEFAULT_PORT


def main() -> None:
    worker, routers = build(ImageGenSettings())
    serve(worker, default_port=DEFAULT_PORT, routers=routers)


if __name__ == "__main__":
    main()
