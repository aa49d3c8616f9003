"""HTTP routes the image worker adds to the SDK's worker API: artifact downloads."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from mesh_worker_image_gen.images import ImageStore


def artifact_router(store: ImageStore) -> APIRouter:
    """``GET /artifacts/{name}``: a generated PNG (``image/png``), 404 for unknown names."""
    router = APIRouter(tags=["artifacts"])

    @router.get("/artifacts/{name}", response_class=FileResponse)
    def get_artifact(name: str) -> FileResponse:
        path = store.path(name)
        if path is None:
            raise HTTPException(status_code=404, detail=f"no artifact named {name!r}")
        return FileResponse(path, media_type="image/png")

    return router
