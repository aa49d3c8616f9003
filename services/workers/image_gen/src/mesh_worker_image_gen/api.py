"""HTTP routes the image worker adds to the SDK's worker API: artifact downloads and
deletion.

A client's, the orchestrator's or admin's token (``mesh_worker.access``); an image belongs
to the owner of the run that made it, and another client's answers 404 like an unknown one.
Its owner, admin or the orchestrator may delete it: the orchestrator's retention does when
it removes the run that made it.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import FileResponse

from mesh_worker.access import Acting, may_access, may_remove
from mesh_worker_image_gen.images import ImageStore


def artifact_router(store: ImageStore) -> APIRouter:
    """``GET /artifacts/{name}``: a generated PNG (``image/png``); ``DELETE
    /artifacts/{name}``: 204 once it is gone. 404 for unknown names and other owners'
    images."""
    router = APIRouter(tags=["artifacts"])

    @router.get("/artifacts/{name}", response_class=FileResponse)
    def get_artifact(name: str, acting: Acting) -> FileResponse:
        path = store.path(name)
        if path is None or not may_access(store.owner(name), acting):
            raise HTTPException(status_code=404, detail=f"no artifact named {name[:200]!r}")
        return FileResponse(path, media_type="image/png")

    @router.delete("/artifacts/{name}", status_code=204, response_class=Response)
    def delete_artifact(name: str, acting: Acting) -> Response:
        if store.path(name) is None or not may_remove(store.owner(name), acting):
            raise HTTPException(status_code=404, detail=f"no artifact named {name[:200]!r}")
        store.remove(name)
        return Response(status_code=204)

    return router
