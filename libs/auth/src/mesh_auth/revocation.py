"""Revoked token ids (``jti``): a leaked token refused everywhere, without re-keying.

One id per line in a file (``MESH_AUTH_REVOKED_FILE``; ``#`` starts a comment; blank lines
are skipped). ``mesh token revoke`` appends to it. Every service that verifies tokens looks
at the file's modification time at most once a second and re-reads it when it changed, so
a revocation takes effect within a second of the file reaching the service (a Kubernetes
ConfigMap volume is updated by the kubelet within about a minute). A file that cannot be
read keeps the list read before, and says so in the log; a file missing at start-up is an
empty list (the path may be mounted later).
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)

MAX_BYTES = 8 << 20  # a list of ~200,000 ids; past that, rotate the key instead
_JTI = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class RevocationList:
    """``jti in revoked``: whether a token id is revoked, re-reading ``path`` on change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: frozenset[str] = frozenset()
        self._mtime: int | None = None
        self._checked = float("-inf")
        self._reread()

    def __repr__(self) -> str:
        return f"RevocationList({str(self.path)!r}, {len(self._ids)} ids)"

    def __contains__(self, jti: object) -> bool:
        now = time.monotonic()
        if now - self._checked >= 1.0:
            self._checked = now
            self._reread()
        return isinstance(jti, str) and jti in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def _reread(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            if self._ids:
                log.error(
                    "revocation list %s is gone; keeping the %d ids read before",
                    self.path,
                    len(self._ids),
                )
            return
        except OSError as exc:
            log.error("revocation list %s: %s; keeping the ids read before", self.path, exc)
            return
        if stat.st_mtime_ns == self._mtime:
            return
        if stat.st_size > MAX_BYTES:
            log.error("revocation list %s is larger than %d bytes; not read", self.path, MAX_BYTES)
            return
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.error("revocation list %s: %s; keeping the ids read before", self.path, exc)
            return
        self._ids = frozenset(parse(text))
        self._mtime = stat.st_mtime_ns
        log.info("revocation list %s: %d revoked token ids", self.path, len(self._ids))


def parse(text: str) -> list[str]:
    """The ids in a revocation list's text (malformed lines are skipped)."""
    out = []
    for line in text.splitlines():
        item = line.split("#", 1)[0].strip()
        if item and _JTI.match(item):
            out.append(item)
    return out


__all__ = ["RevocationList", "parse"]
