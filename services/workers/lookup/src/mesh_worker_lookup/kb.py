"""The knowledge base: documents on disk, chunked into passages for ranking.

Documents are Markdown (``.md``, ``.markdown``, ``.txt``: the first ``# `` heading is the
title, ``##``.. headings open sections) or JSON (``{"title", "sections": [{"heading",
"text"}]}``, ``{"title", "text"}``, or a list of such objects). A section becomes one
passage, or several when it is long (split at paragraphs, about ``max_words`` each).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

SUFFIXES = (".md", ".markdown", ".txt", ".json")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class KnowledgeBaseError(ValueError):
    """A document cannot be read; the message names the file."""


@dataclass(frozen=True)
class Passage:
    """One retrievable unit: the file it came from, a title and the text itself."""

    source: str
    title: str
    text: str


def bundled_dir() -> Traversable:
    """The documents shipped with the package (``mesh_worker_lookup/kb``)."""
    return files("mesh_worker_lookup") / "kb"


def load_passages(
    dirs: Iterable[Traversable | Path], *, max_words: int = 120
) -> tuple[list[Passage], list[str]]:
    """Passages of every document in ``dirs`` and the document names, sorted by name.

    A document in a later directory replaces one with the same file name in an earlier
    one, so an operator's folder can override a bundled document or add new ones.
    """
    chosen: dict[str, Traversable | Path] = {}
    for folder in dirs:
        if not folder.is_dir():
            raise KnowledgeBaseError(f"knowledge base folder {folder} does not exist")
        for entry in folder.iterdir():
            if entry.is_file() and entry.name.lower().endswith(SUFFIXES):
                chosen[entry.name] = entry
    passages: list[Passage] = []
    for name in sorted(chosen):
        text = chosen[name].read_text(encoding="utf-8")
        passages += parse_document(name, text, max_words=max_words)
    return passages, sorted(chosen)


def parse_document(name: str, text: str, *, max_words: int = 120) -> list[Passage]:
    """Chunk one document (its format chosen by the file name's suffix) into passages."""
    if name.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KnowledgeBaseError(f"{name}: invalid JSON: {exc}") from exc
        return _json_passages(name, data, max_words)
    return _markdown_passages(name, text, max_words)


def _markdown_passages(name: str, text: str, max_words: int) -> list[Passage]:
    doc_title = Path(name).stem.replace("-", " ").replace("_", " ")
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines():
        match = _HEADING.match(line)
        before_any_text = len(sections) == 1 and not any(t.strip() for t in sections[0][1])
        if match and len(match.group(1)) == 1 and before_any_text:
            doc_title = match.group(2)
        elif match:
            sections.append((match.group(2), []))
        else:
            sections[-1][1].append(line)
    out: list[Passage] = []
    for heading, lines in sections:
        title = f"{doc_title} > {heading}" if heading else doc_title
        out += _chunks(name, title, "\n".join(lines), max_words)
    return out


def _json_passages(name: str, data: Any, max_words: int) -> list[Passage]:
    items = data if isinstance(data, list) else [data]
    out: list[Passage] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise KnowledgeBaseError(f"{name}: item {n} must be an object with a string 'title'")
        title: str = item["title"]
        if isinstance(item.get("text"), str):
            out += _chunks(name, title, item["text"], max_words)
        for s, section in enumerate(item.get("sections") or []):
            if not isinstance(section, dict) or not isinstance(section.get("text"), str):
                raise KnowledgeBaseError(f"{name}: item {n} section {s} needs a string 'text'")
            heading = section.get("heading")
            full = f"{title} > {heading}" if isinstance(heading, str) and heading else title
            out += _chunks(name, full, section["text"], max_words)
    return out


def _chunks(source: str, title: str, body: str, max_words: int) -> list[Passage]:
    """Paragraphs of ``body`` packed into passages of about ``max_words`` words."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]
    out: list[Passage] = []
    current: list[str] = []
    words = 0
    for para in paragraphs:
        n = len(para.split())
        if current and words + n > max_words:
            out.append(Passage(source, title, "\n\n".join(current)))
            current, words = [], 0
        current.append(para)
        words += n
    if current:
        out.append(Passage(source, title, "\n\n".join(current)))
    return out
