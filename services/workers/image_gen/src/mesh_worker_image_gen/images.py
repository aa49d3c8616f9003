"""Where generated PNGs live, who each is for, and which names may be served back."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}\.png$")


class ImageStore:
    """A folder of PNGs named ``<id>.png``, each with ``<id>.png.json`` saying who it was made
    for (``{"owner": ...}``, the run's owner). Only such names are ever resolved, so a
    request cannot reach outside the folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, png: bytes, stem: str | None = None, owner: str | None = None) -> str:
        """Write ``png`` (and its owner) and return its file name."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"{stem or uuid.uuid4().hex}.png"
        meta = self.root / f".{name}.json.tmp"
        meta.write_text(json.dumps({"owner": owner}))
        meta.replace(self.root / f"{name}.json")  # the owner first: never an unowned image
        tmp = self.root / f".{name}.tmp"
        tmp.write_bytes(png)
        tmp.replace(self.root / name)  # a reader never sees half a file
        return name

    def owner(self, name: str) -> str | None:
        """Who ``name`` was made for (None: an open mesh, or unknown)."""
        if not _NAME.match(name):
            return None
        try:
            owner = json.loads((self.root / f"{name}.json").read_text()).get("owner")
        except (OSError, ValueError, AttributeError):
            return None
        return owner if isinstance(owner, str) else None

    def path(self, name: str) -> Path | None:
        """The file for ``name``, or ``None`` when the name is invalid or unknown."""
        if not _NAME.match(name):
            return None
        path = self.root / name
        return path if path.is_file() else None

    def remove(self, name: str) -> bool:
        """Delete ``name`` and its owner file; False when the name is invalid or unknown."""
        path = self.path(name)
        if path is None:
            return False
        path.unlink(missing_ok=True)
        (self.root / f"{name}.json").unlink(missing_ok=True)  # the image first: never unowned
        return True
