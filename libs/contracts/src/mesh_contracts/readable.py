"""A sub-task's output as a person reads it, for every client of the mesh.

``as_text``: a lookup's best passage and its source, an analysis's conclusion, an image's
link, a writer's text, never raw JSON (JSON only for a shape nothing here knows); ``brief``:
the same on one line, at most ``BRIEF_CHARS`` characters. The orchestrator's synthesis and
the CLI's lanes and run view use them, so an output reads the same everywhere.
"""

from __future__ import annotations

import json
from typing import Any

BRIEF_CHARS = 400


def _hits(output: dict[str, Any]) -> list[dict[str, Any]]:
    hits = output.get("results")
    return [h for h in hits if isinstance(h, dict)] if isinstance(hits, list) else []


def as_text(output: Any) -> str:
    """An output as the user reads it."""
    if output is None:
        return "(no output)"
    if isinstance(output, str):
        return output.strip() or "(empty output)"
    if isinstance(output, dict):
        if isinstance(output.get("conclusion"), str):
            return str(output["conclusion"])
        hits = _hits(output)
        if hits:
            top = hits[0]
            source = top.get("source") or top.get("title") or ""
            passage = str(top.get("passage") or top.get("title") or "").strip()
            return passage + (f"\n(source: {source})" if source else "")
        if "results" in output and isinstance(output.get("message"), str):
            return str(output["message"])  # a lookup that found nothing says so
        for key in ("text", "answer", "content", "message"):
            if isinstance(output.get(key), str):
                return str(output[key])
        if isinstance(output.get("url"), str):
            kind = "image" if "width" in output else str(output.get("kind") or "artifact")
            return f"{kind}: {output['url']}"
    return json.dumps(output, ensure_ascii=False, default=str)


def brief(output: Any, limit: int = BRIEF_CHARS) -> str:
    """``as_text`` on one line, at most ``limit`` characters."""
    text = " ".join(as_text(output).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
