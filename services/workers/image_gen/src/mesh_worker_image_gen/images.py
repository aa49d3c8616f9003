"""Where generated PNGs live, and which names may be served back."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}\.png$")


class ImageStore:
    """A folder of PNGs named ``<id>.png``. Only such names are ever resolved, so a
    request cannot reach outside the folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, png: bytes, stem: str | None = None) -> str:
        """Write ``png`` and return its file name."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"{stem or uuid.uuid4().hex}.png"
        tmp = self.root / f".{name}.tmp"
        tmp.write_bytes(png)
        tmp.replace(self.root / name)  # a reader never sees half a file
        return name

    def path(self, name: str) -> Path | None:
        """The file for ``name``, or ``None`` when the name is invalid or unknown."""
        if not _NAME.match(name):
            return None
        path = self.root / name
        return path if path.is_file() else None
