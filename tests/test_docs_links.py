"""Every relative link in the repository's Markdown names a file or folder that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _markdown() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / f for f in listed if "node_modules" not in f]


def test_relative_links_in_the_docs_resolve() -> None:
    files = _markdown()
    assert any(f.name == "README.md" for f in files)
    broken = []
    for doc in files:
        for link in LINK.findall(doc.read_text(encoding="utf-8")):
            target = link.split("#", 1)[0]
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", link):
                continue  # an anchor in the same page, or a URL
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)}: {link}")
    assert broken == []
