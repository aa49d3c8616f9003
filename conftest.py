"""How the suite splits across pytest-xdist workers (``make test``: ``-n 2 --dist loadgroup``).

Every test gets an ``xdist_group``, so that a group goes whole to one worker:

* by default its file: a module fixture (a mesh of processes, a server) starts once, as in a
  serial run, and its tests run in their order;
* files that use the same session fixture of a ``conftest.py`` (the root e2e ``model_mesh``
  with the writer's model, the fault suite's mesh, the writer process) form one group, so
  the fixture starts on one worker only, not once per worker;
* files in ``SERIAL_TOGETHER`` form one group because they must not overlap: the browser
  tests (one Chromium at a time on a small machine), and the tests that write a file into the
  source tree for a moment beside the tests that scan that tree.

Groups go out largest first (the number of tests, xdist's ``--loadscope-reorder``). Without
xdist (``make test-serial``, a single file) the marks change nothing.
"""

from __future__ import annotations

import pytest

# Path prefixes (from the repository root) whose files run as one group, and why.
SERIAL_TOGETHER: dict[str, tuple[str, ...]] = {
    # Two Chromium browsers and two meshes at once starve each other on 2 cores.
    "browser": ("tests/ui/",),
    # test_doc_references writes a README and a module into services/orchestrator for a
    # moment; the other two walk that tree (a file listed, then gone: FileNotFoundError).
    "source-tree": (
        "tests/test_doc_references.py",
        "tests/test_settings_docs.py",
        "services/orchestrator/tests/test_orchestrator_structure.py",
    ),
}


def _file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _session_fixtures(item: pytest.Item) -> set[str]:
    """The session-scoped fixtures from the suite's own conftest files that ``item`` uses
    (pytest's and the plugins' own, such as ``tmp_path_factory``, have an empty base id)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return set()
    found = set()
    for name in info.names_closure:
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if fixturedef.scope == "session" and fixturedef.baseid:
                found.add(f"{fixturedef.baseid}::{name}")
    return found


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # only an xdist worker's collection needs them
        return
    # Union-find over files: a file joins the groups of its session fixtures and its prefix.
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for item in items:
        path = _file_of(item)
        find(path)
        for key in _session_fixtures(item):
            union(path, "fixture:" + key)
        for group, prefixes in SERIAL_TOGETHER.items():
            if path.startswith(prefixes):
                union(path, "together:" + group)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(find(_file_of(item))))
