"""No README, note or comment names a file, module, name or command that does not exist
(``scripts/doc_references.py``: backticked paths, ``mesh_*`` dotted names, ``python -m``,
``make`` and ``mesh`` commands)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location(
    "mesh_doc_references", ROOT / "scripts" / "doc_references.py"
)
assert _SPEC is not None and _SPEC.loader is not None
refs = importlib.util.module_from_spec(_SPEC)
sys.modules["mesh_doc_references"] = refs
_SPEC.loader.exec_module(refs)

ORCHESTRATOR = ROOT / "services" / "orchestrator"


def test_every_reference_in_the_docs_and_comments_names_something_that_exists() -> None:
    assert refs.documents() and refs.sources()
    assert [str(d) for d in refs.check()] == []


def test_a_readme_naming_what_does_not_exist_is_reported_line_by_line(tmp_path: Path) -> None:
    # A README beside the orchestrator's src/, so that its package paths resolve.
    doc = ORCHESTRATOR / "README.dangling-test.md"
    doc.write_text(
        "The graph lives in `graph.py` and `runs/nothing.py`; draw it with\n"
        "`python -m mesh_orchestrator.diagram` or `make diagrams`; `mesh frobnicate` it;\n"
        "`mesh_contracts.no_such_name`, `api/limits.no_such_function`.\n"
        "```bash\n.venv/bin/python -m pytest tests/test_no_such_file.py\n```\n",
        encoding="utf-8",
    )
    try:
        found = {(d.line, d.text) for d in refs.check_markdown(doc)}
    finally:
        doc.unlink()
    assert found == {
        (1, "graph.py"),
        (1, "runs/nothing.py"),
        (2, "python -m mesh_orchestrator.diagram"),
        (2, "make diagrams"),
        (2, "mesh frobnicate"),
        (3, "mesh_contracts.no_such_name"),
        (3, "api/limits.no_such_function"),
        (5, "tests/test_no_such_file.py"),
    }


def test_what_exists_is_not_reported() -> None:
    doc = ORCHESTRATOR / "README.md"
    for word in (
        "runs/service.py",
        "planning/intent/lexicon/",
        "nodes.py",
        "python -m mesh_orchestrator",
        "make diagram",
        "mesh new-worker demo",
        "mesh_contracts.build_manifest",
        "mesh_orchestrator.runs.mux",
        "api/limits.start_run",
        "image/png",  # a MIME type, not a path
        "tools/call",  # an MCP method
        "mesh_runs_total",  # a metric
    ):
        assert refs.check_word(word, doc), word


def test_a_comment_naming_a_missing_module_is_reported(tmp_path: Path) -> None:
    module = ORCHESTRATOR / "src" / "mesh_orchestrator" / "dangling_test_module.py"
    module.write_text(
        '"""Drawn by ``python -m mesh_orchestrator.diagram``."""\n\n'
        "# see ``graph/nodes.py`` and ``graph/gone.py``\nX = 1\n",
        encoding="utf-8",
    )
    try:
        found = [(d.line, d.text) for d in refs.check_python(module)]
    finally:
        module.unlink()
    assert found == [(1, "python -m mesh_orchestrator.diagram"), (3, "graph/gone.py")]


def test_the_orchestrator_module_map_names_every_module() -> None:
    """The README's module map has a row per folder naming each of its modules, and a row
    naming each top-level module: a module added or renamed without its line fails here."""
    text = (ORCHESTRATOR / "README.md").read_text(encoding="utf-8")
    section = text.split("### Module map", 1)[1].split("\n#", 1)[0]
    rows = {
        line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| `")
    }
    package = ORCHESTRATOR / "src" / "mesh_orchestrator"
    missing = []
    for module in sorted(package.rglob("*.py")):
        rel = module.relative_to(package)
        if module.name == "__init__.py":
            continue
        if len(rel.parts) == 1:
            if not any(f"`{module.name}`" in first for first in rows):
                missing.append(rel.as_posix())
            continue
        row = rows.get(f"`{rel.parts[0]}/`", "")
        if f"`{module.name}`" not in row:
            missing.append(rel.as_posix())
    assert missing == []


def test_the_root_readme_lists_every_package() -> None:
    """The root README's package table names every package under libs/, services/ and
    clients/ (the workers by their list, ``services/workers/*``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| `")]
    named = {line.split("`")[1] for line in table}
    projects = {
        p.parent.relative_to(ROOT).as_posix()
        for folder in ("libs", "services", "clients")
        for p in (ROOT / folder).glob("*/pyproject.toml")
    }
    assert projects - named == set()
    assert "services/workers/*" in named and (ROOT / "services/workers/workers.txt").is_file()
