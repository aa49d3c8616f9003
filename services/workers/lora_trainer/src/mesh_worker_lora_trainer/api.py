"""HTTP routes the LoRA trainer adds to the SDK's worker API: adapter listing and download.

Each takes a client's, the orchestrator's or admin's token (``mesh_worker.access``); an
adapter belongs to the owner of the run that trained it, and only that owner (or admin)
sees it: another client's adapter answers 404 exactly like an unknown one. Its owner, admin
or the orchestrator may delete it: the orchestrator's retention does when it removes the
run that trained it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response

from mesh_worker.access import Acting, may_access, may_remove
from mesh_worker_lora_trainer.adapters import AdapterStore


def adapter_router(store: AdapterStore) -> APIRouter:
    """``GET /artifacts/{adapter_id}.zip`` (the adapter folder zipped), ``GET /adapters``
    (summaries of the caller's adapters, newest first) and ``GET /adapters/{adapter_id}``
    (its adapter_config.json and mesh_job.json); ``DELETE /artifacts/{adapter_id}.zip``
    removes the adapter (204). Unknown ids, and other owners' adapters, answer 404 with a
    JSON ``detail``."""
    router = APIRouter(tags=["adapters"])

    def visible(adapter_id: str, acting: str | None) -> bool:
        return store.path(adapter_id) is not None and may_access(store.owner(adapter_id), acting)

    @router.get("/artifacts/{name}", response_class=Response)
    def get_artifact(name: str, acting: Acting) -> Response:
        adapter_id = name.removesuffix(".zip")
        archive = None
        if name.endswith(".zip") and visible(adapter_id, acting):
            archive = store.zip_bytes(adapter_id)
        if archive is None:
            raise HTTPException(status_code=404, detail=f"no artifact named {name[:200]!r}")
        return Response(
            archive,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.delete("/artifacts/{name}", status_code=204, response_class=Response)
    def delete_artifact(name: str, acting: Acting) -> Response:
        adapter_id = name.removesuffix(".zip")
        ours = store.path(adapter_id) is not None and may_remove(store.owner(adapter_id), acting)
        if not name.endswith(".zip") or not ours:
            raise HTTPException(status_code=404, detail=f"no artifact named {name[:200]!r}")
        store.remove(adapter_id)
        return Response(status_code=204)

    @router.get("/adapters")
    def list_adapters(acting: Acting) -> dict[str, Any]:
        return {"adapters": [a for a in store.summaries() if may_access(a["owner"], acting)]}

    @router.get("/adapters/{adapter_id}")
    def get_adapter(adapter_id: str, acting: Acting) -> dict[str, Any]:
        found = store.config(adapter_id) if visible(adapter_id, acting) else None
        if found is None:
            raise HTTPException(status_code=404, detail=f"no adapter {adapter_id[:200]!r}")
        return found

    return router
