"""The adapter folder: ``<root>/<adapter_id>/`` in peft ``save_pretrained`` layout.

Each adapter folder holds ``adapter_config.json``, the weights
(``adapter_model.safetensors``) and ``mesh_job.json`` (how it was trained, for whom
(``owner``, the run's owner; absent on a mesh running open), and whether it is
``complete`` or a ``partial`` checkpoint of a cancelled job). Other workers (the writer)
load adapters by id from this layout, so it must stay plain peft.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Any

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
JOB_FILE = "mesh_job.json"
CONFIG_FILE = "adapter_config.json"


def valid_id(adapter_id: str) -> bool:
    return bool(_ID.match(adapter_id))


class AdapterStore:
    """Adapters under one root folder. Ids are validated before touching the disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def new_id(self, name: str | None) -> str:
        """A fresh id: ``<name>-<8 hex>`` (``lora-<8 hex>`` without a name)."""
        return f"{name or 'lora'}-{uuid.uuid4().hex[:8]}"

    def save(self, adapter_id: str, model: Any, job: dict[str, Any]) -> Path:
        """Write ``model.save_pretrained`` plus ``mesh_job.json`` and publish the folder
        atomically (readers never see half an adapter). Returns the folder."""
        final = self.root / adapter_id
        tmp = self.root / f".{adapter_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        with warnings.catch_warnings():
            # A GGUF base folder has no config.json; peft then warns that it assumes the
            # vocabulary unchanged, which is true: LoRA never touches the embeddings here.
            warnings.filterwarnings("ignore", message="Could not find a config file")
            model.save_pretrained(str(tmp))
        job = {"adapter_id": adapter_id, "created_at": time.time(), **job}
        (tmp / JOB_FILE).write_text(json.dumps(job, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        return final

    def path(self, adapter_id: str) -> Path | None:
        if not valid_id(adapter_id):
            return None
        folder = self.root / adapter_id
        return folder if (folder / CONFIG_FILE).is_file() else None

    def owner(self, adapter_id: str) -> str | None:
        """Who the adapter was trained for (``mesh_job.json``'s ``owner``), or None."""
        folder = self.path(adapter_id)
        return _job(folder / JOB_FILE).get("owner") if folder is not None else None

    def config(self, adapter_id: str) -> dict[str, Any] | None:
        """``adapter_config.json`` and ``mesh_job.json`` of one adapter, or ``None``."""
        folder = self.path(adapter_id)
        if folder is None:
            return None
        job_file = folder / JOB_FILE
        return {
            "adapter_id": adapter_id,
            "config": json.loads((folder / CONFIG_FILE).read_text()),
            "job": json.loads(job_file.read_text()) if job_file.is_file() else {},
            "files": sorted(p.name for p in folder.iterdir() if p.is_file()),
        }

    def summaries(self) -> list[dict[str, Any]]:
        """One summary per adapter, newest first."""
        out: list[dict[str, Any]] = []
        if not self.root.is_dir():
            return out
        for folder in self.root.iterdir():
            if not folder.is_dir() or self.path(folder.name) is None:
                continue
            job = _job(folder / JOB_FILE)
            out.append(
                {
                    "adapter_id": folder.name,
                    "owner": job.get("owner"),
                    "status": job.get("status", "unknown"),
                    "base_model": job.get("base_model"),
                    "steps_done": job.get("steps_done"),
                    "final_loss": job.get("final_loss"),
                    "created_at": job.get("created_at"),
                }
            )
        out.sort(key=lambda a: a["created_at"] or 0, reverse=True)
        return out

    def remove(self, adapter_id: str) -> bool:
        """Delete the adapter folder; False when the id is invalid or unknown. Its config
        goes first, so a reader never finds half an adapter it would take for whole."""
        folder = self.path(adapter_id)
        if folder is None:
            return False
        gone = self.root / f".{adapter_id}.removing"
        shutil.rmtree(gone, ignore_errors=True)
        folder.rename(gone)  # no longer an adapter from here on (``path`` says None)
        shutil.rmtree(gone, ignore_errors=True)
        return True

    def zip_bytes(self, adapter_id: str) -> bytes | None:
        """The adapter folder as a zip (files at the top level), or ``None``."""
        folder = self.path(adapter_id)
        if folder is None:
            return None
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(folder.iterdir()):
                if file.is_file():
                    zf.write(file, arcname=file.name)
        return buf.getvalue()


def _job(path: Path) -> dict[str, Any]:
    """A ``mesh_job.json`` (``{}`` when there is none or it cannot be read)."""
    try:
        job = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return job if isinstance(job, dict) else {}
