"""Training examples: from the request, or from a local .txt / .jsonl file.

Every example is a (prompt, completion) pair; plain text is a pair with an empty prompt.
Only completion tokens count towards the loss, so a prompt is context, not a target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesh_worker.worker import InputError

MAX_EXAMPLES = 100_000


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str


def from_items(items: list[Any]) -> list[Example]:
    """Strings, ``{"text"}`` or ``{"prompt", "completion"}`` objects; blank ones dropped."""
    out: list[Example] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            ex = Example("", item)
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            ex = Example("", item["text"])
        elif (
            isinstance(item, dict)
            and isinstance(item.get("prompt"), str)
            and isinstance(item.get("completion"), str)
        ):
            ex = Example(item["prompt"], item["completion"])
        else:
            raise InputError(
                f"example {i}: expected a string, {{'text'}} or {{'prompt', 'completion'}}"
            )
        if ex.completion.strip():
            out.append(ex)
    if not out:
        raise InputError("no training examples: every example is empty")
    return out


def resolve_dataset(path_text: str, allowed_root: Path | None) -> Path:
    """The dataset file for ``dataset_path`` inside ``allowed_root`` (``LORA_DATASET_DIR``;
    a relative path is taken from there); ``InputError`` when no folder is set (the worker
    then reads no file: examples come inline), when the path resolves (symlinks, ``..``)
    outside it, or when the file is missing or of another kind."""
    if allowed_root is None:
        raise InputError(
            "dataset_path is off: this worker reads no files unless LORA_DATASET_DIR is set;"
            " send the examples inline"
        )
    root = allowed_root.resolve()
    path = (root / path_text).resolve()
    if not path.is_relative_to(root):
        raise InputError(f"dataset_path {path_text[:200]!r} is outside LORA_DATASET_DIR")
    if path.suffix not in (".txt", ".jsonl"):
        raise InputError(f"dataset_path {path_text!r} must be a .txt or .jsonl file")
    if not path.is_file():
        raise InputError(f"dataset_path {path_text!r} does not exist")
    return path


def from_file(path: Path) -> list[Example]:
    """``.txt``: one example per non-blank line. ``.jsonl``: one JSON item per line."""
    items: list[Any] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if len(items) >= MAX_EXAMPLES:
                raise InputError(f"{path.name}: more than {MAX_EXAMPLES} examples")
            if path.suffix == ".txt":
                items.append(line.rstrip("\n"))
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path.name} line {lineno}: invalid JSON ({exc.msg})") from exc
    return from_items(items)
