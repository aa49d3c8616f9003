"""``output_text``: a task's output as plain text, for the next model that reads it.

One renderer for the mesh's two readers of upstream outputs: the orchestrator, which appends
them to a downstream ``prompt``, and the writer, which puts a task's ``context`` before its
instruction. (The deterministic synthesis presents an output to the user instead, with
placeholders and a source line: ``mesh_orchestrator.synthesis.answer.as_text``.)
"""

from __future__ import annotations

import json
from typing import Any

#: Keys whose string value is the output's text, in the order they are looked for.
TEXT_KEYS = ("text", "answer", "conclusion", "summary", "content")


def output_text(value: Any) -> str:
    """Strings as they are (stripped), search results as their passages (``title: passage``
    each), an object with one of ``TEXT_KEYS`` as that text, anything else as JSON."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        results = value.get("results")
        if isinstance(results, list) and results and all(isinstance(r, dict) for r in results):
            passages = [
                f"{r.get('title') or r.get('source') or 'passage'}: {r['passage']}".strip()
                for r in results
                if isinstance(r.get("passage"), str)
            ]
            if passages:
                return "\n\n".join(passages)
        for key in TEXT_KEYS:
            if isinstance(value.get(key), str):
                return str(value[key]).strip()
    return json.dumps(value, ensure_ascii=False, default=str)
