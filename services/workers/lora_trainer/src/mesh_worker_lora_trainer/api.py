"""HTTP routes the LoRA trainer adds to the SDK's worker API: adapter listing and download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response

from mesh_worker_lora_trainer.adapters import AdapterStore


def adapter_router(store: AdapterStore) -> APIRouter:
    """``GET /artifacts/{adapter_id}.zip`` (the adapter folder zipped), ``GET /adapters``
    (summaries, newest first) and ``GET /adapters/{adapter_id}`` (its adapter_config.json
    and mesh_job.json). Unknown ids answer 404 with a JSON ``detail``."""
    router = APIRouter(tags=["adapters"])

    @router.get("/artifacts/{name}", response_class=Response)
    def get_artifact(name: str) -> Response:
        adapter_id = name.removesuffix(".zip")
        archive = store.zip_bytes(adapter_id) if name.endswith(".zip") else None
        if archive is None:
            raise HTTPException(status_code=404, detail=f"no artifact named {name!r}")
        return Response(
            archive,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/adapters")
    def list_adapters() -> dict[str, Any]:
        return {"adapters": store.summaries()}

    @router.get("/adapters/{adapter_id}")
    def get_adapter(adapter_id: str) -> dict[str, Any]:
        found = store.config(adapter_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no adapter {adapter_id!r}")
        return found

    return router
