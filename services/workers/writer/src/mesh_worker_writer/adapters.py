"""LoRA adapters saved by peft under ``<adapters_dir>/<id>/``, loaded on demand.

Ids are checked against the folder before any generation starts (``resolve``), and against
who may use them (``check_owner``: the owner the lora-trainer wrote into ``mesh_job.json``,
or admin; another client's adapter is refused exactly like an unknown one); the peft
wrapping happens lazily on the generation thread (``select``), which holds the model lock,
because loading and switching adapters mutate the one shared model.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mesh_worker.access import may_access

_ADAPTER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_CONFIG = "adapter_config.json"
_JOB = "mesh_job.json"  # written by the lora-trainer: who the adapter belongs to


class UnknownAdapter(ValueError):
    """No adapter folder with that id (or the id is not a valid folder name)."""


class LoraAdapters:
    """The adapter folders on disk and the few of them loaded into the model (an LRU)."""

    def __init__(self, root: Path, cache_size: int = 4) -> None:
        self.root = root
        self.cache_size = cache_size
        self._peft: Any = None  # peft.PeftModel wrapping the base model once one is loaded
        self._loaded: OrderedDict[str, tuple[str, float]] = OrderedDict()  # id -> name, mtime
        self._serial = 0

    def resolve(self, adapter_id: str) -> Path:
        """The folder of ``adapter_id``; raises ``UnknownAdapter`` if there is none."""
        if not _ADAPTER_ID.match(adapter_id) or ".." in adapter_id:
            raise UnknownAdapter(f"unknown adapter {adapter_id!r}: not a valid adapter id")
        folder = self.root / adapter_id
        if not (folder / _CONFIG).is_file():
            raise UnknownAdapter(f"unknown adapter {adapter_id!r}")
        return folder

    def owner(self, adapter_id: str) -> str | None:
        """Who the adapter was trained for (``mesh_job.json``'s ``owner``), or None."""
        try:
            job = json.loads((self.resolve(adapter_id) / _JOB).read_text())
        except (OSError, ValueError, UnknownAdapter):
            return None
        owner = job.get("owner") if isinstance(job, dict) else None
        return owner if isinstance(owner, str) else None

    def check_owner(self, adapter_id: str | None, acting: str | None) -> None:
        """``UnknownAdapter`` (the same as for an unknown id) unless ``acting`` (a scope; None
        on a mesh running open) may use ``adapter_id``."""
        if adapter_id is not None and not may_access(self.owner(adapter_id), acting):
            raise UnknownAdapter(f"unknown adapter {adapter_id!r}")

    def available(self, acting: str | None = None) -> list[str]:
        """Ids of the adapter folders under the root that ``acting`` may use, sorted."""
        if not self.root.is_dir():
            return []
        ids = sorted(p.parent.name for p in self.root.glob(f"*/{_CONFIG}"))
        return [i for i in ids if may_access(self.owner(i), acting)]

    def loaded(self) -> list[str]:
        return list(self._loaded)

    @contextmanager
    def select(self, base: Any, adapter_id: str | None) -> Iterator[Any]:
        """Yield the model to generate with: ``base`` as is, or with ``adapter_id`` active.

        Call only while holding the model lock: it loads, evicts and switches adapters.
        """
        if adapter_id is None:
            if self._peft is None:
                yield base
            else:
                with self._peft.disable_adapter():
                    yield self._peft
            return
        self._peft_model_with(base, adapter_id).set_adapter(self._loaded[adapter_id][0])
        yield self._peft

    def _peft_model_with(self, base: Any, adapter_id: str) -> Any:
        folder = self.resolve(adapter_id)
        mtime = (folder / _CONFIG).stat().st_mtime
        known = self._loaded.get(adapter_id)
        if known is not None and known[1] == mtime:
            self._loaded.move_to_end(adapter_id)
            return self._peft
        from peft import PeftModel  # deferred: only adapter users pay for importing peft

        # peft names adapters by module-dict keys (no '.'), and a folder retrained in place
        # must load beside its stale version before that one can be deleted: so a counter.
        self._serial += 1
        name = f"adapter{self._serial}"
        if self._peft is None:
            self._peft = PeftModel.from_pretrained(base, str(folder), adapter_name=name)
        else:
            self._peft.load_adapter(str(folder), adapter_name=name)
        self._peft.eval()
        if known is not None:
            self._peft.delete_adapter(known[0])
            del self._loaded[adapter_id]
        self._loaded[adapter_id] = (name, mtime)
        while len(self._loaded) > self.cache_size:
            _, (old, _) = self._loaded.popitem(last=False)
            self._peft.delete_adapter(old)
        return self._peft
